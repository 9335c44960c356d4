"""Property: ``compile_plan`` never raises on a schema-valid plan, and a plan it accepts validates.

Plans are drawn from the pydantic models themselves (every step type, references to earlier, later,
unknown and reserved steps, parents that are or are not containers, branch links, missing start
variables...). "Accepts" means no error-level compile issue; otherwise the issues are what the
repair loop sends back to the model.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.agents.compile import compile_plan
from core.agents.models import (
    AssignSpec,
    Binding,
    CaseSpec,
    CodeOutput,
    ConditionSpec,
    ConversationVar,
    Link,
    LoopVarSpec,
    NodeType,
    ParamSpec,
    PlanStep,
    StartVarPlan,
    StartVarType,
    WorkflowPlan,
)
from core.dsl import validate

EXAMPLES = int(os.environ.get("DIFYFORGE_PROPERTY_EXAMPLES", "10000"))
STEP_IDS = ["a", "b", "c", "d", "it", "lp", "start", "sys", "env", "llm", "end"]
FIELDS = ["text", "output", "result", "query", "item", "index", "files", "class_name", "x", "body", "name"]
types = st.sampled_from(NodeType.__args__)
ids = st.sampled_from(STEP_IDS)
HEADS = [*STEP_IDS, "conversation", "sys", "env"]
REFS = [f"{h}.{f}" for h in HEADS for f in FIELDS] + [f"{h}.{f}.x" for h in HEADS[:4] for f in FIELDS[:3]] + [
    "", "nodot", "a.", ".x", "{{#sys.query#}}", "a..b"]
refs = st.sampled_from(REFS)  # one draw each: thousands of plans a minute
TEXTS = ["", "plain words", "\n", "{{#sys.query#}}", "{{#context#}}", "{{ x }}", "Say {{a.text}} and {{b.output}}",
         "{{start.text}}", "{{sys.query}}", "{{ghost.text}}", "{{it.item}}", "{{lp.x}} {{#1711.text#}}", "中文 {{c.result}}",
         "sk-" + "A1b2C3d4E5f6G7h8", "{{env.KEY}}", "{{conversation.name}}"]
texts = st.sampled_from(TEXTS)
names = st.sampled_from(["text", "q", "file", "x y", "", "1st", "result", "output", "items"])
NAMES = ["text", "q", "file", "x y", "", "1st", "result", "output", "items"]
BRANCHES = [None, "otherwise", "true", "yes", "Other", "A", "x"]
OPERATORS = ConditionSpec.model_fields["operator"].annotation.__args__
CODE_TYPES = CodeOutput.model_fields["type"].annotation.__args__


def _some(rnd, make, most=2):
    return [make(rnd) for _ in range(rnd.randint(0, most))]


def _ref_or_text(rnd):
    return rnd.choice(REFS if rnd.random() < 0.6 else TEXTS)


def _binding(rnd):
    return Binding(name=rnd.choice(NAMES), ref=_ref_or_text(rnd))


def _condition(rnd):
    return ConditionSpec(ref=rnd.choice(REFS), operator=rnd.choice(OPERATORS), value=rnd.choice(TEXTS))


def _maybe(rnd, pool):
    return None if rnd.random() < 0.3 else rnd.choice(pool)


FIELD_VALUES = {  # every PlanStep field -> how to draw a value for it (a test checks none is missing)
    "after": lambda r: _some(r, lambda r: Link(step=r.choice(STEP_IDS), branch=r.choice(BRANCHES))),
    "parent": lambda r: _maybe(r, STEP_IDS), "system": lambda r: r.choice(TEXTS), "user": lambda r: r.choice(TEXTS),
    "temperature": lambda r: r.choice([-1.0, 0.0, 0.7, 3.0]), "context": lambda r: _maybe(r, REFS),
    "memory_window": lambda r: _maybe(r, [-2, 0, 5, 60]), "vision": lambda r: _maybe(r, REFS),
    "structured_fields": lambda r: _some(r, lambda r: r.choice(NAMES)), "query": lambda r: _maybe(r, REFS),
    "top_k": lambda r: r.choice([-3, 0, 4, 30]),
    "classes": lambda r: _some(r, lambda r: r.choice(["A", "B", "a", " ", "", "Other", "{{#sys.query#}}"]), 3),
    "instruction": lambda r: r.choice(TEXTS),
    "parameters": lambda r: _some(r, lambda r: ParamSpec(name=r.choice(NAMES), description=r.choice(TEXTS))),
    "cases": lambda r: _some(r, lambda r: CaseSpec(label=r.choice(["yes", "no", "Other", ""]),
                                                    logical_operator=r.choice(["and", "or"]),
                                                    conditions=_some(r, _condition))),
    "code": lambda r: r.choice(["", "def main(x):\n    return {'result': x}\n", "oops("]),
    "bindings": lambda r: _some(r, _binding),
    "code_outputs": lambda r: _some(r, lambda r: CodeOutput(name=r.choice(NAMES), type=r.choice(CODE_TYPES))),
    "template": lambda r: r.choice(TEXTS), "method": lambda r: r.choice(["get", "post", "delete"]),
    "url": lambda r: r.choice(TEXTS + ["https://api.example.com/{{start.text}}"]), "params": lambda r: _some(r, _binding),
    "headers": lambda r: _some(r, _binding), "body_json": lambda r: _maybe(r, TEXTS),
    "tool_provider": lambda r: r.choice(["", "duckduckgo", "google"]), "tool_name": lambda r: r.choice(["", "ddgo_search", "x"]),
    "tool_label": lambda r: r.choice(["", "Search"]),
    "tool_param": lambda r: r.choice(["query", "text", "", "x y"]),
    "plugin": lambda r: r.choice(["", "langgenius/duckduckgo", "bad id with spaces", "langgenius/time:0.0.1@abc"]), "refs": lambda r: _some(r, lambda r: r.choice(REFS), 3),
    "assignments": lambda r: _some(r, lambda r: AssignSpec(target=r.choice(REFS), value=r.choice(REFS),
                                                           operation=r.choice(["over-write", "append", "clear"]))),
    "output": lambda r: _maybe(r, REFS), "loop_count": lambda r: r.choice([-5, 0, 1, 3, 300]),
    "loop_vars": lambda r: _some(r, lambda r: LoopVarSpec(name=r.choice(NAMES), type=r.choice(["string", "number", "boolean"]),
                                                          initial=_ref_or_text(r))),
    "break_conditions": lambda r: _some(r, _condition), "filter_key": lambda r: _maybe(r, NAMES),
    "filter_operator": lambda r: r.choice([">", "contains", "=", "??"]), "filter_value": lambda r: r.choice(TEXTS),
    "order_key": lambda r: _maybe(r, NAMES), "order_desc": lambda r: r.random() < 0.5,
    "limit": lambda r: _maybe(r, [-3, 0, 5]), "outputs": lambda r: _some(r, _binding), "answer": lambda r: r.choice(TEXTS),
}
REQUIRED = {"id", "type", "title"}


def random_step(rnd) -> PlanStep:
    fields = {"id": rnd.choice(STEP_IDS), "type": rnd.choice(NodeType.__args__), "title": rnd.choice(["", "Step", "中文"])}
    for name, draw in FIELD_VALUES.items():
        if rnd.random() < 0.35:
            fields[name] = draw(rnd)
    return PlanStep(**fields)


def random_plan(rnd) -> WorkflowPlan:
    start_vars = _some(rnd, lambda r: StartVarPlan(
        name=r.choice(NAMES), label=r.choice(["", "Q"]), type=r.choice(StartVarType.__args__),
        options=_some(r, lambda r: r.choice(["a", "b", ""])),
        file_types=_some(r, lambda r: r.choice(["image", "document", "exe"]))), 3)
    return WorkflowPlan(app_mode=rnd.choice(["workflow", "advanced-chat"]), name=rnd.choice(["", "n", "{{#sys.query#}}"]),
                        start_title=rnd.choice(["Start", "", "开始", "x" * 60]),
                        description=rnd.choice(TEXTS), icon=rnd.choice(["", "🤖"]), start_vars=start_vars,
                        conversation_vars=_some(rnd, lambda r: ConversationVar(name=r.choice(NAMES))),
                        steps=[random_step(rnd) for _ in range(rnd.randint(0, 8))])


plans = st.randoms(use_true_random=False).map(random_plan)
"""One draw per plan (a seeded ``Random`` hypothesis controls), so 10,000 plans take a minute or two, not an hour."""


def test_every_plan_step_field_is_drawn():
    assert set(PlanStep.model_fields) == set(FIELD_VALUES) | REQUIRED


def check(plan: WorkflowPlan) -> None:
    result = compile_plan(plan)  # never raises
    assert not [i.message for i in result.issues if "could not be compiled" in i.message]  # no crash caught inside
    assert isinstance(result.dsl, dict) and result.yaml_text
    if not any(i.severity == "error" for i in result.issues):
        report = validate(result.dsl)
        assert report.valid, [(f.code, f.message) for f in report.errors]


@pytest.mark.slow
@pytest.mark.timeout(3600)  # 10,000 compiles + validations: minutes on a busy 2-core machine, over the 300 s default
@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(plans)
def test_compile_plan_never_raises_and_what_it_accepts_validates(plan):
    check(plan)


CRASHERS = [  # the six crash classes the issue reported, as plans
    *[WorkflowPlan(app_mode="workflow", name="n", steps=[PlanStep(id="a", type=t, title="A"),
                                                         PlanStep(id="e", type="end", title="E", after=[Link(step="a")])])
      for t in ("parameter-extractor", "question-classifier", "knowledge-retrieval", "list-operator")],
    WorkflowPlan(app_mode="advanced-chat", name="n", start_vars=[StartVarPlan(name="q", label="Q")],
                 steps=[PlanStep(id="e", type="end", title="E", outputs=[Binding(name="r", ref="start.q")])]),
    WorkflowPlan(app_mode="workflow", name="n", start_vars=[StartVarPlan(name="q", label="Q", type="paragraph")],
                 steps=[PlanStep(id="it", type="iteration", title="I", query="start.q"),
                        PlanStep(id="x", type="llm", title="X", parent="it", after=[Link(step="it")])]),
]


@pytest.mark.parametrize("plan", CRASHERS)
def test_the_reported_crash_classes(plan):
    check(plan)
