"""Content checks for the part-A curated patterns: metadata, validator cleanliness and working code/templates."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from pathlib import Path

import jinja2
import pytest

from core.dsl import load_dsl, validate

PATTERNS_DIR = Path(__file__).resolve().parents[2] / "patterns"

PART_A = [
    "document-summary",
    "multi-language-translation",
    "email-triage-classifier",
    "web-page-digest",
    "batch-list-generator",
    "sentiment-branching-reply",
    "structured-field-extraction",
    "text-stats-code-review",
    "meeting-notes-report",
    "rest-api-integration",
    "parallel-llm-merge",
    "json-list-filter-sort",
    "content-moderation-gate",
    "chat-intent-router",
]

COMPLEXITIES = {"simple", "moderate", "complex"}

# Sample inputs for every code node, keyed by (pattern id, node id); values in declared variable order.
CODE_SAMPLES = {
    ("web-page-digest", "html_to_text"): [
        "<html><head><title>Launch &amp; news</title><style>p{}</style></head>"
        "<body><nav>Menu</nav><p>We shipped   version 2.</p><script>track()</script></body></html>",
        200,
    ],
    ("batch-list-generator", "split_items"): ["- Eco Bottle\n2. Solar Lamp\n\n* eco bottle\n  Yoga Mat  "],
    ("structured-field-extraction", "validate_fields"): [
        "INV-2024-0042",
        "Acme GmbH",
        "2024-03-01",
        "2024-03-31",
        1249.5,
        "eur",
        "USD",
    ],
    ("text-stats-code-review", "text_stats"): [
        "The cat sat on the mat. It was happy!\n\nA second paragraph follows."
    ],
    ("meeting-notes-report", "parse_json"): [
        '```json\n{"summary": "Planning.", "decisions": ["Ship v2"], '
        '"action_items": [{"task": "Write docs", "owner": "Ana"}], "risks": ["Budget"]}\n```'
    ],
    ("json-list-filter-sort", "parse_orders"): [
        '[{"id": "A1", "amount": "$1,250.00"}, {"id": "A2", "amount": 90}, {"id": "A3", "total": 250}, {"id": "A4"}]'
    ],
    ("json-list-filter-sort", "pick_records"): [
        [{"id": "A1", "amount": 1250.0}, {"id": "A2", "amount": 90.0}, {"id": "A3", "amount": 250.0}],
        [1250.0, 250.0],
    ],
    ("content-moderation-gate", "scan_pii"): ["Call me at +1 415-555-0132 or mail joe@example.com"],
}

_PY_TYPES = {
    "string": str,
    "number": (int, float),
    "boolean": bool,
    "object": dict,
    "array[string]": list,
    "array[number]": list,
    "array[object]": list,
    "array[boolean]": list,
}


@pytest.fixture(scope="session")
def patterns() -> dict[str, dict]:
    """Every part-A pattern file, parsed once."""
    loaded = {}
    for slug in PART_A:
        path = PATTERNS_DIR / f"{slug}.yaml"
        assert path.is_file(), f"missing pattern file {path}"
        doc = load_dsl(path.read_text(encoding="utf-8"))
        assert isinstance(doc, dict), f"{path.name} does not parse into a mapping"
        loaded[slug] = doc
    return loaded


@pytest.fixture(scope="session")
def reports(patterns) -> dict:
    return {slug: validate(doc["dsl"]) for slug, doc in patterns.items()}


def _nodes(doc: dict) -> list[dict]:
    return doc["dsl"]["workflow"]["graph"]["nodes"]


def _load_main(doc: dict, node_id: str) -> tuple[dict, Callable]:
    """The code node's data and its compiled ``main`` function."""
    node = next(n for n in _nodes(doc) if n["id"] == node_id)
    namespace: dict = {}
    exec(compile(node["data"]["code"], f"<{node_id}>", "exec"), namespace)  # noqa: S102 - pattern code under test
    return node["data"], namespace["main"]


def _run_code(doc: dict, node_id: str, args: list) -> tuple[dict, dict]:
    data, main = _load_main(doc, node_id)
    return data, main(*args)


@pytest.mark.parametrize("slug", PART_A)
def test_metadata_is_complete_and_consistent(patterns, slug):
    meta = patterns[slug]["metadata"]
    dsl = patterns[slug]["dsl"]
    assert meta["id"] == slug
    assert meta["name"].strip()
    assert len(meta["description"].split()) >= 25, "description should be 2-4 informative sentences"
    assert 3 <= len(meta["use_cases"]) <= 5 and all(u.strip() for u in meta["use_cases"])
    assert meta["tags"] and all(t.strip() for t in meta["tags"])
    assert meta["complexity"] in COMPLEXITIES
    assert meta["mode"] == dsl["app"]["mode"]
    assert dsl["version"] == "0.6.0" and dsl["kind"] == "app"


@pytest.mark.parametrize("slug", PART_A)
def test_validator_reports_no_error_and_no_warning(reports, slug):
    report = reports[slug]
    problems = [
        f"{f.code} {f.severity} {f.node_id}: {f.message}"
        for f in report.findings
        if f.severity in ("error", "warning")
    ]
    assert problems == []
    assert report.app_mode == ("advanced-chat" if slug == "chat-intent-router" else "workflow")


@pytest.mark.parametrize("slug", PART_A)
def test_node_ids_are_template_safe_and_unique(patterns, slug):
    ids = [n["id"] for n in _nodes(patterns[slug])]
    assert len(ids) == len(set(ids))
    assert all(i.replace("_", "").isalnum() and i == i.lower() for i in ids), ids


@pytest.mark.parametrize(("slug", "node_id"), sorted(CODE_SAMPLES))
def test_code_nodes_run_and_return_their_declared_outputs(patterns, slug, node_id):
    data, main = _load_main(patterns[slug], node_id)
    assert [v["variable"] for v in data["variables"]] == list(inspect.signature(main).parameters), (
        "main() parameters must match the node variables"
    )
    result = main(*CODE_SAMPLES[(slug, node_id)])
    assert set(result) == set(data["outputs"])
    for name, spec in data["outputs"].items():
        value = result[name]
        expected = _PY_TYPES[spec["type"]]
        assert isinstance(value, expected), f"{name}: {type(value).__name__} is not {spec['type']}"
        if spec["type"] == "number":
            assert not isinstance(value, bool)


def test_every_code_node_has_a_sample(patterns):
    code_nodes = {
        (slug, n["id"]) for slug, doc in patterns.items() for n in _nodes(doc) if n["data"]["type"] == "code"
    }
    assert code_nodes == set(CODE_SAMPLES)


def test_code_behaviour(patterns):
    _, page = _run_code(
        patterns["web-page-digest"], "html_to_text", CODE_SAMPLES[("web-page-digest", "html_to_text")]
    )
    assert page["page_title"] == "Launch & news"
    assert page["page_text"] == "We shipped version 2."
    _, failed = _run_code(patterns["web-page-digest"], "html_to_text", ["", 404])
    assert "404" in failed["page_text"]

    _, items = _run_code(
        patterns["batch-list-generator"], "split_items", CODE_SAMPLES[("batch-list-generator", "split_items")]
    )
    assert items == {"items": ["Eco Bottle", "Solar Lamp", "Yoga Mat"], "item_count": 3}

    _, invoice = _run_code(
        patterns["structured-field-extraction"],
        "validate_fields",
        CODE_SAMPLES[("structured-field-extraction", "validate_fields")],
    )
    assert invoice["is_valid"] and invoice["invoice"]["currency"] == "EUR"
    _, bad = _run_code(
        patterns["structured-field-extraction"],
        "validate_fields",
        ["", "Acme", "2024-03-31", "2024-03-01", -5, "", "usd"],
    )
    assert not bad["is_valid"] and len(bad["issues"]) == 3

    _, stats = _run_code(
        patterns["text-stats-code-review"],
        "text_stats",
        CODE_SAMPLES[("text-stats-code-review", "text_stats")],
    )
    assert (stats["word_count"], stats["sentence_count"], stats["paragraph_count"]) == (13, 3, 2)

    _, meeting = _run_code(patterns["meeting-notes-report"], "parse_json", ["not json at all"])
    assert meeting["parsed_ok"] is False and meeting["decisions"] == []

    _, parsed = _run_code(
        patterns["json-list-filter-sort"],
        "parse_orders",
        CODE_SAMPLES[("json-list-filter-sort", "parse_orders")],
    )
    assert parsed["amounts"] == [1250.0, 90.0, 250.0] and "1 record" in parsed["error"]
    _, picked = _run_code(
        patterns["json-list-filter-sort"],
        "pick_records",
        CODE_SAMPLES[("json-list-filter-sort", "pick_records")],
    )
    assert [o["id"] for o in picked["top_orders"]] == ["A1", "A3"] and picked["top_total"] == 1500.0

    _, clean = _run_code(
        patterns["content-moderation-gate"], "scan_pii", ["Nice update, v2.3.4 shipped 2024-05-01"]
    )
    assert clean["pii_count"] == 0
    _, pii = _run_code(
        patterns["content-moderation-gate"], "scan_pii", ["Card 4111 1111 1111 1111, SSN 123-45-6789"]
    )
    assert pii["pii_types"] == ["payment card number", "US social security number"]


def test_templates_render(patterns):
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    nodes = {
        (slug, n["id"]): n["data"]
        for slug, doc in patterns.items()
        for n in _nodes(doc)
        if n["data"]["type"] == "template-transform"
    }
    report = env.from_string(nodes[("meeting-notes-report", "render_report")]["template"]).render(
        title="Sync",
        date="2024-05-01",
        summary="Short.",
        decisions=["Ship v2"],
        parsed_ok=True,
        action_items=[{"task": "Docs", "owner": "Ana", "due": "Friday"}],
        risks=[{"risk": "Budget", "mitigation": "Cut"}],
    )
    for section in ("## Decisions", "## Action Items", "## Risks", "| 1 | Docs | Ana | Friday |"):
        assert section in report
    blocked = json.loads(
        env.from_string(nodes[("content-moderation-gate", "blocked_result")]["template"]).render(
            verdict="approve", violation="none", reason="Fine.", pii_types=["email address"]
        )
    )
    assert blocked["status"] == "blocked" and blocked["violation"] == "personal_data"
    approved = json.loads(
        env.from_string(nodes[("content-moderation-gate", "approved_result")]["template"]).render(
            reason='Polite "criticism".'
        )
    )
    assert approved == {"status": "approved", "violation": "none", "reason": 'Polite "criticism".'}
    table = env.from_string(nodes[("batch-list-generator", "format_table")]["template"]).render(
        products=["Mug", "Mat"], slogans=["Sip happy.", "Stretch more."]
    )
    assert "| Mat | Stretch more. |" in table


def test_part_a_covers_its_node_types(patterns):
    used = {n["data"]["type"] for doc in patterns.values() for n in _nodes(doc)}
    assert {
        "start",
        "end",
        "answer",
        "llm",
        "question-classifier",
        "if-else",
        "code",
        "template-transform",
        "http-request",
        "variable-aggregator",
        "parameter-extractor",
        "iteration",
        "document-extractor",
        "list-operator",
    } <= used
