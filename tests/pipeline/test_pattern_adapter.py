"""Patterns shape the result: the blueprint is built from the best-ranked pattern's graph when its
structure fits the requirement (its steps bound to the spec, its wiring kept, its classes replicated or
trimmed) and names it; otherwise it is composed from the requirement alone and names no pattern."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from core.agents.adapter import (
    PatternStep,
    adaptation,
    derive,
    pattern_steps,
    shape_of_pattern,
    shape_of_spec,
)
from core.agents.architecture import ArchitectureInput, PatternBrief, design
from core.agents.compile import compile_plan
from core.agents.configuration import ConfigurationInput, configure
from core.agents.models import BlueprintStep, Link
from core.agents.rules import analyse
from core.dsl import validate
from core.testrun import test_run as run_in_graphon

PATTERNS = Path(__file__).resolve().parents[2] / "patterns"
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


def brief(pattern_id: str, score: float) -> PatternBrief:
    doc = yaml.safe_load((PATTERNS / f"{pattern_id}.yaml").read_text(encoding="utf-8"))
    meta = doc["metadata"]
    return PatternBrief(id=pattern_id, name=meta["name"], description=meta["description"], score=score,
                        mode=meta["mode"], steps=pattern_steps(doc["dsl"]))


def made(pattern_id: str, *rows: tuple, mode: str = "workflow") -> PatternBrief:
    """A hand-made pattern: rows of (id, type, title, after)."""
    steps = [PatternStep(id=i, type=t, title=title, after=list(after)) for i, t, title, after in rows]
    return PatternBrief(id=pattern_id, name=pattern_id, score=0.9, mode=mode, steps=steps)


def composed(spec):
    """What the architect composes from the spec alone (no pattern offered)."""
    bp = design(ArchitectureInput(spec=spec))
    assert bp.patterns_used == []
    return bp


def workflow(spec, bp) -> dict:
    """The blueprint configured and compiled; it validates and test-runs in Dify's engine (graphon)."""
    dsl = compile_plan(configure(ConfigurationInput(spec=spec, blueprint=bp))).dsl
    assert validate(dsl).valid
    report = run_in_graphon(dsl)
    assert report.status == "succeeded", report.summary()
    return dsl


def nodes(dsl: dict) -> list[dict]:
    return [n["data"] for n in dsl["workflow"]["graph"]["nodes"]]


def step(bp, type_: str) -> BlueprintStep:
    return next(s for s in bp.steps if s.type == type_)


def pattern_prompts(pattern_id: str) -> list[str]:
    doc = yaml.safe_load((PATTERNS / f"{pattern_id}.yaml").read_text(encoding="utf-8"))
    return [m["text"] for n in doc["dsl"]["workflow"]["graph"]["nodes"] for m in n["data"].get("prompt_template") or []]


def test_pattern_shape_is_read_from_its_graph():
    triage, loop, merge = brief("email-triage-classifier", 1), brief("translate-review-loop", 1), brief("parallel-llm-merge", 1)
    assert shape_of_pattern(triage.mode, triage.steps).key() == ("workflow", ("question-classifier",), 3)
    assert shape_of_pattern(loop.mode, loop.steps).key() == ("workflow", ("loop",), 0)
    assert shape_of_pattern(merge.mode, merge.steps).key() == ("workflow", ("parallel",), 0)
    classify = next(s for s in triage.steps if s.type == "question-classifier")
    assert len(classify.handles) == 3 and all(f"classify:{h}" in sum((s.after for s in triage.steps), []) for h in classify.handles)


def test_a_fitting_pattern_is_the_one_the_blueprint_is_derived_from():
    spec = analyse("Sort each piece of visitor feedback into praise, bug or question and write a fitting answer for it.")
    assert shape_of_spec(spec).classes == 3
    bp = design(ArchitectureInput(spec=spec, patterns=[brief("email-triage-classifier", 0.8),
                                                       brief("sentiment-branching-reply", 0.6)]))
    assert bp.patterns_used == ["email-triage-classifier"]
    classifier = step(bp, "question-classifier")
    assert [c.lower() for c in classifier.labels] == ["praise", "bug", "question"]  # the spec's classes, not the pattern's
    note = adaptation(bp)
    assert note.startswith("Derived from pattern email-triage-classifier:") and "Complaint -> " in note
    assert "Classify email as " in note and "Reply draft as " in note  # the pattern's steps, bound to the spec's
    routed = [s for s in bp.steps if any(a.step == classifier.id and a.branch for a in s.after)]
    assert len(routed) == 3  # the pattern's skeleton: one step per class, joined
    workflow(spec, bp)


def test_a_spec_with_more_classes_replicates_the_patterns_branch():
    spec = analyse("Route each incoming support message (variable message) into one of four categories: billing, outage, "
                   "feature request or account access, and write a short reply suited to its category. Return the reply "
                   "as reply.")
    assert len(spec.classes) == 4
    bp = derive(spec, [brief("email-triage-classifier", 0.9)], composed(spec))
    assert bp.patterns_used == ["email-triage-classifier"]
    classifier = step(bp, "question-classifier")
    assert classifier.labels == spec.classes
    lanes = {a.branch: s for s in bp.steps for a in s.after if a.step == classifier.id}
    assert set(lanes) == set(spec.classes) and all(s.type == "llm" for s in lanes.values())
    join = step(bp, "variable-aggregator")
    assert {a.step for a in join.after} == {s.id for s in lanes.values()}
    assert [s.after for s in bp.steps if s.type == "end"] == [[Link(step=join.id)]]
    assert f"branch of General inquiry replicated for {spec.classes[3]}" in adaptation(bp)
    dsl = workflow(spec, bp)
    assert [o["variable"] for d in nodes(dsl) if d["type"] == "end" for o in d["outputs"]] == ["reply"]


def test_a_japanese_spec_with_fewer_classes_trims_the_english_patterns_branches():
    spec = analyse("社内ヘルプデスク：質問文（変数 question）を「PC」「ネットワーク」の2種類に振り分け、それぞれに合った回答を"
                   "作成し、結果は answer という1つの出力で返してください。")
    assert spec.language == "ja" and spec.classes == ["PC", "ネットワーク"]
    bp = derive(spec, [brief("email-triage-classifier", 0.9)], composed(spec))
    assert bp.patterns_used == ["email-triage-classifier"]
    note = adaptation(bp)
    assert "branches trimmed: General inquiry" in note and "Complaint -> PC" in note and "Refund request -> ネットワーク" in note
    assert step(bp, "question-classifier").labels == ["PC", "ネットワーク"]
    assert len(step(bp, "variable-aggregator").after) == 2
    dsl = workflow(spec, bp)
    titles = [d["title"] for d in nodes(dsl)]
    assert not {"Classify email", "Draft complaint reply", "Draft refund reply", "Reply draft"} & set(titles)
    systems = [m["text"] for d in nodes(dsl) if d["type"] == "llm" for m in d["prompt_template"] if m["role"] == "system"]
    assert systems and all(CJK.search(t) for t in systems)
    text = yaml.safe_dump(dsl, allow_unicode=True)
    assert not any(p.strip()[:60] in text for p in pattern_prompts("email-triage-classifier") if len(p.strip()) > 20)


def test_a_chinese_spec_with_five_classes_gets_chinese_steps_from_the_english_pattern():
    spec = analyse("售后留言分流：输入留言内容 message。先判断它属于「退货」「换货」「维修」「投诉」还是「咨询」，每一类分别写一段"
                   "对应的回复，最后只输出一个变量 reply。")
    assert spec.language == "zh" and len(spec.classes) == 5
    bp = derive(spec, [brief("email-triage-classifier", 0.9)], composed(spec))
    assert bp.patterns_used == ["email-triage-classifier"]
    assert "branch of General inquiry replicated for 投诉, 咨询" in adaptation(bp)
    dsl = workflow(spec, bp)
    assert all(CJK.search(d["title"]) for d in nodes(dsl))
    systems = [m["text"] for d in nodes(dsl) if d["type"] == "llm" for m in d["prompt_template"] if m["role"] == "system"]
    assert len(systems) == 5 and all(CJK.search(t) for t in systems)
    text = yaml.safe_dump(dsl, allow_unicode=True)
    assert not any(p.strip()[:60] in text for p in pattern_prompts("email-triage-classifier") if len(p.strip()) > 20)


def test_branch_ends_are_joined_the_patterns_way():
    """A pool that ends every class on its own End is joined with an aggregator into one End, as the pattern does."""
    spec = analyse("Sort each piece of visitor feedback into praise, bug or question and write a fitting answer for it.")
    base = composed(spec)
    lanes = [s for s in base.steps if s.type == "llm"]
    end = step(base, "end")
    pool = [s for s in base.steps if s.type not in ("variable-aggregator", "end")]
    pool += [BlueprintStep(id=f"end_{n}", type="end", name=f"End {n}", purpose="Return the answer", reads=[f"{s.id}.text"],
                           after=[Link(step=s.id)], labels=end.labels) for n, s in enumerate(lanes)]
    separate = base.model_copy(update={"steps": pool})
    bp = derive(spec, [brief("email-triage-classifier", 0.9)], separate)
    assert bp.patterns_used == ["email-triage-classifier"]
    ends = [s for s in bp.steps if s.type == "end"]
    join = step(bp, "variable-aggregator")
    assert len(ends) == 1 and ends[0].after == [Link(step=join.id)] and ends[0].reads == [f"{join.id}.output"]
    assert sorted(join.reads) == sorted(f"{s.id}.text" for s in lanes)
    assert "joined the 3 branch ends with an aggregator into one end" in adaptation(bp)
    workflow(spec, bp)
    # the pattern that does not join (one answer per branch) keeps the pool's own ends
    assert derive(spec, [brief("sql-query-guard", 0.9)], separate).patterns_used == []


CONTRACT = ("Read the uploaded contract PDF (variable contract) and fetch the page at the given URL (variable url), then "
            "compare the two and list the differences.")


def test_the_patterns_order_of_independent_steps_is_followed():
    spec = analyse(CONTRACT)
    base = composed(spec)
    reader, fetch = step(base, "document-extractor"), step(base, "http-request")
    assert fetch.after == [Link(step=reader.id)]  # the composer reads the file first
    pattern = made("fetch-then-read", ("start", "start", "Start", []), ("get", "http-request", "Fetch page", ["start"]),
                   ("read", "document-extractor", "Read file", ["get"]), ("llm", "llm", "Compare", ["read"]),
                   ("end", "end", "End", ["llm"]))
    bp = derive(spec, [pattern], base)
    assert bp.patterns_used == ["fetch-then-read"]
    assert step(bp, "http-request").after == [Link(step="start")]
    assert step(bp, "document-extractor").after == [Link(step=fetch.id)]
    assert [s.type for s in bp.steps] == ["start", "http-request", "document-extractor", "llm", "end"]
    assert "kept 3 of its 3 steps" in adaptation(bp) and "inputs bound: contract, url" in adaptation(bp)
    workflow(spec, bp)


def test_pattern_steps_the_spec_does_not_need_are_dropped_and_its_own_are_added():
    spec = analyse(CONTRACT)
    pattern = made("fetch-clean-read", ("start", "start", "Start", []), ("get", "http-request", "Fetch page", ["start"]),
                   ("clean", "code", "HTML to text", ["get"]), ("read", "document-extractor", "Read file", ["clean"]),
                   ("llm", "llm", "Compare", ["read"]), ("end", "end", "End", ["llm"]))
    bp = derive(spec, [pattern], composed(spec))
    assert bp.patterns_used == ["fetch-clean-read"]
    assert not any(s.type == "code" for s in bp.steps)
    assert step(bp, "document-extractor").after == [Link(step=step(bp, "http-request").id)]  # joined up around it
    assert "dropped: HTML to text (code)" in adaptation(bp)
    workflow(spec, bp)


@pytest.mark.parametrize("pattern", [
    # the pattern's order is impossible here (the answer reads the fetched page) and little of it is left
    made("answer-then-fetch", ("start", "start", "Start", []), ("llm", "llm", "Answer", ["start"]),
         ("get", "http-request", "Fetch page", ["llm"]), ("end", "end", "End", ["get"])),
    # a graph with a cycle cannot be walked
    made("cycle", ("start", "start", "Start", []), ("get", "http-request", "Fetch", ["start", "llm"]),
         ("read", "document-extractor", "Read", ["get"]), ("llm", "llm", "Compare", ["read"]), ("end", "end", "End", ["llm"])),
    # a fan-out is part of the structure: it does not fit a spec whose steps run one after the other
    made("fetch-and-read", ("start", "start", "Start", []), ("get", "http-request", "Fetch page", ["start"]),
         ("read", "document-extractor", "Read file", ["start"]), ("llm", "llm", "Compare", ["get", "read"]),
         ("end", "end", "End", ["llm"])),
    # another structure (a classifier) does not fit at all
    brief("email-triage-classifier", 0.9),
])
def test_a_derivation_that_is_not_sound_names_no_pattern(pattern):
    spec = analyse(CONTRACT)
    base = composed(spec)
    bp = derive(spec, [pattern], base)
    assert bp.patterns_used == [] and adaptation(bp) == ""
    assert bp.steps == base.steps


def test_a_pattern_whose_structure_does_not_fit_is_not_used():
    spec = analyse("Write a short poem about autumn leaves.")
    bp = design(ArchitectureInput(spec=spec, patterns=[brief("email-triage-classifier", 0.9)]))
    assert bp.patterns_used == []
    assert not any(s.type == "question-classifier" for s in bp.steps)


def test_only_the_best_ranked_pattern_can_shape_the_result():
    """A lower-ranked pattern that happens to fit does not count as used."""
    spec = analyse("For each city in the list, write one sentence about its weather in spring.")
    bp = design(ArchitectureInput(spec=spec, patterns=[brief("email-triage-classifier", 0.7),
                                                       brief("batch-list-generator", 0.5)]))
    assert bp.patterns_used == []
    bp = design(ArchitectureInput(spec=spec, patterns=[brief("batch-list-generator", 0.7)]))
    assert bp.patterns_used == ["batch-list-generator"]
    iteration = step(bp, "iteration")
    assert [s.type for s in bp.steps if s.parent == iteration.id] == ["llm"]  # the pattern's per-item step, in the loop
    assert "dropped: Product / slogan list (template-transform)" in adaptation(bp)
    workflow(spec, bp)


def test_a_japanese_loop_is_derived_from_the_english_refinement_pattern():
    """The pattern saves the verdict before improving; the spec's improve step reads the review, so the
    pattern's order is impossible and the spec's order is kept inside the pattern's loop."""
    spec = analyse("入力された文章を推敲するワークフロー：下書きを作り、レビューで「OK」と言われるまで最大3回改善を繰り返す。")
    bp = derive(spec, [brief("iterative-refinement-loop", 0.9)], composed(spec))
    assert bp.patterns_used == ["iterative-refinement-loop"]
    loop = step(bp, "loop")
    assert [s.type for s in bp.steps if s.parent == loop.id] == ["llm", "llm", "assigner"]
    assert "dropped: Save verdict (assigner), Approved? (if-else)" in adaptation(bp)
    dsl = workflow(spec, bp)
    assert all(CJK.search(d["title"]) for d in nodes(dsl) if d["type"] == "llm")


def test_a_tool_binds_only_to_a_tool_that_does_the_same():
    """The briefing pattern's first tool tells the date, its second searches: the spec's search is bound
    to the search, and the date tool, which the spec does not need, is dropped."""
    spec = analyse("Look up recent news about a company (variable company) on the web and write a one-page briefing.")
    bp = derive(spec, [brief("web-search-briefing", 0.9)], composed(spec))
    assert bp.patterns_used == ["web-search-briefing"]
    note = adaptation(bp)
    assert "Web search as " in note and "dropped: Current date (tool)" in note and "Current date as" not in note
    assert [s.type for s in bp.steps] == ["start", "tool", "llm", "end"]
    workflow(spec, bp)


@pytest.mark.parametrize("requirement", [
    "A chat assistant that remembers the user's favourite colour across turns and answers their questions.",
    "做一个聊天助手：记住用户在对话中告诉你的城市（会话变量 city），之后回答问题时结合这个城市。",
])
def test_a_dropped_check_keeps_every_branch_on_a_path(requirement):
    """The memory pattern checks two things; the spec remembers one: the second check is dropped and both
    branches of the first (remembered or not) still reach the reply, as the pattern's else-path does."""
    spec = analyse(requirement)
    bp = derive(spec, [brief("chat-memory-user-profile", 0.9)], composed(spec))
    assert bp.patterns_used == ["chat-memory-user-profile"]
    assert "dropped: Preference given? (if-else), Remember preference (assigner)" in adaptation(bp)
    check, reply = step(bp, "if-else"), step(bp, "llm")
    assert Link(step=check.id, branch="otherwise") in reply.after and Link(step=step(bp, "assigner").id) in reply.after
    workflow(spec, bp)


@pytest.mark.parametrize("requirement, pattern", [
    ("Download the web page at the URL the user gives and write a three-line digest of it.", "web-page-digest"),
    ("Have two models answer the question in parallel and merge what they say into one answer.",
     "parallel-llm-merge"),
])
def test_pipeline_records_used_as_derived_from(requirement, pattern, offline_settings, ledger, library):
    from core.pipeline import generate

    result = generate(requirement, settings=offline_settings, ledger=ledger, library=library)
    assert result.blueprint.patterns_used == [pattern]
    assert result.patterns[0].pattern.id == pattern
    assert adaptation(result.blueprint).startswith(f"Derived from pattern {pattern}: kept ")
    assert result.test_run is not None and result.test_run.succeeded
    hits = ledger.query("SELECT pattern_id, used FROM pattern_usage WHERE run_id = ?", [result.run_id])
    assert len(hits) >= 2 and set(hits[hits["used"]]["pattern_id"]) == {pattern}


def test_the_generate_page_names_the_pattern_and_says_how_it_was_adapted():
    from types import SimpleNamespace

    from ui.generation import adapted, derived_from

    spec = analyse("社内ヘルプデスク：質問文（変数 question）を「PC」「ネットワーク」の2種類に振り分け、それぞれに合った回答を"
                   "作成し、結果は answer という1つの出力で返してください。")
    bp = derive(spec, [brief("email-triage-classifier", 0.9)], composed(spec))
    pattern = SimpleNamespace(id="email-triage-classifier", name="Email triage classifier")
    result = SimpleNamespace(blueprint=bp, patterns=[SimpleNamespace(pattern=pattern)])
    assert derived_from(result) == "Derived from the pattern **Email triage classifier** (`email-triage-classifier`)."
    assert adapted(result).startswith("Adapted: kept 4 of its 5 steps besides start and end")
    assert "branches trimmed: General inquiry" in adapted(result)
    plain = SimpleNamespace(blueprint=composed(spec), patterns=[SimpleNamespace(pattern=pattern)])
    assert derived_from(plain).startswith("Not derived from a library pattern") and adapted(plain) == ""
