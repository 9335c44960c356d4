"""Patterns shape the result: the blueprint is derived from the best-ranked pattern when its structure
fits the requirement (and names it), and from no pattern otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from core.agents.adapter import pattern_steps, shape_of_pattern, shape_of_spec
from core.agents.architecture import ArchitectureInput, PatternBrief, design
from core.agents.rules import analyse

PATTERNS = Path(__file__).resolve().parents[2] / "patterns"


def brief(pattern_id: str, score: float) -> PatternBrief:
    doc = yaml.safe_load((PATTERNS / f"{pattern_id}.yaml").read_text(encoding="utf-8"))
    meta = doc["metadata"]
    return PatternBrief(id=pattern_id, name=meta["name"], description=meta["description"], score=score,
                        mode=meta["mode"], steps=pattern_steps(doc["dsl"]))


def test_pattern_shape_is_read_from_its_graph():
    triage, loop, merge = brief("email-triage-classifier", 1), brief("translate-review-loop", 1), brief("parallel-llm-merge", 1)
    assert shape_of_pattern(triage.mode, triage.steps).key() == ("workflow", ("question-classifier",), 3)
    assert shape_of_pattern(loop.mode, loop.steps).key() == ("workflow", ("loop",), 0)
    assert shape_of_pattern(merge.mode, merge.steps).key() == ("workflow", ("parallel",), 0)


def test_a_fitting_pattern_is_the_one_the_blueprint_is_derived_from():
    spec = analyse("Sort each piece of visitor feedback into praise, bug or question and write a fitting answer for it.")
    assert shape_of_spec(spec).classes == 3
    bp = design(ArchitectureInput(spec=spec, patterns=[brief("email-triage-classifier", 0.8),
                                                       brief("sentiment-branching-reply", 0.6)]))
    assert bp.patterns_used == ["email-triage-classifier"]
    classifier = next(s for s in bp.steps if s.type == "question-classifier")
    assert [c.lower() for c in classifier.labels] == ["praise", "bug", "question"]  # the spec's classes, not the pattern's
    assert "derived from pattern email-triage-classifier" in bp.rationale and "Complaint -> " in bp.rationale
    routed = [s for s in bp.steps if any(a.step == classifier.id and a.branch for a in s.after)]
    assert len(routed) == 3  # the pattern's skeleton: one step per class, joined
    assert any(s.type == "variable-aggregator" for s in bp.steps)


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
    assert any(s.type == "iteration" for s in bp.steps)


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
    hits = ledger.query("SELECT pattern_id, used FROM pattern_usage WHERE run_id = ?", [result.run_id])
    assert len(hits) >= 2 and set(hits[hits["used"]]["pattern_id"]) == {pattern}
