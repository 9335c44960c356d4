"""The offline brain's wiring and prompts on requirements outside the eval set (no pattern library needed)."""

from __future__ import annotations

import json

import pytest

from core.agents.architecture import ArchitectureInput, design
from core.agents.compile import compile_plan
from core.agents.configuration import ConfigurationInput, configure
from core.agents.rules import analyse
from core.dsl import validate
from core.dsl.graph import node_types, nodes_by_id

TICKETS = ("Classify support tickets as billing, bug report or feature request; for bug reports create a GitHub issue via "
           "an HTTP POST to https://api.github.com/repos/acme/app/issues, otherwise draft a reply in German.")
LEADS = ("When a new lead comes in, enrich it by calling https://api.clearbit.example/v2/companies?domain=..., score it "
         "1-10 with an LLM and if the score is above 7 post it to Slack via webhook https://hooks.slack.example/T000")
HR_BOT = "A chatbot that answers HR policy questions from our employee handbook and escalates to a human when unsure"
REVIEWS = "Take a CSV of customer reviews, for each review extract sentiment and topic, then summarise the main complaints"
TRANSLATE = "Translate the input into French, then have a second model review the translation and fix mistakes"
README = "Given a GitHub repo URL, fetch its README via HTTP and write a one-paragraph description and 5 tags"


def build(requirement: str) -> dict:
    spec = analyse(requirement)
    plan = configure(ConfigurationInput(spec=spec, blueprint=design(ArchitectureInput(spec=spec))))
    return compile_plan(plan).dsl


def edges(doc: dict) -> list[dict]:
    return doc["workflow"]["graph"]["edges"]


def upstream(doc: dict, node_id: str) -> set[str]:
    """Every node with a path to ``node_id``."""
    seen, todo = set(), [node_id]
    while todo:
        current = todo.pop()
        for e in edges(doc):
            if e["target"] == current and e["source"] not in seen:
                seen.add(e["source"])
                todo.append(e["source"])
    return seen


def system_prompts(doc: dict) -> dict[str, str]:
    return {n["id"]: next(p["text"] for p in n["data"]["prompt_template"] if p["role"] == "system")
            for n in doc["workflow"]["graph"]["nodes"] if n["data"]["type"] == "llm"}


def of_type(doc: dict, kind: str) -> list[dict]:
    return [n for n in doc["workflow"]["graph"]["nodes"] if n["data"]["type"] == kind]


@pytest.fixture(scope="module")
def tickets() -> dict:
    return build(TICKETS)


def test_http_call_sits_only_in_the_branch_that_needs_it(tickets):
    (http,) = of_type(tickets, "http-request")
    (classifier,) = of_type(tickets, "question-classifier")
    assert classifier["id"] in upstream(tickets, http["id"])
    bug_id = next(c["id"] for c in classifier["data"]["classes"] if c["name"] == "Bug report")
    first_hops = {e["target"] for e in edges(tickets) if e["source"] == classifier["id"] and e["sourceHandle"] == bug_id}
    assert any(http["id"] == hop or hop in upstream(tickets, http["id"]) for hop in first_hops)
    for llm_id in system_prompts(tickets):  # the reply branches never wait for the API
        assert http["id"] not in upstream(tickets, llm_id)


def test_post_sends_a_json_body_built_by_code(tickets):
    (http,) = of_type(tickets, "http-request")
    assert http["data"]["method"] == "post"
    assert http["data"]["body"]["type"] == "json"
    body = http["data"]["body"]["data"][0]["value"]
    builder_id = body.strip("{}#").split(".")[0]
    builder = nodes_by_id(tickets)[builder_id]["data"]
    assert builder["type"] == "code" and "json.dumps" in builder["code"]
    namespace: dict = {}
    exec(builder["code"], namespace)  # noqa: S102 - the generated code node, run as Dify would
    payload = json.loads(namespace["main"]('App crashes on "login"\nSteps: open the app')["payload"])
    assert payload == {"title": 'App crashes on "login"', "body": 'App crashes on "login"\nSteps: open the app'}


def test_branch_prompts_differ_and_name_their_class(tickets):
    prompts = system_prompts(tickets)
    assert len(prompts) == 2 and len(set(prompts.values())) == 2
    assert {"Billing", "Feature request"} == {c for c in ("Billing", "Bug report", "Feature request")
                                              if any(c in p for p in prompts.values())}
    for prompt in prompts.values():
        assert "German" in prompt and "## Task" in prompt and "## Output" in prompt


@pytest.mark.parametrize("requirement", [TICKETS, LEADS, HR_BOT, REVIEWS, TRANSLATE, README])
def test_no_prompt_repeats_the_whole_requirement(requirement):
    doc = build(requirement)
    text = " ".join(requirement.split())
    for node_id, prompt in system_prompts(doc).items():
        assert prompt.count(text) <= 1, node_id
        assert not prompt.startswith("You are an expert assistant inside a Dify"), node_id


def test_numeric_condition_gates_the_webhook():
    doc = build(LEADS)
    nodes = nodes_by_id(doc)
    get, post = sorted(of_type(doc, "http-request"), key=lambda n: n["data"]["method"])
    assert get["data"]["method"] == "get" and "domain:" in get["data"]["params"]
    assert "?" not in get["data"]["url"]
    assert post["data"]["url"] == "https://hooks.slack.example/T000" and post["data"]["body"]["type"] == "json"
    (gate,) = of_type(doc, "if-else")
    condition = gate["data"]["cases"][0]["conditions"][0]
    assert (condition["comparison_operator"], condition["value"]) == (">", "7")
    assert nodes[condition["variable_selector"][0]]["data"]["type"] == "code"
    assert gate["id"] in upstream(doc, post["id"]) and post["id"] not in upstream(doc, gate["id"])
    assert get["id"] in upstream(doc, gate["id"])  # enrichment comes before the scoring


def test_review_pass_follows_the_translation():
    doc = build(TRANSLATE)
    prompts = list(system_prompts(doc).values())
    assert len(prompts) == 2
    assert "French" in prompts[0] and "corrected" in prompts[1]


EXPECTED_TYPES = [
    (TICKETS, "workflow", {"question-classifier", "http-request", "code", "llm", "variable-aggregator", "end"}),
    (LEADS, "workflow", {"http-request", "llm", "code", "if-else", "end"}),
    (HR_BOT, "advanced-chat", {"knowledge-retrieval", "llm", "if-else", "answer"}),
    (REVIEWS, "workflow", {"code", "iteration", "parameter-extractor", "template-transform", "llm", "end"}),
    (TRANSLATE, "workflow", {"llm", "end"}),
    (README, "workflow", {"http-request", "llm", "end"}),
]


@pytest.mark.parametrize(("requirement", "mode", "types"), EXPECTED_TYPES, ids=[r[:30] for r, _, _ in EXPECTED_TYPES])
def test_phrasings_give_valid_workflows(requirement, mode, types):
    doc = build(requirement)
    report = validate(doc)
    assert report.valid, [f.message for f in report.errors]
    assert doc["app"]["mode"] == mode
    assert types <= set(node_types(doc))


def test_iteration_extracts_per_item_and_summarises_after():
    doc = build(REVIEWS)
    (iteration,) = of_type(doc, "iteration")
    (extractor,) = of_type(doc, "parameter-extractor")
    assert extractor.get("parentId") == iteration["id"]
    (summary,) = [n for n in of_type(doc, "llm") if not n.get("parentId")]
    assert iteration["id"] in upstream(doc, summary["id"])
    assert "complaints" in system_prompts(doc)[summary["id"]]
