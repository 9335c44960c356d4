"""Quality agent: validator findings + a requirement-coverage review -> ``QualityReport``.

Coverage checks that what the spec names is in the DSL: the mode, the node types its capabilities
need, and every class, language, field, section, URL, constraint number and conversation variable
somewhere in the node data. The LLM brain may add a semantic review; the deterministic part always
runs.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, Field

from core.agents.brain import Brain
from core.agents.models import QualityIssue, QualityReport, QualityReview, RequirementSpec, StageResult

AGENT = "quality"
PASS_SCORE = 70
"""Below this score a repair round is tried (when rounds are left)."""

NODE_NEEDS: dict[str, tuple[str, ...]] = {
    "retrieval": ("knowledge-retrieval",),
    "classification": ("question-classifier",),
    "branching": ("if-else", "question-classifier"),
    "http": ("http-request",),
    "code": ("code",),
    "iteration": ("iteration",),
    "loop": ("loop",),
    "extraction": ("parameter-extractor", "llm", "code"),
    "file_input": ("document-extractor",),
    "conversation_vars": ("assigner",),
    "template": ("template-transform",),
    "tool": ("tool", "agent"),
    "agent": ("agent",),
    "list_filter": ("list-operator", "code"),
}


class QualityInput(BaseModel):
    spec: RequirementSpec
    dsl: dict
    findings: list[dict] = Field(default_factory=list, description="validator findings (code, severity, message, node_id)")
    compile_issues: list[QualityIssue] = Field(default_factory=list)
    runtime_findings: list[dict] = Field(default_factory=list,
                                         description="test-run findings from Dify's engine (DSL7xx, same shape)")


def coverage(spec: RequirementSpec, dsl: dict) -> dict[str, bool]:
    """Each item the spec names -> whether the DSL covers it."""
    graph = (dsl.get("workflow") or {}).get("graph") or {}
    nodes = [n.get("data", {}) for n in graph.get("nodes", []) if isinstance(n, dict)]
    types = {d.get("type") for d in nodes}
    text = json.dumps(nodes, ensure_ascii=False).lower()
    result: dict[str, bool] = {f"mode {spec.app_mode}": (dsl.get("app") or {}).get("mode") == spec.app_mode}
    for cap in spec.capabilities:
        if cap in NODE_NEEDS:
            result[f"capability {cap}"] = bool(types & set(NODE_NEEDS[cap]))
    if "image_input" in spec.capabilities:
        result["capability image_input"] = any((d.get("vision") or {}).get("enabled") for d in nodes)
    named = ([("class", c) for c in spec.classes] + [("language", x) for x in spec.languages]
             + [("field", f) for f in spec.extraction_fields] + [("section", s) for s in spec.sections]
             + [("url", h.url) for h in spec.http_calls if h.url]
             + [("limit", c) for c in spec.constraints])
    for kind, value in named:
        words = value.lower()
        result[f"{kind} {value}"] = words in text or words.replace(" ", "_") in text
    conv = {v.get("name") for v in (dsl.get("workflow") or {}).get("conversation_variables", [])}
    for cv in spec.conversation_vars:
        result[f"conversation variable {cv.name}"] = cv.name in conv
    return result


def review(inp: QualityInput) -> QualityReport:
    """The deterministic verdict: findings and coverage -> score, issues, feedback."""
    issues = list(inp.compile_issues)
    for f in [*inp.findings, *inp.runtime_findings]:
        if f.get("severity") in ("error", "warning"):
            issues.append(QualityIssue(severity=f["severity"], stage="compile", code=f.get("code"),
                                       node_id=f.get("node_id"), message=f.get("message", "")))
    cov = coverage(inp.spec, inp.dsl)
    missing = [item for item, ok in cov.items() if not ok]
    for item in missing:
        stage = "architecture" if item.startswith(("capability", "mode")) else "configuration"
        issues.append(QualityIssue(severity="warning", stage=stage, message=f"the workflow does not cover {item}"))
    for reason in inp.spec.unsupported:
        issues.append(QualityIssue(severity="warning", stage="requirements", code="UNSUPPORTED",
                                   message=f"Not possible in Dify: {reason} The workflow does what it can."))
    for node in ((inp.dsl.get("workflow") or {}).get("graph") or {}).get("nodes", []):
        data = node.get("data") or {} if isinstance(node, dict) else {}
        if data.get("type") == "code" and "# Rule to implement" in str(data.get("code", "")):
            issues.append(QualityIssue(severity="info", stage="configuration", node_id=node.get("id"),
                                       message=f"Code step {data.get('title')!r} reads and types the inputs and returns the named "
                                               "outputs, but the offline brain cannot write the calculation itself: finish the "
                                               "rule written above main() in Dify, or generate with a model provider."))
    for note in inp.spec.notes:
        issues.append(QualityIssue(severity="info", stage="requirements", message=note))
    errors = [i for i in issues if i.severity == "error"]
    warnings = [i for i in issues if i.severity == "warning" and i.code != "UNSUPPORTED"]
    score = max(0, 100 - 30 * len(errors) - 10 * len(missing) - 3 * max(0, len(warnings) - len(missing)))
    target = "architecture" if any(m.startswith(("capability", "mode")) for m in missing) else "configuration"
    feedback = "; ".join([i.message for i in errors] + [m.split(" ", 1)[1] for m in missing if not m.startswith(("capability", "mode"))])
    return QualityReport(score=score, issues=issues, coverage=cov, retry=bool(errors) or score < PASS_SCORE,
                         feedback=feedback, target_stage=target)


def run(inp: QualityInput, brain: Brain) -> StageResult[QualityReport]:
    """Judge one DSL attempt; the LLM brain's review can only lower the score and add issues.

    The model is not asked while the deterministic checks find error-level issues (its score could not
    change the verdict, and a small model's reviewer answers 100 regardless); a review whose score
    contradicts error-level findings (its own or ours) is not believed.
    """
    report = review(inp)
    if brain.kind == "offline":
        _, calls = brain.think(AGENT, data={}, schema=QualityReport, offline=lambda: report)
        return StageResult(stage=AGENT, output=report, calls=calls)
    if any(i.severity == "error" for i in report.issues):
        return StageResult(stage=AGENT, output=report, calls=[])
    data = {"requirement": inp.spec.requirement, "spec": inp.spec,
            "nodes": [n.get("data") for n in inp.dsl.get("workflow", {}).get("graph", {}).get("nodes", [])],
            "validator_findings": inp.findings, "test_run_findings": inp.runtime_findings}
    llm_review, calls = brain.think(AGENT, data=data, schema=QualityReview,
                                    offline=lambda: QualityReview(score=report.score))
    return StageResult(stage=AGENT, output=merge_review(report, llm_review), calls=calls)


def merge_review(report: QualityReport, llm_review: QualityReview) -> QualityReport:
    """The deterministic report with the model's review folded in: its issues added, its score taken only
    when lower, and a passing score that contradicts error-level findings not believed."""
    issues = report.issues + list(llm_review.issues)
    errors = [i for i in issues if i.severity == "error"]
    score = min(report.score, llm_review.score)
    if errors and llm_review.score >= PASS_SCORE:
        issues.append(QualityIssue(severity="info", stage="compile", code="REVIEW_NOT_BELIEVED",
                                   message=f"The model's review score {llm_review.score} contradicts {len(errors)} "
                                           "error-level finding(s); it is not believed."))
        score = min(score, PASS_SCORE - 1)
    extra = "; ".join(i.message for i in llm_review.issues if i.severity == "error")
    return report.model_copy(update={
        "issues": issues, "score": score,
        "retry": report.retry or bool(errors) or score < PASS_SCORE,
        "feedback": "; ".join(x for x in (report.feedback, extra) if x),
    })
