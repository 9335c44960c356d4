"""The generation pipeline: requirement -> four agents -> validated Dify DSL, every step recorded.

``generate`` runs requirements -> architecture -> configuration -> compile -> validate -> quality,
with up to ``settings.repair_rounds`` repair rounds, records the run, its calls (the moment they
happen), events, patterns and DSL versions in the ledger, and reports events live to ``on_event``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from core.agents import architecture, configuration, quality, repair, requirements
from core.agents.adapter import pattern_steps
from core.agents.architecture import ArchitectureInput, PatternBrief
from core.agents.brain import OFFLINE_MODEL, LLMBrain, OfflineBrain
from core.agents.compile import compile_plan
from core.agents.configuration import ConfigurationInput
from core.agents.models import (
    Blueprint,
    QualityIssue,
    QualityReport,
    RequirementSpec,
    StageResult,
    WorkflowPlan,
)
from core.agents.quality import QualityInput
from core.agents.refine import merge as merge_instruction
from core.agents.requirements import RequirementsInput
from core.config import Settings
from core.dsl import ValidationReport, load_dsl, validate
from core.errors import (
    BudgetExceeded,
    InputError,
    LedgerUnavailable,
    PatternError,
    ProviderError,
    UnparseableModelOutput,
    UserFacingError,
)
from core.usage import CallRecord, RunUsage

log = logging.getLogger(__name__)

MAX_REQUIREMENT_CHARS = 20_000
"""Longer requirements are refused (a requirement is a description, not a document)."""


@dataclass
class PipelineEvent:
    """One thing that happened in a run, as the UI shows it live."""

    run_id: str | None
    type: str
    stage: str | None
    payload: dict
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class RepairRound:
    """What one repair round did."""

    round: int
    level: str
    """How it was asked: ``feedback``, ``specific`` (more specific feedback) or ``draft`` (the offline
    brain's structure for the model to correct); see ``core.agents.repair``."""
    changed: bool
    """Whether the model's plan differed from the one it was asked to change."""
    fixed: list[str] = field(default_factory=list)
    """Problems of the previous attempt that this one no longer has."""
    remaining: int = 0
    """Problems this attempt still has."""


INCOMPLETE = "incomplete"
"""Error category of a run whose best workflow validates but does not do everything the spec asks."""


@dataclass
class GenerationResult:
    """What a run produced; ``dsl``/``yaml_text`` hold the best attempt also when the run failed."""

    run_id: str | None
    status: str
    app_mode: str | None = None
    dsl: dict | None = None
    yaml_text: str = ""
    report: ValidationReport | None = None
    quality: QualityReport | None = None
    spec: RequirementSpec | None = None
    blueprint: Blueprint | None = None
    plan: WorkflowPlan | None = None
    usage: RunUsage = field(default_factory=RunUsage)
    patterns: list = field(default_factory=list)
    error_category: str | None = None
    error_message: str | None = None
    stages: list[StageResult] = field(default_factory=list)
    recorded: bool = True
    """False when the ledger was unavailable and the run was not recorded."""
    ledger_problem: str | None = None
    """Why the run was not (fully) recorded, for the user: the workflow itself is still returned."""
    missing: list[str] = field(default_factory=list)
    """What the returned workflow does not do (uncovered spec items, error-level issues); a run with any
    ends ``failed``/``incomplete``."""
    repairs: list[RepairRound] = field(default_factory=list)
    """One entry per repair round: whether the plan changed and what the round escalated to."""
    drafts: list[str] = field(default_factory=list)
    """Stages whose unusable model answer was replaced by the offline brain's (``requirements``,
    ``architecture``)."""
    test_run: object | None = None
    """The returned DSL's test run in Dify's engine (``core.testrun.TestRunReport``), if it was run."""

    @property
    def valid(self) -> bool:
        """Whether the returned DSL was validated without an error-level finding."""
        return self.report is not None and self.report.valid


LEDGER_WRITES_ITSELF = {"run.started", "llm.call", "run.completed", "run.failed"}
"""Events the ledger records on its own (start_run, record_call, finish_run); only the UI gets ours."""

_LIBRARIES_LOCK = threading.Lock()
_LIBRARIES: dict[str, object] = {}


def _library(settings: Settings):
    """The pattern library of ``settings`` (opened and synced once per process)."""
    from core.patterns import PatternLibrary

    key = str(settings.data_dir)
    with _LIBRARIES_LOCK:  # threads of one batch must not open the same Chroma folder twice at once
        if key not in _LIBRARIES:
            lib = PatternLibrary.open(settings)
            lib.sync()
            _LIBRARIES[key] = lib
        return _LIBRARIES[key]


class _Run:
    """Bookkeeping of one run: ledger writes (tolerating an unavailable ledger), events, usage."""

    def __init__(self, settings: Settings, ledger, on_event) -> None:
        self.settings = settings
        self.ledger = ledger
        self.on_event = on_event or (lambda event: None)
        self.run_id: str | None = None
        self.usage = RunUsage()
        self.recorded = ledger is not None
        self.problem: str | None = None

    def write(self, method: str, *args, **kwargs):
        if self.ledger is None or (self.run_id is None and method != "start_run"):
            return None
        try:
            return getattr(self.ledger, method)(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - bookkeeping must never cost the user the workflow
            log.warning("ledger write %s failed, run %s is not fully recorded: %s", method, self.run_id, exc)
            self.not_recorded(exc if isinstance(exc, LedgerUnavailable) else f"{type(exc).__name__}: {exc}")
            return None

    def not_recorded(self, why) -> None:
        self.recorded = False
        if self.problem is None:
            self.problem = f"The run was not recorded in the ledger: {why}"

    def event(self, type_: str, stage: str | None = None, **payload) -> None:
        self.on_event(PipelineEvent(self.run_id, type_, stage, payload))
        if type_ not in LEDGER_WRITES_ITSELF:
            self.write("record_event", self.run_id, type_, {"stage": stage, **payload} if stage else payload)

    def on_call(self, call: CallRecord) -> None:
        price = self.write("record_call", self.run_id, call)
        cost = getattr(price, "cost_usd", None) if price is not None else (Decimal(0) if call.provider == "offline" else None)
        self.usage.add(call, cost)
        self.event("llm.call", call.agent, agent=call.agent, model=call.model, attempt=call.attempt, outcome=call.outcome,
                   prompt_tokens=call.prompt_tokens, completion_tokens=call.completion_tokens,
                   latency_ms=round(call.latency_ms, 1), error_category=call.error_category, is_fallback=call.is_fallback)


def _check_requirement(requirement: str) -> str:
    text = (requirement or "").strip()
    if not text:
        raise InputError("The requirement is empty.", hint="Describe in a sentence or two what the workflow should do.")
    if len(text) > MAX_REQUIREMENT_CHARS:
        raise InputError(f"The requirement is {len(text):,} characters long; the limit is {MAX_REQUIREMENT_CHARS:,}.",
                         hint="Describe what the workflow should do in a few paragraphs; attach documents in Dify instead.")
    return text


def generate(
    requirement: str,
    *,
    settings: Settings,
    on_event: Callable[[PipelineEvent], None] | None = None,
    ledger=None,
    library=None,
    parent_run_id: str | None = None,
    source: str = "cli",
    previous: GenerationResult | None = None,
    spec: RequirementSpec | None = None,
) -> GenerationResult:
    """Generate a Dify workflow for ``requirement`` and record the run.

    Args:
        requirement: what the workflow should do, in plain language.
        settings: provider, budgets, repair rounds, DSL version.
        on_event: receives every ``PipelineEvent`` as it happens.
        ledger: where to record; opened from ``settings`` when None (unavailable -> not recorded).
        library: the pattern library; opened from ``settings`` when None.
        parent_run_id: set for refinements.
        source: ``app``, ``cli``, ``batch`` or ``eval``.
        previous: the parent's result (refinements with the LLM brain get its plan).
        spec: an already changed requirement model (offline refinements); the requirements stage
            then records it instead of reading the text again.

    Returns:
        The result; ``status`` is ``failed`` (with ``error_category``) for bad input, budget, provider
        errors and workflows that never validated. Never raises for those. An empty or over-long
        requirement is refused before a run is started: ``run_id`` is None and nothing is recorded.

    Raises:
        UserFacingError: an unexpected internal error (the run is recorded as failed, ``internal``).
    """
    unopened = None
    if ledger is None:
        try:
            from core.ledger import Ledger

            ledger = Ledger.open(settings)
        except LedgerUnavailable as exc:
            log.warning("generating without a ledger: %s", exc)
            ledger, unopened = None, exc
    run = _Run(settings, ledger, on_event)
    try:  # bad input is refused before a run exists: it is not a failed generation (nor a success-rate point)
        text = _check_requirement(requirement)
    except InputError as exc:
        run.event("run.failed", None, category="invalid_input", message=str(exc))
        return GenerationResult(run_id=None, status="failed", error_category="invalid_input",
                                error_message=str(exc), recorded=False)
    if unopened is not None:
        run.not_recorded(unopened)
    provider = settings.provider
    offline = provider.kind == "offline"
    run.run_id = run.write("start_run", requirement=(requirement or "")[:MAX_REQUIREMENT_CHARS + 1000],
                           provider="offline" if offline else provider.kind,
                           model=OFFLINE_MODEL if offline else provider.model, prompt_version=settings.prompt_version,
                           parent_run_id=parent_run_id, source=source)
    if run.run_id is None:
        run.recorded = False
    run.event("run.started", None, provider=provider.label, source=source)
    result = GenerationResult(run_id=run.run_id, status="running", usage=run.usage, recorded=run.recorded)
    try:
        _check_daily_budget(settings, ledger)
        _generate(text, settings, run, result, library, previous, spec)
    except (InputError, ProviderError) as exc:
        category = "invalid_input" if isinstance(exc, InputError) else exc.category
        _fail(run, result, category, str(exc))
    except UserFacingError as exc:
        _fail(run, result, "internal", str(exc))
        raise
    except Exception as exc:  # noqa: BLE001 - the boundary: record the crash, show a clean message
        log.exception("generation run %s crashed", run.run_id)
        _fail(run, result, "internal", f"{type(exc).__name__}: {exc}")
        raise UserFacingError("Generation failed because of an internal error; the run is recorded as failed.",
                              hint=f"Run id {run.run_id}. Please report it with the requirement.") from exc
    result.recorded = run.recorded
    result.ledger_problem = None if run.recorded else (run.problem or "The run was not recorded in the ledger.")
    return result


def _check_daily_budget(settings: Settings, ledger) -> None:
    if settings.max_cost_usd_per_day is None or ledger is None:
        return
    try:
        spent = ledger.spend_today()
    except LedgerUnavailable as exc:  # the run goes on unrecorded; its own per-run budget still applies
        log.warning("today's spend cannot be read, the daily limit is not checked: %s", exc)
        return
    if spent >= settings.max_cost_usd_per_day:
        raise BudgetExceeded(f"Today's spend is ${spent:.4f}, the daily limit is ${settings.max_cost_usd_per_day:.4f}; "
                             "no run was started. Raise DIFYFORGE_MAX_COST_PER_DAY or wait until tomorrow (UTC).")


def _fail(run: _Run, result: GenerationResult, category: str, message: str) -> None:
    result.status, result.error_category, result.error_message = "failed", category, message
    report = result.report
    run.event("run.failed", None, category=category, message=message[:2000])
    run.write("finish_run", run.run_id, status="failed", error_category=category, error_message=message[:2000],
              quality_score=result.quality.score if result.quality else None,
              errors=len(report.errors) if report else 0, warnings=len(report.warnings) if report else 0,
              app_mode=result.app_mode)


def _stage(run: _Run, result: GenerationResult, name: str, fn, *args):
    run.event("stage.started", name)
    started = time.perf_counter()
    stage = fn(*args)
    stage.duration_ms = (time.perf_counter() - started) * 1000
    result.stages.append(stage)
    run.event("stage.completed", name, calls=len(stage.calls), summary=stage.output.summary())
    return stage.output


def _stage_or_draft(run: _Run, result: GenerationResult, name: str, fn, inp, brain, draft):
    """``_stage``, but when the model's answer is never valid JSON of the schema (asked twice), the
    offline brain's answer stands in (the hybrid that keeps a small model's run going), said in a
    ``stage.draft`` event and in ``result.drafts``."""
    try:
        return _stage(run, result, name, fn, inp, brain)
    except UnparseableModelOutput as exc:
        output = draft()
        run.event("stage.draft", name, message=str(exc)[:500], summary=output.summary())
        result.drafts.append(name)
        return output


def _patterns(text: str, spec: RequirementSpec, settings: Settings, library) -> list:
    try:
        lib = library if library is not None else _library(settings)
        return lib.recommend(text, k=3, capabilities=set(spec.capabilities), mode=spec.app_mode)
    except PatternError as exc:
        log.warning("pattern retrieval unavailable: %s", exc)
        return []


def _generate(text: str, settings: Settings, run: _Run, result: GenerationResult, library, previous,
              given: RequirementSpec | None = None) -> None:
    if settings.provider.kind == "offline":
        brain = OfflineBrain(run.on_call, log_content=settings.log_content)
    else:
        from core.llm import RunBudget

        budget = RunBudget(max_cost_usd=settings.max_cost_usd_per_run, max_tokens=settings.max_tokens_per_run)
        brain = LLMBrain(settings, run.on_call, budget=budget)
    req_in = RequirementsInput(requirement=text)
    if given is not None and brain.kind == "offline":
        spec = _stage(run, result, "requirements", requirements.run_given, given, brain)
    else:
        spec = _stage_or_draft(run, result, "requirements", requirements.run, req_in, brain,
                               lambda: requirements.run(req_in, OfflineBrain(log_content=settings.log_content)).output)
    result.spec, result.app_mode = spec, spec.app_mode
    recs = _patterns(text, spec, settings, library)
    result.patterns = recs
    briefs = [PatternBrief(id=r.pattern.id, name=r.pattern.name, description=r.pattern.description,
                           node_types=list(r.pattern.node_types), score=round(r.score, 4), mode=r.pattern.mode,
                           steps=pattern_steps(r.pattern.dsl)) for r in recs]
    arch_in = ArchitectureInput(spec=spec, patterns=briefs, previous=previous.blueprint if previous and brain.kind == "llm" else None)
    blueprint = _stage_or_draft(run, result, "architecture", architecture.run, arch_in, brain,
                                lambda: architecture.design(arch_in))
    result.blueprint = blueprint
    _record_patterns(run, recs, blueprint)
    conf_in = ConfigurationInput(spec=spec, blueprint=blueprint, previous=previous.plan if previous and brain.kind == "llm" else None)
    best_rank: tuple | None = None
    best_compile_errors: list[str] = []
    level, before = "feedback", None  # escalation level of the next round; problems of the last attempt
    drafted = False  # the offline draft was given (it is given once)
    for round_no in range(settings.repair_rounds + 1):
        try:
            plan = _stage(run, result, "configuration", configuration.run, conf_in, brain)
        except (UnparseableModelOutput, ProviderError) as exc:
            # a small model's plan that is not JSON of the schema, even when asked twice, or a request the
            # endpoint refuses (a repair's prompt grown past the model's context): keep the best attempt so
            # far; with none yet, the offline draft to correct, and at last the rule design stands in
            refused = not isinstance(exc, UnparseableModelOutput)
            if refused and (exc.category != "bad_request" or isinstance(exc, BudgetExceeded)):
                raise
            run.event("repair.unusable", "configuration", round=round_no, message=str(exc)[:500])
            if best_rank is not None or drafted or round_no == settings.repair_rounds or refused:
                if best_rank is None:
                    stood_in = _rules_stand_in(run, result, spec, arch_in, settings) if settings.rules_stand_in else None
                    if stood_in is None:
                        raise
                    best_compile_errors = stood_in
                break
            drafted = True
            blueprint, conf_in = _offline_draft(run, result, spec, arch_in, settings)
            continue
        compiled = compile_plan(plan, version=settings.target_dsl_version)
        report = validate(compiled.dsl, target_version=settings.target_dsl_version)
        findings = _findings(report)
        tested = _test_run(run, compiled.dsl) if report.valid else None
        runtime = [f.to_dict() for f in tested.findings] if tested is not None else []
        q_in = QualityInput(spec=spec, dsl=compiled.dsl, findings=findings, compile_issues=compiled.issues,
                            runtime_findings=runtime)
        verdict = _stage(run, result, "quality", quality.run, q_in, brain)
        version = run.write("record_workflow", run.run_id, yaml_text=compiled.yaml_text, app_mode=plan.app_mode,
                            valid=report.valid, errors=len(report.errors), warnings=len(report.warnings), name=plan.name)
        if tested is not None:
            run.write("record_test_run", run.run_id, tested, workflow_version=version)
        found = repair.problems(verdict)
        rank = (report.valid, tested is not None and tested.succeeded, not found, -len(found.missing), verdict.score)
        if best_rank is None or rank > best_rank:
            best_rank = rank
            result.dsl, result.yaml_text, result.report, result.quality, result.plan = (
                compiled.dsl, compiled.yaml_text, report, verdict, plan)
            result.app_mode, result.test_run = plan.app_mode, tested
            best_compile_errors = [i.message for i in compiled.issues if i.severity == "error"]
        if before is not None:
            level = _judge_round(run, result, round_no, level, conf_in.previous, plan, before, found, brain.kind)
        before = found
        wants_repair = verdict.retry or (brain.kind == "llm" and bool(found))
        if not wants_repair or round_no == settings.repair_rounds or level == "stop":
            break
        run.event("repair.round", verdict.target_stage, round=round_no + 1, score=verdict.score, level=level,
                  feedback=verdict.feedback[:1000])
        if level == "draft" and brain.kind == "llm":
            if drafted:
                break
            drafted = True
            blueprint, conf_in = _offline_draft(run, result, spec, arch_in, settings)
            continue
        feedback = repair.feedback(verdict, plan, node_ids=compiled.node_ids, level=level) if brain.kind == "llm" else verdict.feedback
        if verdict.target_stage == "architecture" and brain.kind == "llm":
            arch_in = arch_in.model_copy(update={"feedback": feedback, "previous": blueprint})
            try:
                blueprint = _stage(run, result, "architecture", architecture.run, arch_in, brain)
            except UnparseableModelOutput as exc:  # a repair answer cut off or not JSON: keep the best attempt
                run.event("repair.unusable", "architecture", round=round_no + 1, message=str(exc)[:500])
                break
            result.blueprint = blueprint
        conf_in = ConfigurationInput(spec=spec, blueprint=blueprint, feedback=feedback, previous=plan)
    if brain.kind == "llm" and settings.rules_stand_in and "workflow" not in result.drafts:
        working = (result.report is not None and result.report.valid and result.test_run is not None
                   and result.test_run.succeeded)
        unmet = _unmet(spec, result.dsl, best_compile_errors) if working else None
        if not working or unmet:
            stood_in = _rules_stand_in(run, result, spec, arch_in, settings, beat=unmet)
            best_compile_errors = best_compile_errors if stood_in is None else stood_in
    final = validate(result.dsl, target_version=settings.target_dsl_version)  # the returned DSL, checked once more
    result.report = final
    result.missing = _unmet(spec, result.dsl, best_compile_errors)
    if not final.valid:
        headline = final.headline()
        _fail(run, result, "invalid_output", f"The workflow still has {len(final.errors)} error(s) after "
              f"{settings.repair_rounds} repair round(s): {headline.message if headline else ''}")
        return
    if result.test_run is None or not result.test_run.succeeded:
        _fail(run, result, "invalid_output", _test_run_failure(result.test_run))
        return
    if result.missing:
        _fail(run, result, INCOMPLETE, f"The workflow is valid but does not do everything the requirement asks "
              f"({len(result.missing)} item(s) missing after {len(result.repairs)} repair round(s)): "
              + "; ".join(result.missing))
        return
    result.status = "succeeded"
    run.event("run.completed", None, score=result.quality.score if result.quality else None, valid=True,
              calls=run.usage.calls, tokens=run.usage.total_tokens)
    run.write("finish_run", run.run_id, status="succeeded", quality_score=result.quality.score if result.quality else None,
              errors=0, warnings=len(final.warnings), app_mode=result.app_mode, app_name=result.plan.name if result.plan else None)


def _findings(report) -> list[dict]:
    """A validation report's findings as the quality stage reads them."""
    return [{"code": f.code, "severity": f.severity, "message": f.message, "node_id": f.node_id} for f in report.findings]


def _rule_design(spec: RequirementSpec, arch_in: ArchitectureInput, settings: Settings):
    """The offline brain's blueprint and plan for ``spec``, compiled and validated (no model call)."""
    blueprint = architecture.design(ArchitectureInput(spec=spec, patterns=arch_in.patterns))
    plan = configuration.configure(ConfigurationInput(spec=spec, blueprint=blueprint))
    compiled = compile_plan(plan, version=settings.target_dsl_version)
    return blueprint, plan, compiled, validate(compiled.dsl, target_version=settings.target_dsl_version)


def _rules_stand_in(run: _Run, result: GenerationResult, spec: RequirementSpec, arch_in: ArchitectureInput,
                    settings: Settings, beat: list[str] | None = None) -> list[str] | None:
    """The model's best workflow does not validate or test-run (``beat`` None), or it runs but leaves
    ``beat`` unmet: the rule design of the same spec (the offline brain's blueprint and plan, no model call)
    takes its place when it validates, test-runs and (against ``beat``) leaves fewer items unmet, said in a
    ``stage.draft`` event and in ``result.drafts`` ("workflow"). Returns its compile errors, or None when it
    did no better (the model's best attempt stays)."""
    blueprint, plan, compiled, report = _rule_design(spec, arch_in, settings)
    errors = [i.message for i in compiled.issues if i.severity == "error"]
    if beat is not None and (not report.valid or len(_unmet(spec, compiled.dsl, errors)) >= len(beat)):
        return None
    tested = _test_run(run, compiled.dsl) if report.valid else None
    if tested is None or not tested.succeeded:
        return None
    findings = _findings(report)
    q_in = QualityInput(spec=spec, dsl=compiled.dsl, findings=findings, compile_issues=compiled.issues,
                        runtime_findings=[f.to_dict() for f in tested.findings])
    verdict = _stage(run, result, "quality", quality.run, q_in, OfflineBrain(run.on_call, log_content=settings.log_content))
    version = run.write("record_workflow", run.run_id, yaml_text=compiled.yaml_text, app_mode=plan.app_mode,
                        valid=True, errors=0, warnings=len(report.warnings), name=plan.name)
    run.write("record_test_run", run.run_id, tested, workflow_version=version)
    why = ("did not validate or test-run" if beat is None
           else f"left {len(beat)} item(s) unmet ({'; '.join(beat)[:300]})")
    run.event("stage.draft", "workflow", message=f"the model's best workflow {why}; the rule design of its spec "
              "stands in", summary=f"{len(blueprint.steps)} steps")
    result.drafts.append("workflow")
    result.blueprint = blueprint
    result.dsl, result.yaml_text, result.report, result.quality, result.plan = compiled.dsl, compiled.yaml_text, report, verdict, plan
    result.app_mode, result.test_run = plan.app_mode, tested
    return errors


def _unmet(spec: RequirementSpec, dsl: dict | None, compile_errors: list[str]) -> list[str]:
    """What keeps the returned workflow from being done: the spec items ``quality.coverage`` finds
    uncovered and the compiler's error-level issues (a step it had to drop). The test run of a candidate
    joins here: its failures are unmet too."""
    if not isinstance(dsl, dict):
        return ["no workflow was produced"]
    missing = [f"not covered: {item}" for item, ok in quality.coverage(spec, dsl).items() if not ok]
    return missing + [f"compile error: {message}" for message in dict.fromkeys(compile_errors)]


def _judge_round(run: _Run, result: GenerationResult, round_no: int, level: str, asked: WorkflowPlan | None,
                 plan: WorkflowPlan, before: repair.Problems, after: repair.Problems, brain_kind: str) -> str:
    """Record what a repair round did; the escalation level of the next one (``stop`` for the offline
    brain, which would give the same answer again)."""
    changed = not repair.same_plan(asked, plan)
    progress = after.all != before.all and len(after.all) <= len(before.all)
    result.repairs.append(RepairRound(round=round_no, level=level, changed=changed,
                                      fixed=sorted(before.all - after.all), remaining=len(after.all)))
    run.event("repair.result", "configuration", round=round_no, level=level, changed=changed, progress=progress,
              remaining=len(after.all))
    if progress:
        return "feedback"
    return "stop" if brain_kind != "llm" else repair.next_level(level)


def _offline_draft(run: _Run, result: GenerationResult, spec: RequirementSpec, arch_in: ArchitectureInput,
                   settings: Settings) -> tuple[Blueprint, ConfigurationInput]:
    """The offline brain's blueprint and plan for ``spec``, as the draft the model corrects next round;
    the feedback lists the draft's own problems (checked without a model call)."""
    draft_blueprint, draft, compiled, report = _rule_design(spec, arch_in, settings)
    findings = _findings(report)
    verdict = quality.review(QualityInput(spec=spec, dsl=compiled.dsl, findings=findings, compile_issues=compiled.issues))
    feedback = repair.feedback(verdict, draft, node_ids=compiled.node_ids, level="draft")
    run.event("repair.draft", "architecture", steps=len(draft_blueprint.steps), problems=len(repair.problems(verdict).all))
    result.blueprint = draft_blueprint
    return draft_blueprint, ConfigurationInput(spec=spec, blueprint=draft_blueprint, feedback=feedback, previous=draft)


def _test_run(run: _Run, dsl: dict):
    """Run a valid candidate in Dify's own engine (offline stand-ins; every steerable branch)."""
    from core.testrun import test_run

    report = test_run(dsl)
    run.event("stage.completed", "testrun", status=report.status, summary=report.summary(),
              findings=[f.code for f in report.findings])
    return report


def _test_run_failure(report) -> str:
    if report is None:
        return "The workflow was not test-run in Dify's engine."
    first = report.errors[0].message if report.errors else report.summary()
    return f"The workflow validates but its test run in Dify's engine {report.status}: {first}"


def _record_patterns(run: _Run, recs: list, blueprint: Blueprint) -> None:
    if not recs:
        return
    from core.ledger import PatternHit

    used = set(blueprint.patterns_used)
    hits = [PatternHit(pattern_id=r.pattern.id, rank=i + 1, score=float(r.score), used=r.pattern.id in used)
            for i, r in enumerate(recs)]
    run.write("record_patterns", run.run_id, hits)


def refine(parent_run_id: str, instruction: str, *, settings: Settings, ledger=None, library=None,
           on_event: Callable[[PipelineEvent], None] | None = None, source: str = "app",
           previous: GenerationResult | None = None) -> GenerationResult:
    """Continue from a parent run with an instruction ("add a step that translates the answer to French").

    Offline, the instruction changes the parent's requirement model (its inputs and outputs stay unless
    the instruction replaces them) and the child is built from the changed model; the LLM brain gets the
    extended requirement with the parent's blueprint and plan. An instruction that changes nothing is
    reported as not applied.

    Raises:
        InputError: the instruction is empty or the parent run is unknown.
    """
    if not (instruction or "").strip():
        raise InputError("The refinement instruction is empty.", hint="Say what to change, e.g. 'also translate the answer to French'.")
    if ledger is None:
        from core.ledger import Ledger

        ledger = Ledger.open(settings)
    parent = ledger.get_run(parent_run_id)
    base = str(parent.get("requirement") or "").strip().rstrip(".")
    requirement = f"{base}. Also: {instruction.strip()}"
    changed_spec, changed = None, ["(model brain)"]
    if settings.provider.kind == "offline":
        parent_spec = (previous.spec if previous is not None and previous.spec is not None
                       else _stored_spec(ledger, parent_run_id) or requirements.analyse(base))
        changed_spec, changed = merge_instruction(parent_spec, instruction)
    result = generate(requirement, settings=settings, on_event=on_event, ledger=ledger, library=library,
                      parent_run_id=parent_run_id, source=source, previous=previous, spec=changed_spec)
    if result.quality is not None and not changed:
        result.quality.issues.append(QualityIssue(
            severity="warning", stage="requirements",
            message=f"The instruction {instruction.strip()!r} did not change the workflow: the offline brain found nothing in it that "
                    "names an input, an output, a step, a tool or a condition to add or change. Rephrase it (e.g. "
                    "'also output summary_fr, the summary in French'), or use a model provider, which reads free-form "
                    "instructions."))
    return result


def _stored_spec(ledger, run_id: str) -> RequirementSpec | None:
    """The requirement model a run's requirements stage recorded (None when content logging was off)."""
    try:
        rows = ledger.query("SELECT response_text FROM llm_calls WHERE run_id = ? AND agent = 'requirements' "
                            "AND response_text IS NOT NULL ORDER BY attempt DESC LIMIT 1", [run_id])
        return RequirementSpec.model_validate_json(rows.iloc[0]["response_text"]) if not rows.empty else None
    except Exception:  # noqa: BLE001 - an unreadable record falls back to reading the requirement again
        return None


def _last_workflow(ledger, run_id: str) -> dict | None:
    """The last DSL version a run recorded, parsed (None when it recorded none)."""
    rows = ledger.query("SELECT yaml_text FROM workflows WHERE run_id = ? ORDER BY version DESC LIMIT 1", [run_id])
    return load_dsl(rows.iloc[0]["yaml_text"]) if not rows.empty else None


def _same_graph(old: dict | None, new: dict | None) -> bool:
    """Whether two workflows have the same nodes with the same configuration (positions aside)."""
    def nodes(doc: dict | None) -> list | None:
        try:
            return [n["data"] for n in doc["workflow"]["graph"]["nodes"]]
        except (TypeError, KeyError):
            return None

    before = nodes(old)
    return before is not None and before == nodes(new)
