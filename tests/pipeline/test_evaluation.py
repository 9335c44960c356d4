"""The eval scorer on hand-built workflows: every expect key can fail, and says which key broke."""

from __future__ import annotations

import pytest
import yaml

from core.agents.models import QualityIssue, QualityReport, RequirementSpec
from core.errors import InputError
from core.evaluation import (
    EvalCase,
    Requirement,
    check_expect,
    declined,
    detect_language,
    load_cases,
    own_text,
    score_case,
)
from core.pipeline import GenerationResult


def node(type_: str, title: str = "", **data) -> dict:
    return {"id": f"{type_}-{abs(hash((title, str(data)))) % 10_000}", "data": {"type": type_, "title": title or type_, **data}}


def dsl(*nodes: dict, mode: str = "workflow", conversation_variables: list | None = None) -> dict:
    return {"app": {"mode": mode, "name": "x"}, "kind": "app", "version": "0.3.0",
            "workflow": {"graph": {"nodes": list(nodes), "edges": []},
                         "conversation_variables": conversation_variables or []}}


def start(*variables: tuple[str, str], title: str = "Start") -> dict:
    return node("start", title, variables=[{"variable": v, "label": v, "type": t, "required": True} for v, t in variables])


def end(*outputs: str, title: str = "End") -> dict:
    return node("end", title, outputs=[{"variable": o, "value_selector": ["llm", "text"]} for o in outputs])


def llm(system: str, user: str = "{{#start.text#}}", title: str = "Write") -> dict:
    return node("llm", title, prompt_template=[{"role": "system", "text": system}, {"role": "user", "text": user}])


def keys(findings) -> list[str]:
    return sorted(f.key for f in findings)


EN = dsl(start(("paper", "file"), ("language", "select")),
         node("document-extractor", "Read the paper"),
         llm("You are a careful reviewer. Summarise the paper for the reader.", title="Summarise the paper"),
         node("tool", "Export as Word", provider_id="bowenliang123/md_exporter/md_exporter", tool_name="md_to_docx"),
         end("summary", "file"))


# ------------------------------------------------------------------------------------------ key by key

@pytest.mark.parametrize(("expect", "key"), [
    ({"inputs": ["paper"]}, "inputs"),                                 # an input too many
    ({"inputs": ["paper", "language", "audience"]}, "inputs"),         # an input missing
    ({"input_types": {"paper": "file-list"}}, "input_types"),
    ({"input_types": {"topic": "text-input"}}, "input_types"),         # no such input
    ({"outputs": ["summary"]}, "outputs"),
    ({"outputs": ["summary", "file", "score"]}, "outputs"),
    ({"tools": ["tts"]}, "tools"),
    ({"nodes_none": ["llm"]}, "nodes_none"),
    ({"language": "zh"}, "language"),
    ({"language": "de"}, "language"),
    ({"mode": "advanced-chat"}, "mode"),
    ({"nodes_all": ["iteration"]}, "nodes_all"),
    ({"nodes_any": [["loop", "iteration"]]}, "nodes_any"),
    ({"min_count": {"llm": 2}}, "min_count"),
    ({"classes": 2}, "classes"),
    ({"mentions": ["bullet points"]}, "mentions"),
    ({"mentions_any": [["haiku", "sonnet"]]}, "mentions_any"),
    ({"start_vars": 3}, "start_vars"),
    ({"conversation_vars": 1}, "conversation_vars"),
])
def test_each_key_fails_alone(expect, key):
    findings = check_expect(expect, EN, "Summarise an uploaded paper.")
    assert {f.key for f in findings} == {key}, findings


def test_every_key_holds_on_a_matching_workflow():
    expect = {"mode": "workflow", "inputs": ["language", "paper"], "input_types": {"paper": "file", "language": "select"},
              "outputs": ["file", "summary"], "tools": ["md_exporter"], "nodes_none": ["iteration", "http-request"],
              "language": "en", "nodes_all": ["document-extractor", "llm"], "min_count": {"llm": 1},
              "mentions": ["reviewer"], "start_vars": 2}
    assert check_expect(expect, EN, "Summarise an uploaded paper.") == []


def test_findings_name_what_is_missing_and_what_is_extra():
    [finding] = check_expect({"outputs": ["summary", "score"]}, EN, "x")
    assert "missing ['score']" in finding.message and "unexpected ['file']" in finding.message


def test_outputs_are_collected_over_every_end_node():
    doc = dsl(start(("amount", "number")), node("if-else", "Over 5000?"), end("approval", title="A"), end("note", title="B"))
    assert check_expect({"outputs": ["approval", "note"]}, doc, "x") == []
    assert keys(check_expect({"outputs": ["approval"]}, doc, "x")) == ["outputs"]


def test_tools_match_the_provider_or_the_tool_name_not_the_title():
    doc = dsl(start(), node("tool", "Text to speech", provider_id="langgenius/audio/audio", tool_name="tts"), end("a"))
    assert check_expect({"tools": ["tts", "audio"]}, doc, "x") == []
    titled = dsl(start(), node("tool", "tavily search", provider_id="duckduckgo", tool_name="ddgo_search"), end("a"))
    assert keys(check_expect({"tools": ["tavily"]}, titled, "x")) == ["tools"]


# ---------------------------------------------------------------------------------- copied text

REQ = ("Classify each support ticket as billing, technical problem or account access and write a reply to the "
       "customer in a friendly tone; for spam reply exactly \"We do not answer unsolicited messages.\" "
       "and call https://hooks.example.org/v1/tickets with the result.")


def test_a_mention_inside_a_pasted_requirement_does_not_count():
    pasted = dsl(start(("ticket", "paragraph")), llm(f"Do this: {REQ}"), end("reply"))
    found = check_expect({"mentions": ["account access"], "mentions_any": [["friendly tone"]]}, pasted, REQ)
    assert keys(found) == ["mentions", "mentions_any"]


def test_a_mention_in_a_structured_place_counts():
    built = dsl(start(("ticket", "paragraph")),
                node("question-classifier", "Sort", classes=[{"id": "1", "name": "billing"}, {"id": "2", "name": "account access"}]),
                llm("Answer the customer warmly (a friendly tone) and briefly."),
                node("answer", "Spam", answer="We do not answer unsolicited messages."),
                node("http-request", "Notify", url="https://hooks.example.org/v1/tickets", method="post"),
                end("reply"))
    expect = {"mentions": ["account access", "billing", "we do not answer unsolicited messages", "hooks.example.org"],
              "mentions_any": [["friendly tone"]]}
    assert check_expect(expect, built, REQ) == []


def test_a_quoted_literal_copied_with_its_sentence_is_a_paste():
    doc = dsl(start(), llm('for spam reply exactly "We do not answer unsolicited messages." and call'), end("reply"))
    assert keys(check_expect({"mentions": ["unsolicited"]}, doc, REQ)) == ["mentions"]


def test_short_copies_survive_and_long_ones_are_cut():
    req = Requirement(REQ)
    assert "billing, technical problem" in req.strip_copies("Labels: billing, technical problem.")
    cut = req.strip_copies("Please: classify each support ticket as billing, technical problem or account access!")
    assert "account access" not in cut and cut.startswith("please:")


def test_cjk_copies_are_cut_at_a_shorter_length():
    req_zh = "帮法务部做一个合同风险审查流程：先把文字提取出来，再让模型逐条找出对我方不利的条款，按高、中、低三个风险等级归类并给出修改建议。"
    r = Requirement(req_zh)
    pasted = r.strip_copies("你是助手。" + req_zh[14:40])
    assert "对我方不利" not in pasted and pasted.startswith("你是助手")
    own = r.strip_copies("你是资深法务。请找出对我方不利的条款，并按风险等级归类。")
    assert "对我方不利的条款" in own  # 8 characters: below the copy length
    doc = dsl(start(("contract_file", "file")), llm(req_zh), end("risk_report"))
    assert keys(check_expect({"mentions": ["风险等级"]}, doc, req_zh)) == ["mentions"]


def test_the_fixed_reply_in_chinese_quotes_counts():
    req = "「其他」类不用调模型，直接回复固定文案“已转人工客服处理”。其余的按类别让模型回复客户的问题。"
    doc = dsl(start(("ticket_text", "paragraph")), node("answer", "其他", answer="已转人工客服处理"), end("reply"))
    assert check_expect({"mentions": ["已转人工客服处理"]}, doc, req) == []
    assert "已转人工客服处理" in own_text([n["data"] for n in doc["workflow"]["graph"]["nodes"]], Requirement(req))


# --------------------------------------------------------------------------------------- language

@pytest.mark.parametrize(("text", "lang"), [
    ("你是一名资深编辑，请把下面的文章总结成三句话。", "zh"),
    ("あなたは編集者です。次の文章を三文で要約してください。", "ja"),
    ("당신은 편집자입니다. 다음 글을 세 문장으로 요약하세요.", "ko"),
    ("You are an editor. Summarise the text in three sentences for the reader.", "en"),
    ("Du bist Redakteur. Fasse den Text in drei Sätzen für die Leser zusammen.", "de"),
    ("Eres un editor. Resume el texto en tres frases para el lector.", "es"),
    ("Vous êtes rédacteur. Résumez le texte en trois phrases pour le lecteur.", "fr"),
    ("请用 Markdown 和 JSON 格式输出 {{#llm.text#}} 的结果", "zh"),
])
def test_detect_language(text, lang):
    assert lang in detect_language(text)
    assert len(detect_language(text)) == 1 or lang == "zh"  # all-Han text could also be Japanese


def test_all_kanji_titles_are_zh_or_ja_and_the_prompts_decide():
    assert detect_language("開始 文書抽出 要約 終了") == {"zh", "ja"}
    ja = dsl(start(("doc", "file"), title="開始"), llm("あなたは要約の専門家です。要点を三つにまとめてください。", title="要約"),
             end("summary", title="終了"))
    assert check_expect({"language": "ja"}, ja, "文書を要約して") == []
    assert keys(check_expect({"language": "zh"}, ja, "文書を要約して")) == ["language"]


def test_english_skeleton_for_a_chinese_requirement_fails_language():
    req = "把用户上传的文章总结成三句话，输出 summary。"
    doc = dsl(start(("article", "file")), llm("You are a summariser. Summarise the article in three sentences."),
              end("summary"))
    found = check_expect({"language": "zh"}, doc, req)
    assert [f.key for f in found] == ["language", "language"]  # titles and prompts both
    pasted = dsl(start(("article", "file"), title="Start"), llm("Requirement: " + req + " Do it well.", title="LLM"),
                 end("summary", title="End"))
    messages = [f.message for f in check_expect({"language": "zh"}, pasted, req)]
    assert any(m.startswith("LLM prompts are in en") for m in messages), messages  # the pasted Chinese is not its own


# ------------------------------------------------------------------------------------ whole cases

def test_score_case_reports_invalid_and_missing_workflows():
    case = EvalCase("c", "Summarise a paper.", {"outputs": ["summary", "file"]})
    assert score_case(case, EN, valid=True).passed
    invalid = score_case(case, EN, valid=False)
    assert not invalid.passed and invalid.failed_keys == {"valid"}
    missing = score_case(case, None)
    assert not missing.passed and missing.failed_keys == {"error"}


def _result(spec_unsupported=(), issues=()) -> GenerationResult:
    spec = RequirementSpec(requirement="r", goal="g", app_mode="workflow", name="n",
                           unsupported=list(spec_unsupported))
    quality = QualityReport(score=90, issues=list(issues))
    return GenerationResult(run_id=None, status="succeeded", spec=spec, quality=quality)


def test_a_note_case_passes_only_when_the_ask_is_declined():
    case = EvalCase("print", "Print the result on the office printer.", {}, note="cannot print")
    silent = score_case(case, EN, valid=True, result=_result())
    assert not silent.passed and silent.failed_keys == {"note"}
    said = _result(issues=[QualityIssue(severity="warning", stage="requirements", code="UNSUPPORTED",
                                        message="Not possible in Dify: a workflow cannot drive a printer.")])
    assert score_case(case, EN, valid=True, result=said).passed
    assert declined(_result(spec_unsupported=["no printers"])) == ["no printers"]
    assert score_case(case, None, result=_result(spec_unsupported=["no printers"])).passed  # declining alone is enough


def test_load_cases_checks_round_keys(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump({"cases": [{"id": "a", "requirement": "r", "note": "n", "expect": {
        "inputs": ["x"], "rounds": [{"instruction": "also y", "expect": {"outputs": ["y"]}}]}}]}), encoding="utf-8")
    [case] = load_cases(good)
    assert case.note == "n" and case.rounds[0]["instruction"] == "also y" and case.source == "good.yaml"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"cases": [{"id": "a", "requirement": "r", "expect": {
        "rounds": [{"instruction": "x", "expect": {"rounds": []}}]}}]}), encoding="utf-8")
    with pytest.raises(InputError, match="round 1 has unknown expect keys"):
        load_cases(bad)
    empty = tmp_path / "empty.yaml"
    empty.write_text(yaml.safe_dump({"cases": [{"id": "a", "requirement": "r", "expect": {"rounds": [{"expect": {}}]}}]}),
                     encoding="utf-8")
    with pytest.raises(InputError, match="no instruction"):
        load_cases(empty)
