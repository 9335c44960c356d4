"""YAML io: the fast loader equals yaml.safe_load, refuses oversize content and alias bombs, dumps like Dify."""

from __future__ import annotations

import datetime

import pytest
import yaml

from core.dsl import MAX_DSL_BYTES, DSLLoadError, dump_dsl, load_dsl
from core.errors import InputError
from tests.dsl.test_rules import BOMB

TRICKY = [
    "version: 0.6", "version: 0.6.0", "a: 1e3", "a: 1.0e+3", "a: 6.8523015e+5", "a: 0o17", "a: 017", "a: 0x1F",
    "a: 0b101", "a: 1_000", "a: +12", "a: -0", "a: 190:20:30", "a: .inf", "a: -.Inf", "a: .NaN", "a: ~", "a: null",
    "a: Null", "a:", "a: yes", "a: No", "a: on", "a: OFF", "a: y", "a: true", "a: False", "a: 2002-12-14",
    "a: 2001-12-14t21:59:43.10-05:00", "a: 2001-12-14 21:59:43.10", "a: '1'", 'a: "true"', "a: !!str 12",
    "a: !!int '7'", "a: !!float 3", "a: |\n  text\n  more\n", "a: >-\n  folded\n  text\n", "a: [1, two, 3.0]",
    "x: &anchor {b: 1}\nc:\n  <<: *anchor\n  d: 2", "x: &a [1, 2]\ny: *a", "- 1\n- 2", "plain", "", "? complex\n: v",
    "a: !!binary aGVsbG8=", "a: !!set {x, y}", "a: 0.", "a: .5", "a: 12:30", "a: 中文", "a: =",
]


@pytest.mark.parametrize("text", TRICKY)
def test_loader_matches_safe_load(text):
    try:
        expected = yaml.safe_load(text)
    except yaml.YAMLError:
        with pytest.raises(DSLLoadError):
            load_dsl(text)
        return
    got = load_dsl(text)
    assert got == expected or (got != got and expected != expected)  # NaN != NaN
    assert type(got) is type(expected)
    if isinstance(expected, dict):
        assert [type(v) for v in got.values()] == [type(v) for v in expected.values()]


def test_yaml_1_1_scalars():
    doc = load_dsl("v: 0.6\nb: on\nd: 2024-01-02\nn: ~\ns: '0.6'")
    assert doc == {"v": 0.6, "b": True, "d": datetime.date(2024, 1, 2), "n": None, "s": "0.6"}


def test_bytes_and_bom():
    assert load_dsl("a: ü".encode()) == {"a": "ü"}
    assert load_dsl("\ufeffa: 1".encode("utf-16")) == {"a": 1}


def test_refuses_over_10_mb():
    with pytest.raises(DSLLoadError, match="10 MB"):
        load_dsl("a: " + "x" * MAX_DSL_BYTES)


def test_refuses_alias_bomb_quickly():
    with pytest.raises(DSLLoadError, match="alias bomb") as info:
        load_dsl(BOMB)
    assert isinstance(info.value, InputError) and info.value.hint


def test_bomb_with_merge_key_is_refused_before_pyyaml_expands_it():
    with pytest.raises(DSLLoadError, match="alias bomb"):
        load_dsl(BOMB + "z:\n  <<: {k: 1}\n")


@pytest.mark.parametrize("text", ["a: [", "a: b: c", "{[1]: 2}", "a: *nope", "---\na\n---\nb", b"\x00\xff\xfe"])
def test_broken_yaml_gives_a_clear_error(text):
    with pytest.raises(DSLLoadError) as info:
        load_dsl(text)
    assert info.value.message and info.value.hint


def test_dump_is_dify_shape():
    text = dump_dsl({"workflow": {"graph": {}}, "version": "0.6.0", "app": {"name": "中文", "mode": "workflow"}, "kind": "app"})
    assert [line for line in text.splitlines() if not line.startswith(" ")] == ["app:", "kind: app", "version: 0.6.0", "workflow:"]
    assert "中文" in text
    shared = {"k": 1}
    assert "&" not in dump_dsl({"a": shared, "b": shared})


@pytest.mark.parametrize("text", ["[" * 100_000, "a: " + "{b: " * 5000 + "1" + "}" * 5000,
                                  "x: &a " + "[" * 20_000 + "]" * 20_000 + "\ny:\n  <<: {k: 1}"])
def test_refuses_absurd_nesting_quickly(text):
    with pytest.raises(DSLLoadError, match="levels deep") as info:
        load_dsl(text)
    assert info.value.kind == "nesting"


def test_error_kinds():
    with pytest.raises(DSLLoadError) as info:
        load_dsl(BOMB)
    assert info.value.kind == "bomb"
    with pytest.raises(DSLLoadError) as info:
        load_dsl("a: [")
    assert info.value.kind == "syntax"


@pytest.mark.parametrize("text", ["x: !!bool right", "x: !!timestamp 688", "x: !!int abc", "x: !!float zz",
                                  "app: !!bool maybe\nversion: 0.6.0", "a: !!timestamp 2001-99-99",
                                  "a: [!!bool 'nope']", "a: !!python/name:os.system ''"])
def test_explicit_tags_whose_value_does_not_fit_are_load_errors(text):
    with pytest.raises(DSLLoadError) as info:
        load_dsl(text)
    assert info.value.kind == "syntax"
    from core.dsl import validate

    report = validate(text)
    assert [f.code for f in report.findings] == ["DSL001"], report.findings
