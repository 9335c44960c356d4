"""Calculations the requirement asks for, done in code: a value (a number input, days or whole years
between dates, working days, a BMI) and the bands it falls into ("underweight below 18.5, normal below
25 ... obese otherwise", "低于 18.5 为偏瘦"). The thresholds become Python literals in the code, the
outputs are the names the user gave. Cue words come from the lexicons (``calc_*``).
"""

from __future__ import annotations

import json
import re
from itertools import pairwise

from pydantic import BaseModel, Field

from core.agents import lexicon as lx
from core.agents.code_recipes import CodeRecipe
from core.agents.ir import env_constants
from core.agents.models import RequirementSpec

CALC_PREFIX = "calc:"
"""Label prefix of a code step that computes a ``Calculation`` (its JSON follows)."""
NUMBER = r"(-?\d+(?:\.\d+)?)"
NOT_LABELS = {"if", "when", "is", "are", "it", "and", "or", "the", "than", "be", "was", "of", "to", "anything", "value",
              "number", "score", "days", "years", "that", "those", "rest", "ones", "with", "for"}


class Band(BaseModel):
    """``label`` when the value ``op`` ``value`` holds (checked in order); ``op`` None: the rest."""

    label: str
    op: str | None = None
    value: float = 0.0
    high: float | None = None
    """With ``op`` ``≥``: a closed range ``value``..``high``."""


class Calculation(BaseModel):
    """What one code step computes: the value, from which inputs, and the bands it is put into."""

    kind: str = Field(description="number | days | years | working_days | bmi | formula")
    inputs: list[str] = Field(default_factory=list, description="start variable names read, in order")
    value_name: str = "value"
    band_name: str | None = None
    bands: list[Band] = Field(default_factory=list)
    holidays_env: str | None = None
    expression: str | None = None
    """kind ``formula``: the value as a Python expression over the inputs (written by :func:`formula`)."""
    rounding: str | None = None
    """``floor``, ``ceil`` or ``round:N`` (N decimals)."""
    condition: str | None = None
    """The threshold the formula applies under (``cart_total >= 100``), taken into the code."""


def _date_inputs(spec: RequirementSpec) -> list[str]:
    """Text inputs that hold a date: by name (``start_date``), label, or the words right after the name (``(a date)``)."""
    text = spec.requirement

    def near(name: str) -> str:
        at = text.find(name)
        return text[at + len(name):at + len(name) + 14] if at >= 0 else ""

    return [i.name for i in spec.inputs if i.type in ("text-input", "paragraph")
            and (re.search(r"date|day|_on$|_at$", i.name) or lx.has(i.label, "calc_date") or lx.has(near(i.name), "calc_date"))]


RANGE = re.compile(rf"{NUMBER}\s*(?:分|点|points?)?\s*(?:-|–|~|～|〜|到|至|から|to)\s*{NUMBER}|\bbetween\s+{NUMBER}\s+and\s+{NUMBER}", re.I)
"""A closed range of values: ``60-89``, ``60到89分``, ``60～89``, ``70から79``, ``between 60 and 89``."""
BAND_CLAUSE = re.compile(r"[，,；;。、\n]|\.(?:\s|$)")
LABEL_AFTER = re.compile(r"^\s*(?:的|は|なら|の場合は?|で|時|时)?\s*[，,、:：]?\s*(?:(?:then\s+)?(?:it|this|that|they|the result)\s+)?(?:为|是|算|属于|输出|返回|记为|评为|定为|则为|就是|とし|と判定|is|are|=|→|->|:|means|counts as|gets?|is rated)?"
                         r"\s*[「『“\"']?([\u3040-\u30ff\u4e00-\u9fff]{1,8}|[A-Za-z][\w-]*)", re.I)
LABEL_BEFORE = re.compile(r"([A-Za-z][\w-]*)\s+(?:if\s+|when\s+|is\s+|for\s+)?(?:the\s+)?(?:value\s+|score\s+)?(?:is\s+)?$", re.I)
REST = re.compile(r"otherwise|for the rest|anything else|else|否则|其余|其他|其它|剩下|それ以外|その他|残り", re.I)


def _label(clause: str, start: int, end: int) -> str | None:
    """The band's name in its clause: a quoted word, else the word after the comparison (``60分以下为不及格``,
    ``below 18.5 is underweight``), else the English word before it (``underweight below 18.5``)."""
    from core.agents.conditions import quoted

    said = [q for q in quoted(clause, 40) if q.strip()]
    if said:
        return said[0].strip()
    after = LABEL_AFTER.match(re.sub(r"^\s*(?:分|点|元|歳|岁|points?)", "", clause[end:]))
    if after and after.group(1).lower() not in NOT_LABELS and not lx.has(after.group(1), "cond_word"):
        return after.group(1)
    before = LABEL_BEFORE.search(clause[:start])
    if before and before.group(1).lower() not in NOT_LABELS and not lx.has(before.group(1), "cond_word"):
        return before.group(1)
    return None


def bands(text: str) -> list[Band]:
    """The bands a value is put into, in the order to check them: per clause a comparison (the lexicons'
    comparison words in every language: ``below 18.5``, ``90分及以上``, ``10 未満``) or a range (``60到89分``),
    with the label the clause gives it; then the rest (``otherwise obese``, ``其余为…``, ``それ以外は…``).
    Bands of one direction are ordered so the first that holds is right (``≥60 pass, ≥90 excellent``)."""
    from core.agents.conditions import comparisons

    found: list[Band] = []
    rest: str | None = None
    for clause in BAND_CLAUSE.split(text):
        span = RANGE.search(clause)
        comps = comparisons(clause)
        if span and not any(s < span.start() < e for s, e, _, _ in comps):
            low, high = [float(g) for g in span.groups() if g is not None][:2]
            name = _label(clause, span.start(), span.end())
            if name:
                found.append(Band(label=name, op="≥", value=min(low, high), high=max(low, high)))
            continue
        if comps:
            s, e, op, value = comps[0]
            name = _label(clause, s, e)
            if name:
                found.append(Band(label=name, op=op, value=float(value)))
            continue
        other = REST.search(clause)
        if other and found and rest is None:
            name = _label(clause, other.start(), other.end()) or _label(clause[:other.start()], other.start(), other.start())
            rest = name
    if not found:
        return []
    if all(b.op in (">", "≥") and b.high is None for b in found):
        found.sort(key=lambda b: -b.value)
    elif all(b.op in ("<", "≤") for b in found):
        found.sort(key=lambda b: b.value)
    labels = {b.label for b in found}
    if rest and rest not in labels:
        found.append(Band(label=rest))
    return found if len(found) >= 2 else []


PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*(?:%|％|\s?percent\b|\s?per\s?cent\b|パーセント)|百分之\s*(\d+(?:\.\d+)?)", re.I)
FOLD = re.compile(r"打\s*(\d+(?:\.\d+)?|[一二三四五六七八九])\s*折")
"""``打八折`` / ``打85折``: pay 80% / 85% of the price."""
CONVERSIONS = {("celsius", "fahrenheit"): "{x} * 9 / 5 + 32", ("fahrenheit", "celsius"): "({x} - 32) * 5 / 9",
               ("km", "mile"): "{x} * 0.621371", ("mile", "km"): "{x} * 1.609344",
               ("cm", "inch"): "{x} / 2.54", ("inch", "cm"): "{x} * 2.54",
               ("kg", "lb"): "{x} * 2.20462", ("lb", "kg"): "{x} * 0.453592"}
"""Unit conversions: (from, to) -> expression; the unit words are the lexicons' ``unit_*`` cues."""
OPS = {">": ">", "≥": ">=", "<": "<", "≤": "<="}


def _conversion(text: str, x: str) -> str | None:
    """The conversion of ``x`` the text asks for: the unit said first is the one converted from."""
    said = sorted((m.start(), unit) for unit in {u for pair in CONVERSIONS for u in pair}
                  if (m := lx.find(text, f"unit_{unit}")))
    for (_, a), (_, b) in pairwise(said):
        if (a, b) in CONVERSIONS:
            return CONVERSIONS[(a, b)].format(x=x)
    return None


def _rounding(text: str) -> str | None:
    if lx.has(text, "calc_floor"):
        return "floor"
    if lx.has(text, "calc_ceil"):
        return "ceil"
    from core.agents.conditions import cjk_number

    places = re.search(r"([\d一二两三四])\s*(?:decimal|位小数|桁)|(?:保留|小数点以下)\s*([\d一二两三四])", text, re.I)
    if places:
        return f"round:{cjk_number(places.group(1) or places.group(2), 0)}"
    return "round:0" if lx.has(text, "calc_round") else None


def formula(text: str, numbers: list[str]) -> tuple[str, str | None, str | None] | None:
    """The arithmetic the text asks of its number inputs, as (expression, rounding, condition), or None:
    a percentage of, off or on a value (``5% of amount``, ``10% off when it is 100 or more``, ``打八折``,
    ``税込``), a rate given as an input (``price`` and ``rate``), a unit conversion, or the four operations
    and the mean of the inputs. Cues come from the lexicons (``calc_*``, ``unit_*``)."""
    if not numbers:
        return None
    rate = next((n for n in numbers if lx.has(n.replace("_", " "), "calc_rate") or re.search(r"rate|pct|percent", n, re.I)), None)
    base = next((n for n in numbers if n != rate), None)
    x = base or numbers[0]
    off, plus = lx.has(text, "calc_off"), lx.has(text, "calc_plus")
    expr = _conversion(text, x)
    pct = PERCENT.search(text)
    fold = FOLD.search(text)
    if expr is None and fold:
        from core.agents.conditions import cjk_number

        raw = fold.group(1)
        n = float(raw) if "." in raw else cjk_number(raw, 10)
        expr = f"{x} * {n / 10 if n < 10 else n / 100}"
    elif expr is None and pct:
        p = float(pct.group(1) or pct.group(2)) / 100
        expr = f"{x} * (1 - {p})" if off else f"{x} * (1 + {p})" if plus else f"{x} * {p}"
    elif expr is None and rate and base:
        r = f"({rate} / 100 if {rate} > 1 else {rate})"  # 8 or 0.08: either way a rate
        expr = f"{base} * (1 - {r})" if off else f"{base} * (1 + {r})" if plus else f"{base} * {r}"
    elif expr is None and len(numbers) >= 2:
        a, b = numbers[0], numbers[1]
        if lx.has(text, "calc_mean"):
            expr = f"({' + '.join(numbers)}) / {len(numbers)}"
        elif lx.has(text, "calc_quotient"):
            expr = f"({a} / {b} if {b} else 0.0)"
        elif lx.has(text, "calc_product"):
            expr = f"{a} * {b}"
        elif lx.has(text, "calc_difference"):
            expr = f"{a} - {b}"
        elif lx.has(text, "calc_sum"):
            expr = " + ".join(numbers)
    if expr is None:
        return None
    condition = None
    if pct or fold:
        from core.agents.conditions import comparisons

        said = pct or fold
        bounds = [0, *(m.end() for m in re.finditer(r"[。；;\n]|\.\s", text)), len(text)]
        sentence = text[max(b for b in bounds if b <= said.start()):min(b for b in bounds if b > said.start())]
        comps = [c for c in comparisons(sentence) if c[3] != said.group(1)]  # the threshold, not the percentage
        if comps:
            _, _, op, value = comps[0]
            condition = f"{x} {OPS[op]} {value}"
            expr = f"({expr}) if {condition} else {x if off or plus or fold else 0.0}"
    return expr, _rounding(text), condition


def plan(spec: RequirementSpec) -> Calculation | None:
    """The calculation the requirement asks for, or None when it asks for none this module can write."""
    text = " ".join(spec.requirement.split())
    numbers = [i.name for i in spec.inputs if i.type == "number"]
    dates = _date_inputs(spec)
    outs = [o.name for o in spec.outputs if o.explicit]
    if lx.has(text, "calc_bmi") and len(numbers) >= 2:
        kind, inputs = "bmi", numbers[:2]
    elif lx.has(text, "calc_working_days") and dates:
        kind, inputs = "working_days", dates[:2]
    elif lx.has(text, "calc_years") and dates:
        kind, inputs = "years", dates[:1]
    elif lx.has(text, "calc_days") and dates:
        kind, inputs = "days", dates[:2]
    elif len(numbers) == 1 and len(bands(text)) > (2 if spec.gate else 1):
        kind, inputs = "number", numbers  # one threshold and the rest is the gate's if-else, not a calculation
    elif (made := formula(text, numbers)) and outs:
        expression, rounding, condition = made
        return Calculation(kind="formula", inputs=numbers, value_name=outs[0], expression=expression,
                           rounding=rounding, condition=condition)
    else:
        return None
    found = bands(text)
    band_out = next((o for o in outs if lx.has(o.replace("_", " "), "calc_band_name")), None)
    stems = {"bmi": "bmi", "days": "day", "working_days": "day", "years": "year"}
    value_out = next((o for o in outs if o != band_out and stems.get(kind, "\0") in o.lower()), None)
    if spec.no_model:  # the code computes every output: the first one that is not the band is the value
        value_out = value_out or next((o for o in outs if o != band_out), None)
    else:
        band_out = band_out if found else None
        found = found if band_out else []
    if found and not band_out and len(outs) >= 2:
        band_out = next(o for o in outs if o != value_out)
    env = env_constants(text)
    return Calculation(kind=kind, inputs=inputs, value_name=value_out or {"bmi": "bmi", "number": "value"}.get(kind, kind),
                       band_name=band_out or ("category" if found else None), bands=found,
                       holidays_env=env[0] if env and kind in ("working_days", "days") else None)


def label(calc: Calculation) -> str:
    return CALC_PREFIX + calc.model_dump_json()


def outputs(calc: Calculation) -> dict[str, str]:
    """The code step's outputs (name -> Dify type)."""
    out = {calc.value_name: "number"}
    if calc.bands and calc.band_name:
        out[calc.band_name] = "string"
    return out


_VALUE = {
    "number": "    value = _number({a})\n",
    "bmi": "    weight, height = _number({a}), _number({b})\n"
           "    if height > 3:  # centimetres\n        height = height / 100\n"
           "    value = round(weight / (height * height), 1) if height else 0.0\n",
    "days": "    start = _date({a})\n    end = _date({b}) if {two} else datetime.date.today()\n"
            "    value = abs((end - start).days) if start and end else 0\n",
    "years": "    start, today = _date({a}), datetime.date.today()\n"
             "    value = (today.year - start.year - ((today.month, today.day) < (start.month, start.day))) if start else 0\n",
    "working_days": "    start = _date({a})\n    end = _date({b}) if {two} else datetime.date.today()\n"
                    "    days_off = {{_date(d) for d in str(holidays or '').split(',') if d.strip()}}\n    value = 0\n"
                    "    if start and end:\n        if end < start:\n            start, end = end, start\n"
                    "        day = start\n        while day <= end:\n"
                    "            if day.weekday() < 5 and day not in days_off:\n                value += 1\n"
                    "            day += datetime.timedelta(days=1)\n",
}


def _formula_value(calc: Calculation) -> str:
    """The code lines of a formula: each input read as a number, the expression, its rounding."""
    lines = [f"    {n} = _number({n})\n" for n in calc.inputs]
    lines.append(f"    value = {calc.expression}\n")
    if calc.rounding == "floor":
        lines.append("    value = math.floor(value)\n")
    elif calc.rounding == "ceil":
        lines.append("    value = math.ceil(value)\n")
    elif calc.rounding:
        places = int(calc.rounding.split(":")[1])
        lines.append(f"    value = round(value, {places})\n" if places else "    value = round(value)\n")
    return "".join(lines)


def recipe(text: str) -> CodeRecipe:
    """Runnable Dify code for a ``calc:{...}`` label: ``main(<inputs>) -> {value, band}``."""
    calc = Calculation.model_validate(json.loads(text.removeprefix(CALC_PREFIX)))
    names = calc.inputs or ["value"]
    a, b = names[0], names[1] if len(names) > 1 else names[0]
    ops = {**OPS, None: None}
    table = ",\n".join(f"    ({b_.label!r}, {ops[b_.op]!r}, {b_.value!r}, {b_.high!r})" for b_ in calc.bands)
    env = (f"# holidays: the environment variable {calc.holidays_env} (comma-separated YYYY-MM-DD dates)\n"
           if calc.holidays_env else "")
    code = f'''import datetime
import math
import re
{env}BANDS = [
{table}
]


def _number(text) -> float:
    match = re.search(r"-?\\d+(?:\\.\\d+)?", str(text or ""))
    return float(match.group(0)) if match else 0.0


def _date(text):
    match = re.search(r"(\\d{{4}})\\D(\\d{{1,2}})\\D(\\d{{1,2}})", str(text or ""))
    if not match:
        return None
    try:
        return datetime.date(*(int(g) for g in match.groups()))
    except ValueError:
        return None


def _band(value):
    for name, op, limit, high in BANDS:
        if high is not None and not value <= high:
            continue  # a range: limit..high
        if op is None or (op == "<" and value < limit) or (op == "<=" and value <= limit) or (
                op == ">" and value > limit) or (op == ">=" and value >= limit):
            return name
    return BANDS[-1][0] if BANDS else ""


def main({", ".join(f"{n}: str" for n in names)}{", holidays: str = ''" if calc.holidays_env or calc.kind == "working_days" else ""}) -> dict:
{_formula_value(calc) if calc.kind == "formula" else _VALUE[calc.kind].format(a=a, b=b, two=len(names) > 1)}    return {{{calc.value_name!r}: value{f", {calc.band_name!r}: _band(value)" if calc.bands and calc.band_name else ""}}}
'''
    return CodeRecipe(text, "Compute", names[0], outputs(calc), code)


def bindings(text: str) -> list[tuple[str, str]]:
    """(parameter, reference) pairs of a ``calc:{...}`` code step: the start inputs, then the holidays variable."""
    calc = Calculation.model_validate(json.loads(text.removeprefix(CALC_PREFIX)))
    pairs = [(n, f"start.{n}") for n in calc.inputs]
    return pairs + ([("holidays", f"env.{calc.holidays_env}")] if calc.holidays_env else [])


JSON_CHECK_PREFIX = "jsoncheck:"
"""Label prefix of a code step that checks a model's JSON: it parses and has the keys that follow (comma-separated)."""


def json_keys(text: str) -> list[str]:
    """The keys a JSON object must have: ``a JSON object with name, price and tags`` / ``包含 name、price 和 tags 的 JSON``."""
    from core.agents.rules import split_list

    m = (re.search(r"json\b[^.;:]{0,30}?\b(?:with|containing|having|keys?|fields?)\s+([^.;:]+)", text, re.I)
         or re.search(r"(?:包含|含有|带有|キー)\s*([A-Za-z_][\w、，,和与 ]+)", text))
    if not m:
        return []
    items = re.split(r"\s*(?:,|、|，|和|与|\band\b|\bor\b)\s*", m.group(1))
    keys = [i.strip() for i in items if re.fullmatch(r"[A-Za-z_]\w*", i.strip() or "-")]
    return keys if keys else [k for k in split_list(m.group(1)) if re.fullmatch(r"[A-Za-z_]\w*", k)]


def body_keys(text: str) -> list[str]:
    """Keys of a JSON body the user spelled out with placeholders: ``{"sql": "..."}`` -> ``['sql']``."""
    return re.findall(r'"(\w+)"\s*:\s*"(?:\.\.\.|…|<[^>]*>|\{[^}]*\})"', text)


def error_marker(text: str) -> str:
    """What marks a failed response: the quoted field the user names near an error cue (``an "error" field``)."""
    from core.agents.conditions import quoted

    found = [q for q in quoted(text, 30) if re.search(r"err|fail|错误|エラー", q, re.I)]
    return found[0] if found else "error"


def json_check(label: str) -> CodeRecipe:
    """Code that checks a model's JSON answer: ``ok`` 1/0, the ``error`` to send back, the parsed ``json``."""
    keys = [k for k in label.removeprefix(JSON_CHECK_PREFIX).split(",") if k]
    code = f'''import json
import re

KEYS = {keys!r}


def main(text: str) -> dict:
    body = re.sub(r"^```(?:json)?|```$", "", (text or "").strip(), flags=re.MULTILINE).strip()
    try:
        value = json.loads(body)
    except ValueError as exc:
        return {{"ok": 0, "error": f"The answer is not valid JSON: {{exc}}", "json": ""}}
    if not isinstance(value, dict):
        return {{"ok": 0, "error": "The answer must be one JSON object.", "json": body}}
    missing = [key for key in KEYS if key not in value]
    if missing:
        return {{"ok": 0, "error": "Missing key(s): " + ", ".join(missing), "json": body}}
    return {{"ok": 1, "error": "", "json": json.dumps(value, ensure_ascii=False)}}
'''
    return CodeRecipe(label, "Check the JSON", "text", {"ok": "number", "error": "string", "json": "string"}, code)


SPLIT_PREFIX = "split:"
"""Label prefix of a code step that splits a text into units (``split:paragraph``, ``split:line``, ``split:sentence``)."""


def split_recipe(label: str) -> CodeRecipe:
    """Code that splits a text into paragraphs (at blank lines), lines or sentences, keeping their order."""
    unit = label.removeprefix(SPLIT_PREFIX)
    pattern = {"paragraph": r"\n\s*\n", "line": r"\n", "sentence": r"(?<=[.!?。！？])\s*"}.get(unit, r"\n\s*\n")
    code = f'''import re


def main(text: str) -> dict:
    parts = [part.strip() for part in re.split({pattern!r}, str(text or "")) if part.strip()]
    return {{"items": parts or [str(text or "")]}}
'''
    return CodeRecipe(label, "Split the text", "text", {"items": "array[string]"}, code)


MATCH_PREFIX = "match:"
"""Label prefix of a code step that looks for text shaped like a pattern (the regex follows)."""


def match_recipe(label: str) -> CodeRecipe:
    """Code that finds the first match of the pattern: ``found`` 1/0 and the ``match`` itself."""
    pattern = label.removeprefix(MATCH_PREFIX)
    code = f'''import re

PATTERN = re.compile({pattern!r})


def main(text: str) -> dict:
    match = PATTERN.search(str(text or ""))
    return {{"found": 1 if match else 0, "match": match.group(0) if match else ""}}
'''
    return CodeRecipe(label, "Find the pattern", "text", {"found": "number", "match": "string"}, code)
