"""Fresh requirements (written for these tests, not from the eval files) through the offline
generator: the workflow has the inputs, outputs, node types and language that were asked for."""

from __future__ import annotations

import re

from core.pipeline import generate, refine


def _nodes(result):
    return [n["data"] for n in result.dsl["workflow"]["graph"]["nodes"]]


def _types(result):
    return [d["type"] for d in _nodes(result)]


def _inputs(result):
    start = next(d for d in _nodes(result) if d["type"] == "start")
    return {v["variable"]: v["type"] for v in start["variables"]}


def _outputs(result):
    return sorted(o["variable"] for d in _nodes(result) if d["type"] == "end" for o in d["outputs"])


def _titles(result):
    return [d["title"] for d in _nodes(result)]


def _system_prompts(result):
    return [m["text"] for d in _nodes(result) if d["type"] == "llm" for m in d["prompt_template"] if m["role"] == "system"]


def run(text, offline_settings, ledger, library):
    result = generate(text, settings=offline_settings, ledger=ledger, library=library)
    assert result.valid, result.report.findings if result.report else result.error_message
    return result


def test_chinese_named_io_gets_a_chinese_workflow(offline_settings, ledger, library):
    r = run("做一个论文摘要工具：用户上传论文 PDF（变量名 paper_pdf），先提取文字，再用模型写出 300 字以内的中文摘要，"
            "放在输出变量 abstract_zh 里。", offline_settings, ledger, library)
    assert _inputs(r) == {"paper_pdf": "file"}
    assert _outputs(r) == ["abstract_zh"]
    assert "document-extractor" in _types(r) and "llm" in _types(r)
    assert all(re.search(r"[\u4e00-\u9fff]", t) for t in _titles(r))
    assert all(re.search(r"[\u4e00-\u9fff]", p) for p in _system_prompts(r))


def test_japanese_parallel_viewpoints_are_joined(offline_settings, ledger, library):
    r = run("企画書（plan_text）を、コスト・リスク・顧客価値の3つの観点で同時に評価し、最後に総合評価を1つにまとめてください。",
            offline_settings, ledger, library)
    assert set(_inputs(r)) == {"plan_text"}
    assert _types(r).count("llm") >= 4
    assert all(re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", p) for p in _system_prompts(r))


def test_english_threshold_with_separate_endings(offline_settings, ledger, library):
    r = run("Warranty check: the form collects `purchase_age_months` (a number) and `issue` (free text). Anything older than "
            "24 months ends right away with `out_of_warranty` saying the warranty has expired; otherwise draft a repair "
            "ticket and return it as `ticket`.", offline_settings, ledger, library)
    assert _inputs(r)["purchase_age_months"] == "number"
    assert _outputs(r) == ["out_of_warranty", "ticket"]
    assert _types(r).count("end") == 2
    gate = next(d for d in _nodes(r) if d["type"] == "if-else")
    condition = gate["cases"][0]["conditions"][0]
    assert (condition["comparison_operator"], condition["value"], condition["varType"]) == (">", "24", "number")


def test_loop_stops_on_the_asked_word(offline_settings, ledger, library):
    r = run("Write a limerick about a topic (input topic). A reviewer model checks it and replies PERFECT when it scans; "
            "keep rewriting until the review contains PERFECT, at most 4 rounds.", offline_settings, ledger, library)
    loop = next(d for d in _nodes(r) if d["type"] == "loop")
    assert loop["loop_count"] == 4
    assert any(c["value"] == "PERFECT" for c in loop["break_conditions"])


def test_file_batch_is_iterated_and_export_tool_is_declared(offline_settings, ledger, library):
    r = run("Upload several supplier contracts as PDFs (`contracts`). One by one, list each contract's renewal date; "
            "then export the summary table as a Word document in `table_docx`.", offline_settings, ledger, library)
    assert _inputs(r) == {"contracts": "file-list"}
    assert "iteration" in _types(r)
    tool = next(d for d in _nodes(r) if d["type"] == "tool")
    assert "md_exporter" in tool["provider_id"]
    assert any("md_exporter" in dep["value"]["marketplace_plugin_unique_identifier"] for dep in r.dsl["dependencies"])


def test_refinement_rounds_keep_the_contract(offline_settings, ledger, library):
    first = run("Turn a product description (input description) into an ad headline, output headline.",
                offline_settings, ledger, library)
    second = refine(first.run_id, "Also return slogan_de, the headline in German.", settings=offline_settings,
                    ledger=ledger, library=library, previous=first)
    assert set(_inputs(second)) == {"description"}
    assert _outputs(second) == ["headline", "slogan_de"]
    third = refine(second.run_id, "Add a dropdown input channel with the options print, web and radio.",
                   settings=offline_settings, ledger=ledger, library=library, previous=second)
    assert _inputs(third)["channel"] == "select"
    assert _outputs(third) == ["headline", "slogan_de"]


def test_impossible_ask_is_stated(offline_settings, ledger, library):
    r = generate("Watch my screen and click the Submit button in our desktop accounting app every hour.",
                 settings=offline_settings, ledger=ledger, library=library)
    assert r.spec.unsupported
    assert any(i.code == "UNSUPPORTED" for i in r.quality.issues)
