"""Evaluation: run a file of requirements through the generator and score each result against its
``expect`` block (the keys documented at the top of ``shared/eval/requirements.yaml``)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.config import Settings
from core.dsl.graph import raw_nodes
from core.errors import InputError

EXPECT_KEYS = {"mode", "nodes_all", "nodes_any", "min_count", "classes", "mentions", "mentions_any", "start_vars",
               "conversation_vars"}


@dataclass
class EvalCase:
    """One requirement of an eval file and what its workflow is expected to contain."""

    id: str
    requirement: str
    expect: dict[str, Any] = field(default_factory=dict)


@dataclass
class CaseScore:
    """How one generated workflow measures up to its case."""

    case_id: str
    passed: bool
    """Every expectation met and no error-level finding."""
    valid: bool
    failed: list[str] = field(default_factory=list)
    """Human-readable expectations that were not met."""
    run_id: str | None = None
    status: str | None = None
    seconds: float = 0.0
    node_types: list[str] = field(default_factory=list)


@dataclass
class EvalReport:
    """The scores of every case of an eval run, with the counts of valid and passing ones."""

    cases: list[CaseScore]

    @property
    def total(self) -> int:
        return len(self.cases)

    @property
    def valid(self) -> int:
        return sum(c.valid for c in self.cases)

    @property
    def passed(self) -> int:
        return sum(c.passed for c in self.cases)

    def to_dict(self) -> dict:
        """The counts and every case's score, ready for JSON."""
        return {"total": self.total, "valid": self.valid, "passed": self.passed,
                "cases": [c.__dict__ for c in self.cases]}


def load_cases(path: str | Path) -> list[EvalCase]:
    """Read an eval file (``cases: [{id, requirement, expect}]``).

    Raises:
        InputError: the file is missing, not YAML, or has no usable cases.
    """
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"Cannot read the eval file {path}: {exc}", hint="Give a YAML file with a 'cases' list.") from exc
    raw = data.get("cases") if isinstance(data, dict) else None
    if not isinstance(raw, list) or not raw:
        raise InputError(f"{path} has no 'cases' list.", hint="See shared/eval/requirements.yaml for the format.")
    cases = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not str(item.get("requirement") or "").strip():
            raise InputError(f"{path}: case {i + 1} has no requirement.")
        expect = item.get("expect") or {}
        unknown = set(expect) - EXPECT_KEYS
        if unknown:
            raise InputError(f"{path}: case {item.get('id', i + 1)} has unknown expect keys {sorted(unknown)}.")
        cases.append(EvalCase(id=str(item.get("id") or f"case-{i + 1}"), requirement=str(item["requirement"]), expect=expect))
    return cases


def _nodes(dsl: dict) -> list[dict]:
    return [n.get("data") or {} for n in raw_nodes(dsl) if isinstance(n, dict)]


def score_case(case: EvalCase, dsl: dict | None, *, valid: bool = True) -> CaseScore:
    """Check ``dsl`` against ``case.expect``; ``valid`` says whether the validator found no error."""
    failed: list[str] = [] if valid else ["the workflow has error-level findings"]
    if not dsl:
        return CaseScore(case.id, passed=False, valid=False, failed=["no workflow was produced"])
    nodes = _nodes(dsl)
    types = [n.get("type") for n in nodes]
    text = json.dumps(nodes, ensure_ascii=False).lower()
    e = case.expect
    if "mode" in e and (dsl.get("app") or {}).get("mode") != e["mode"]:
        failed.append(f"mode is {(dsl.get('app') or {}).get('mode')}, expected {e['mode']}")
    failed += [f"no {t} node" for t in e.get("nodes_all", []) if t not in types]
    failed += [f"none of {group}" for group in e.get("nodes_any", []) if not set(group) & set(types)]
    failed += [f"fewer than {n} {t} nodes" for t, n in (e.get("min_count") or {}).items() if types.count(t) < n]
    if "classes" in e:
        most = max((len(n.get("classes") or []) for n in nodes if n.get("type") == "question-classifier"), default=0)
        if most < e["classes"]:
            failed.append(f"no question-classifier with {e['classes']} classes (best: {most})")
    failed += [f"{m!r} not mentioned" for m in e.get("mentions", []) if str(m).lower() not in text]
    failed += [f"none of {group} mentioned" for group in e.get("mentions_any", [])
               if not any(str(m).lower() in text for m in group)]
    if "start_vars" in e:
        count = max((len(n.get("variables") or []) for n in nodes if n.get("type") == "start"), default=0)
        if count < e["start_vars"]:
            failed.append(f"{count} start variable(s), expected {e['start_vars']}")
    if "conversation_vars" in e:
        count = len(((dsl.get("workflow") or {}).get("conversation_variables")) or [])
        if count < e["conversation_vars"]:
            failed.append(f"{count} conversation variable(s), expected {e['conversation_vars']}")
    return CaseScore(case.id, passed=not failed, valid=valid, failed=failed, node_types=types)


def run_eval(path: str | Path, settings: Settings, *, ledger=None, library=None, on_case=None) -> EvalReport:
    """Generate every case of ``path`` (recorded with source ``eval``) and score it.

    Args:
        on_case: called with each ``CaseScore`` as it is ready (progress for the UI).
    """
    from core.pipeline import generate

    scores = []
    for case in load_cases(path):
        started = time.perf_counter()
        result = generate(case.requirement, settings=settings, ledger=ledger, library=library, source="eval")
        score = score_case(case, result.dsl, valid=result.valid)
        score.run_id, score.status, score.seconds = result.run_id, result.status, time.perf_counter() - started
        scores.append(score)
        if on_case:
            on_case(score)
    return EvalReport(scores)
