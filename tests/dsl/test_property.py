"""Property-based: random and half-broken structures never make the validator raise."""

from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.dsl import dump_dsl, load_dsl, validate
from tests.conftest import CORPUS_DIR
from tests.dsl.fixtures import chat_doc, with_iteration, workflow_doc

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=12),
                    st.sampled_from(["start", "llm", "end", "sys", "env", "source", "iteration", "{{#llm.text#}}"]))
trees = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8) | st.sampled_from(
        ["type", "data", "id", "nodes", "edges", "graph", "workflow", "app", "mode", "source", "target"]), inner,
        max_size=4)), max_leaves=20)
BASES = [workflow_doc(), chat_doc(), with_iteration(workflow_doc())] + [
    load_dsl(path.read_bytes()) for path in sorted(CORPUS_DIR.glob("*.yml"))]


def _assert_report(report) -> None:
    assert isinstance(report.findings, list)
    assert all(f.severity in ("error", "warning", "info") for f in report.findings)
    assert not [f for f in report.findings if f.code == "DSL999"], [f.message for f in report.findings]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees)
def test_random_trees_never_raise(tree):
    _assert_report(validate(tree))
    _assert_report(validate({"app": {"mode": "workflow"}, "workflow": tree}))


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _paths(child, (*prefix, i))


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(range(len(BASES))), st.data(), trees, st.booleans())
def test_documents_with_a_subtree_replaced_or_deleted_never_raise(base, data, replacement, delete):
    doc = copy.deepcopy(BASES[base])
    paths = [p for p in _paths(doc) if p]
    path = data.draw(st.sampled_from(paths))
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    _assert_report(validate(doc))
    try:
        text = dump_dsl(doc)
    except Exception:  # noqa: BLE001 - some random trees (e.g. NaN keys) are not dumpable; that is fine here
        return
    _assert_report(validate(text))
    assert validate(text).valid == validate(load_dsl(text)).valid


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_raise(blob):
    _assert_report(validate(blob))
