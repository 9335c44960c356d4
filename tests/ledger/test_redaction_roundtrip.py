"""Redaction masks secret values and nothing else: a stored workflow reads back as the same DSL.

Every pattern of the library and every workflow the offline generator writes for the eval set is
stored and read back with ``load_dsl(stored) == dsl``; a DSL with keys in an HTTP node, its headers
and a secret environment variable reads back with exactly those values masked.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from core.config import ProviderConfig, Settings
from core.dsl import dump_dsl, load_dsl, validate
from core.ledger import Ledger
from core.ledger.redact import REDACTED, redact, redact_dsl
from tests.conftest import EVAL_FILE
from tests.dsl.fixtures import workflow_doc

ROOT = Path(__file__).resolve().parents[2]
PATTERNS = sorted((ROOT / "patterns").glob("*.yaml"))

STRIPE = "sk_live_" + "51HqK2eLrT9xZ0aBcDeFgHiJ"
AWS = "AKIA" + "IOSFODNN7EXAMPLE"
SLACK = "xoxb-" + "1234567890-0987654321-AbCdEfGhIjKlMnOp"
OPENAI = "sk-proj-" + "Zx81kQmW5rT0yU3iO9pA"
BEARER = "eyJhbGciOiJIUzI1NiJ9.abcDEF123"


def _store(ledger: Ledger, text: str) -> str:
    run_id = ledger.start_run(requirement="x", provider="offline", model="offline", source="cli")
    ledger.record_workflow(run_id, yaml_text=text, app_mode="workflow", valid=True, errors=0, warnings=0)
    return ledger.query("SELECT yaml_text FROM workflows WHERE run_id = ?", [run_id]).iloc[0]["yaml_text"]


@pytest.mark.parametrize("path", PATTERNS, ids=[p.stem for p in PATTERNS])
def test_every_pattern_reads_back_as_the_same_dsl(ledger, path):
    dsl = yaml.safe_load(path.read_text(encoding="utf-8"))["dsl"]
    text = dump_dsl(dsl)
    stored = _store(ledger, text)
    assert load_dsl(stored) == dsl
    assert stored == text  # nothing secret in a pattern: not a byte changed


def test_every_generated_eval_workflow_reads_back_as_the_same_dsl(tmp_path, library_for_ledger):
    from core.evaluation import load_cases
    from core.pipeline import generate

    settings = Settings(data_dir=tmp_path / "data", provider=ProviderConfig(kind="offline"))
    led = Ledger.open(settings)
    cases = load_cases(EVAL_FILE)
    assert len(cases) >= 20
    for case in cases:
        result = generate(case.requirement, settings=settings, ledger=led, library=library_for_ledger, source="eval")
        rows = led.query("SELECT yaml_text FROM workflows WHERE run_id = ? ORDER BY version", [result.run_id])
        assert not rows.empty, case.case_id
        last = rows.iloc[-1]["yaml_text"]
        assert load_dsl(last) == result.dsl, case.case_id
        assert validate(last).valid, case.case_id
    led.close()


def _keyed_doc() -> dict:
    doc = workflow_doc()
    nodes = doc["workflow"]["graph"]["nodes"]
    http = copy.deepcopy(nodes[1])
    http["id"] = "http"
    http["data"] = {
        "type": "http-request", "title": "Call API", "method": "post", "url": "https://api.example.com/v1/x",
        "authorization": {"type": "api-key", "config": {"type": "bearer", "api_key": OPENAI, "header": ""}},
        "headers": f"X-Api-Key:{STRIPE}\nAccept:application/json\nAuthorization:Bearer {BEARER}",
        "params": "", "body": {"type": "none", "data": []},
        "timeout": {"connect": 10, "read": 60, "write": 20}, "variables": [],
    }
    nodes.append(http)
    doc["workflow"]["environment_variables"] = [
        {"id": "e1", "name": "AWS_KEY", "value": AWS, "value_type": "secret", "description": ""},
        {"id": "e2", "name": "REGION", "value": "eu-west-1", "value_type": "string", "description": ""},
    ]
    doc["workflow"]["graph"]["nodes"][1]["data"]["prompt_template"][0]["text"] = (
        f"Post to Slack with token {SLACK}.\nauthorization:\n  config: null"
    )
    return doc


def _leaves(value, path=()):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, (*path, i))
    else:
        yield path, value


def test_secret_values_are_masked_structurally_and_nothing_else_changes(ledger):
    doc = _keyed_doc()
    stored = _store(ledger, dump_dsl(doc))
    back = load_dsl(stored)
    for secret in (STRIPE, AWS, SLACK, OPENAI, BEARER):
        assert secret not in stored
    before, after = dict(_leaves(doc)), dict(_leaves(back))
    assert before.keys() == after.keys()  # same structure: same paths, same list lengths
    changed = {p for p in before if before[p] != after[p]}
    assert all(isinstance(after[p], str) and REDACTED in after[p] for p in changed)
    http = back["workflow"]["graph"]["nodes"][-1]["data"]
    assert http["authorization"]["config"]["api_key"] == REDACTED
    assert http["headers"] == f"X-Api-Key:{REDACTED}\nAccept:application/json\nAuthorization:Bearer {REDACTED}"
    env = {v["name"]: v["value"] for v in back["workflow"]["environment_variables"]}
    assert env == {"AWS_KEY": REDACTED, "REGION": "eu-west-1"}
    prompt = back["workflow"]["graph"]["nodes"][1]["data"]["prompt_template"][0]["text"]
    assert prompt == f"Post to Slack with token {REDACTED}.\nauthorization:\n  config: null"
    assert len(changed) == 4  # api_key, the headers text, the secret env value, the prompt


def test_template_references_and_placeholders_are_not_secrets():
    doc = _keyed_doc()
    http = doc["workflow"]["graph"]["nodes"][-1]["data"]
    http["authorization"]["config"]["api_key"] = "{{#env.API_KEY#}}"
    http["headers"] = "Authorization:Bearer {{#env.API_KEY#}}"
    doc["workflow"]["environment_variables"][0]["value"] = ""
    doc["workflow"]["graph"]["nodes"][1]["data"]["prompt_template"][0]["text"] = "hello"
    text = dump_dsl(doc)
    assert redact_dsl(text) == text


@pytest.mark.parametrize(("text", "expected"), [
    (f"my stripe key {STRIPE} ok", f"my stripe key {REDACTED} ok"),
    (f"aws {AWS}", f"aws {REDACTED}"),
    (f"slack {SLACK}.", f"slack {REDACTED}."),
    (f"slack xoxp-{'1' * 12}-abcdef", f"slack {REDACTED}"),
    (f"Authorization: Bearer {BEARER}", f"Authorization: Bearer {REDACTED}"),
    ("call it with api_key=abcdef123456&x=1", f"call it with api_key={REDACTED}&x=1"),
    ("API-KEY: 'zz9912xx44'", f"API-KEY: '{REDACTED}'"),
    (f"key {OPENAI}", f"key {REDACTED}"),
    ("authorization:\n  config: null", "authorization:\n  config: null"),
    ("api_key:\n  type: bearer", "api_key:\n  type: bearer"),
    ("Bearer\ntoken-on-the-next-line", "Bearer\ntoken-on-the-next-line"),
    ("password: {{#env.PASSWORD#}}", "password: {{#env.PASSWORD#}}"),
])
def test_prose_redaction_is_per_token_and_never_crosses_a_line(text, expected):
    assert redact(text) == expected


def test_docs_promise_what_redaction_does():
    promised = (ROOT / "docs" / "ledger.md").read_text(encoding="utf-8")
    for example in ("sk-...", "sk_live_...", "AKIA...", "xoxb-...", "Bearer ...", "api_key=..."):
        assert example in promised, example


PASTED = ("Fetch the open orders from https://api.shop.example.com/v1/orders with the header "
          f"Authorization: Bearer {STRIPE} and summarise them for the sales team.")


def test_refine_works_on_a_run_whose_workflow_has_an_authenticated_http_call(tmp_path, library_for_ledger):
    from core.pipeline import generate, refine

    settings = Settings(data_dir=tmp_path / "data", provider=ProviderConfig(kind="offline"))
    led = Ledger.open(settings)
    first = generate(PASTED, settings=settings, ledger=led, library=library_for_ledger, source="cli")
    assert first.status == "succeeded" and first.recorded
    # the run's workflow calls the API with a key (as a model brain or an edit in Dify writes it)
    dsl = copy.deepcopy(first.dsl)
    http = next(n["data"] for n in dsl["workflow"]["graph"]["nodes"] if n["data"]["type"] == "http-request")
    http["authorization"] = {"type": "api-key", "config": {"type": "bearer", "api_key": STRIPE, "header": ""}}
    http["headers"] = f"Accept:application/json\nX-Api-Key:{AWS}"
    led.record_workflow(first.run_id, yaml_text=dump_dsl(dsl), app_mode="workflow", valid=True, errors=0, warnings=0)
    stored = led.query("SELECT yaml_text FROM workflows WHERE run_id = ? ORDER BY version", [first.run_id])
    back = load_dsl(stored.iloc[-1]["yaml_text"])
    back_http = next(n["data"] for n in back["workflow"]["graph"]["nodes"] if n["data"]["type"] == "http-request")
    assert back_http["authorization"]["config"]["api_key"] == REDACTED
    assert back_http["headers"] == f"Accept:application/json\nX-Api-Key:{REDACTED}"
    child = refine(first.run_id, "also translate the summary to French", settings=settings, ledger=led,
                   library=library_for_ledger, source="cli")
    assert child.status == "succeeded", child.error_message
    assert child.recorded and validate(child.yaml_text).valid
    led.close()


def test_a_key_pasted_into_the_requirement_moves_to_a_secret_environment_variable(tmp_path, library_for_ledger):
    """The generated YAML (the file a user downloads) never carries the key; the result says where it went."""
    from core.pipeline import generate

    settings = Settings(data_dir=tmp_path / "data", provider=ProviderConfig(kind="offline"))
    result = generate(PASTED, settings=settings, ledger=None, library=library_for_ledger, source="cli")
    assert result.status == "succeeded"
    assert STRIPE not in result.yaml_text and STRIPE not in str(result.dsl)
    secrets = [v for v in result.dsl["workflow"]["environment_variables"] if v["value_type"] == "secret"]
    assert len(secrets) == 1 and secrets[0]["value"] == ""  # set in Dify; an export never carries it
    ref = f"{{{{#env.{secrets[0]['name']}#}}}}"
    assert ref in result.yaml_text
    warnings = [i.message for i in result.quality.issues if i.severity == "warning"]
    assert any(secrets[0]["name"] in m and "environment variable" in m for m in warnings), warnings
    assert validate(result.dsl).valid
