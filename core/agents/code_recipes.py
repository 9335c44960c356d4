"""Python code for code steps, chosen by what the step must do (the offline brain writes no code freely).

Each recipe is real, runnable Dify code-node code: ``main(<input>) -> dict`` returning exactly the
declared outputs. A recipe never raises on a well-typed input: whatever it is given (a string, a
number, a list of strings or of records from an iteration or a file list, an object) it coerces with
the ``_text`` / ``_items`` helpers of ``COERCE`` (a list is joined one item a line, JSON is parsed
only from a string). ``typed`` writes the signature for the types the compiler knows its inputs have.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

COERCE = '''

def _text(value) -> str:
    """Any input as text: a list one item a line, an object as JSON, nothing as empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return "\\n".join(_text(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _items(value) -> list:
    """Any input as a list: a list as it is, JSON parsed from text, else one item per non-empty line."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, dict):
        lists = [v for v in value.values() if isinstance(v, list)]
        return lists[0] if lists else [value]
    if not isinstance(value, str):
        return [value]
    text = value.strip()
    if text[:1] in ("[", "{"):
        try:
            return _items(json.loads(text))
        except ValueError:
            pass
    return [line.strip() for line in text.splitlines() if line.strip()]
'''
"""The coercion helpers every recipe's code carries (``import json`` is on the recipe's first lines)."""

PY_TYPES = {"string": "str", "number": "float", "boolean": "bool", "object": "dict", "file": "dict"}
"""Dify variable type -> the Python annotation of a code input (``array[...]`` and file lists are ``list``)."""


def typed(code: str, types: dict[str, str]) -> str:
    """``code`` with ``main``'s parameters annotated by the Dify types of the values bound to them
    (``text: list`` when an iteration's array is bound), so the code says what it is given."""
    match = re.search(r"^def main\(([^)]*)\)", code, re.M)
    if not match or not types or re.search(r"[\"'(\[{]", match.group(1)):  # defaults with commas inside: left as written
        return code

    def one(param: str) -> str:
        name, _, rest = param.partition(":")
        kind = types.get(name.strip())
        if not kind:
            return param
        default = rest.partition("=")[2]
        py = "list" if kind.startswith("array") else PY_TYPES.get(kind, "str")
        return f"{name.strip()}: {py}" + (f" ={default}" if default else "")

    params = ", ".join(one(p) for p in match.group(1).split(",") if p.strip())
    return code[:match.start(1)] + params + code[match.end(1):]


@dataclass(frozen=True)
class CodeRecipe:
    """Code for one code step: its input name, outputs (name -> Dify type) and source."""

    key: str
    title: str
    input: str
    outputs: dict[str, str]
    code: str


TEXT_STATS = CodeRecipe(
    "text_stats", "Count words and sentences", "text",
    {"word_count": "number", "sentence_count": "number", "character_count": "number", "line_count": "number",
     "avg_words_per_sentence": "number"},
    '''import json
import re
''' + COERCE + '''

def main(text: str) -> dict:
    text = _text(text)
    words = re.findall(r"[\\w'-]+", text)
    sentences = [s for s in re.split(r"[.!?。！？]+(?:\\s+|$)", text.strip()) if s.strip()]
    count = max(len(sentences), 1)
    return {
        "word_count": len(words),
        "sentence_count": len(sentences),
        "character_count": len(text),
        "line_count": len(text.splitlines()),
        "avg_words_per_sentence": round(len(words) / count, 1),
    }
''')

SQL_GUARD = CodeRecipe(
    "sql_guard", "Check the query is read-only", "sql",
    {"is_read_only": "boolean", "query": "string", "reason": "string"},
    '''import json
import re
''' + COERCE + '''
FORBIDDEN = ("INSERT", "UPDATE", "DELETE", "DROP", "ALTER", "CREATE", "TRUNCATE", "GRANT", "REVOKE",
             "MERGE", "REPLACE", "CALL", "EXEC", "ATTACH", "COPY")


def main(sql: str) -> dict:
    query = re.sub(r"^```(?:sql)?|```$", "", _text(sql).strip(), flags=re.IGNORECASE | re.MULTILINE).strip()
    body = re.sub(r"--[^\\n]*|/\\*.*?\\*/", " ", query, flags=re.DOTALL).strip().rstrip(";").strip()
    if ";" in body:
        return {"is_read_only": False, "query": query, "reason": "More than one statement."}
    if not re.match(r"^(SELECT|WITH)\\b", body, flags=re.IGNORECASE):
        return {"is_read_only": False, "query": query, "reason": "The query is not a SELECT statement."}
    found = [word for word in FORBIDDEN if re.search(rf"\\b{word}\\b", body, flags=re.IGNORECASE)]
    if found:
        return {"is_read_only": False, "query": query, "reason": "Write keyword(s): " + ", ".join(found)}
    return {"is_read_only": True, "query": query, "reason": "A single read-only SELECT statement."}
''')

PARSE_RECORDS = CodeRecipe(
    "parse_records", "Parse the JSON list", "data",
    {"records": "array[object]"},
    '''import json
''' + COERCE + '''

def main(data: str) -> dict:
    records = [item if isinstance(item, dict) else {"value": item} for item in _items(data)]
    return {"records": records}
''')

SPLIT_LINES = CodeRecipe(
    "split_lines", "Split the list", "items",
    {"items": "array[string]"},
    '''import json
''' + COERCE + '''

def main(items: str) -> dict:
    if not isinstance(items, str) or items.strip()[:1] in ("[", "{"):
        return {"items": [_text(item) for item in _items(items)]}
    text = items.strip()
    parts = text.splitlines() if "\\n" in text else text.split(",")
    return {"items": [part.strip(" -*\\t") for part in parts if part.strip(" -*\\t")]}
''')

JSON_CHECK = CodeRecipe(
    "json_check", "Check the JSON", "text",
    {"is_valid": "boolean", "reason": "string"},
    '''import json


def main(text: str) -> dict:
    if not isinstance(text, str):  # a list or an object is JSON already
        return {"is_valid": isinstance(text, (list, dict)), "reason": "Valid JSON." if isinstance(text, (list, dict))
                else f"Not JSON text: a {type(text).__name__}."}
    try:
        json.loads(text)
    except ValueError as exc:
        return {"is_valid": False, "reason": f"Not valid JSON: {exc}"}
    return {"is_valid": True, "reason": "Valid JSON."}
''')

NUMBERS = CodeRecipe(
    "numbers", "Compute the figures", "text",
    {"count": "number", "total": "number", "average": "number", "minimum": "number", "maximum": "number"},
    '''import json
import re
''' + COERCE + '''

def main(text: str) -> dict:
    values = [float(v) for v in re.findall(r"-?\\d+(?:\\.\\d+)?", _text(text))]
    if not values:
        return {"count": 0, "total": 0, "average": 0, "minimum": 0, "maximum": 0}
    return {"count": len(values), "total": sum(values), "average": round(sum(values) / len(values), 4),
            "minimum": min(values), "maximum": max(values)}
''')

CLEAN_TEXT = CodeRecipe(
    "clean_text", "Prepare the text", "text",
    {"text": "string", "line_count": "number"},
    '''import json
import re
''' + COERCE + '''

def main(text: str) -> dict:
    cleaned = re.sub(r"[ \\t]+", " ", _text(text)).strip()
    cleaned = re.sub(r"\\n{3,}", "\\n\\n", cleaned)
    return {"text": cleaned, "line_count": len(cleaned.splitlines())}
''')

CSV_ROWS = CodeRecipe(
    "csv_rows", "Read the CSV rows", "items",
    {"items": "array[string]"},
    '''import csv
import io
import json
''' + COERCE + '''

def main(items: str) -> dict:
    text = _text(items).strip()
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    try:
        has_header = len(rows) > 1 and csv.Sniffer().has_header(text[:4096])
    except csv.Error:
        has_header = False
    if not has_header:
        return {"items": [", ".join(cell.strip() for cell in row) for row in rows]}
    header = [cell.strip() for cell in rows[0]]
    return {"items": ["; ".join(f"{name}: {cell.strip()}" for name, cell in zip(header, row)) for row in rows[1:]]}
''')

READ_SCORE = CodeRecipe(
    "read_score", "Read the score", "text",
    {"score": "number"},
    '''import json
import re
''' + COERCE + '''

def main(text: str) -> dict:
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return {"score": float(text)}
    match = re.search(r"-?\\d+(?:\\.\\d+)?", _text(text))
    return {"score": float(match.group(0)) if match else 0.0}
''')

MASK_PII = CodeRecipe(
    "mask_pii", "Mask emails and phone numbers", "text",
    {"clean_text": "string", "masked": "number"},
    '''import json
import re
''' + COERCE + '''
EMAIL = re.compile(r"[\\w.+-]+@[\\w-]+(?:\\.[\\w-]+)+")
PHONE = re.compile(r"\\+?\\d[\\d\\s().-]{6,}\\d")


def main(text: str) -> dict:
    text = _text(text)
    masked, count_email = EMAIL.subn("[EMAIL]", text)
    masked, count_phone = PHONE.subn("[PHONE]", masked)
    return {"clean_text": masked, "masked": count_email + count_phone}
''')

_RULES: tuple[tuple[str, CodeRecipe], ...] = (
    (r"\b(mask\w*|redact\w*|pii|anonymi[sz]\w*)\b|脱敏|マスク", MASK_PII),
    (r"\b(sql|select|read-only|query is)\b", SQL_GUARD),
    (r"\b(count|word|sentence|statistic|readab|length)\w*", TEXT_STATS),
    (r"\bjson\b.*\b(valid|check|verify)|\b(valid|check|verify)\w*\b.*\bjson\b", JSON_CHECK),
    (r"\b(parse|records|orders|json list|rows)\b", PARSE_RECORDS),
    (r"\b(split|lines|list of|each item)\b", SPLIT_LINES),
    (r"\b(sum|total|average|mean|calculat|compute|math|numbers?)\w*", NUMBERS),
)

RECIPES = {r.key: r for _, r in _RULES} | {r.key: r for r in (CLEAN_TEXT, CSV_ROWS, READ_SCORE)}
PAYLOAD_PREFIX = "payload:"
"""Label prefix of a code step that builds an HTTP JSON body; the JSON keys follow, comma-separated."""


def payload_keys(purpose: str) -> list[str]:
    """The JSON keys an HTTP body needs: ``title``/``body`` for issues and tickets, else ``text`` (webhooks, chat)."""
    if re.search(r"\b(issues?|tickets?|tasks?|cards?|bugs?|pages?|posts?|articles?)\b", purpose, re.I) and not re.search(
            r"\b(slack|teams|discord|webhook|chat|channel|message)\b", purpose, re.I):
        return ["title", "body"]
    return ["text"]


def payload_recipe(keys: list[str], inputs: int) -> CodeRecipe:
    """A code step that joins ``inputs`` texts and returns them as a JSON string with ``keys`` (json.dumps escapes them)."""
    names = [f"part_{i + 1}" for i in range(max(inputs, 1))]
    values = {"title": "title", "body": "text", "text": "text"}
    fields = ", ".join(f'"{key.split("=")[0]}": {key.split("=", 1)[1]!r}' if "=" in key else f'"{key}": {values.get(key, "text")}'
                       for key in keys)
    title = '    title = text.splitlines()[0][:80] if text else ""\n' if "title" in keys else ""
    if not any(values.get(k) == "text" for k in keys if "=" not in k) and any("=" in k for k in keys):
        fields += ', "content": text'  # constants only ("msgtype=markdown"): the text goes in "content"
    code = 'import json\n' + COERCE + f'''

def main({", ".join(f"{n}: str" for n in names)}) -> dict:
    text = "\\n\\n".join(_text(part).strip() for part in ({", ".join(names)},) if _text(part).strip())
{title}    return {{"payload": json.dumps({{{fields}}}, ensure_ascii=False)}}
'''
    return CodeRecipe(PAYLOAD_PREFIX + ",".join(keys), "Build the request body", names[0], {"payload": "string"}, code)


FILTER_PREFIX = "filter:"
"""Label prefix of a code step that parses a JSON list of records, filters, sorts and limits it; a
JSON ``ListFilter`` follows. (Dify's list operator refuses ``array[object]``, so records are
filtered in code.)"""


def filter_recipe(label: str) -> CodeRecipe:
    """The records filter for a ``filter:{...}`` label: the filter's values become Python literals."""
    import json

    flt = json.loads(label.removeprefix(FILTER_PREFIX))
    limit = flt.get("limit")
    settings = (f"KEY = {str(flt.get('key') or 'value')!r}\nOPERATOR = {str(flt.get('operator') or '>')!r}\n"
                f"VALUE = {str(flt.get('value') or '')!r}\nSORT_KEY = {flt.get('sort_key') or flt.get('key')!r}\n"
                f"DESCENDING = {bool(flt.get('descending', True))!r}\n"
                f"LIMIT = {int(limit) if isinstance(limit, int) and limit > 0 else None!r}\n")
    code = "import json\n" + COERCE + "\n" + settings + '''

def _number(value):
    try:
        return float(str(value).replace("$", "").replace(",", "").strip())
    except ValueError:
        return None


def _keep(record: dict) -> bool:
    if not VALUE:
        return True
    have = record.get(KEY)
    if OPERATOR == "contains":
        return VALUE.lower() in str(have).lower()
    a, b = _number(have), _number(VALUE)
    if a is None or b is None:
        return OPERATOR == "=" and str(have) == VALUE
    return {">": a > b, "<": a < b, "=": a == b, "≥": a >= b, "≤": a <= b}.get(OPERATOR, False)


def main(data: str) -> dict:
    records = [item if isinstance(item, dict) else {"value": item} for item in _items(data)]
    kept = [r for r in records if _keep(r)]
    if SORT_KEY:
        def order(r):
            n = _number(r.get(SORT_KEY))
            return n if n is not None else float("-inf")

        kept.sort(key=order, reverse=DESCENDING)
    if LIMIT:
        kept = kept[:LIMIT]
    return {"result": kept, "count": len(kept)}
'''
    return CodeRecipe(label, "Filter and sort", "data", {"result": "array[object]", "count": "number"}, code)


def pick_recipe(purpose: str) -> CodeRecipe:
    """The recipe that fits ``purpose`` best (a text-cleaning step when nothing more specific fits)."""
    for pattern, recipe in _RULES:
        if re.search(pattern, purpose, re.I):
            return recipe
    return CLEAN_TEXT


def is_check(purpose: str) -> bool:
    """A check/validation runs on what the workflow produced, not on its input."""
    return bool(re.search(r"\b(check|validate|verify|ensure|make sure|guard)\w*", purpose, re.I))


def skeleton(inputs: dict[str, str], outputs: list[str], rule: str) -> str:
    """Code that reads the typed inputs (numbers as floats, JSON text parsed, ISO dates as dates) and returns
    ``outputs``; the offline brain cannot derive the calculation itself, so the rule is written above
    ``main`` and each output starts from the parsed inputs for the author to finish in Dify."""
    params = ", ".join(f"{name}: str" for name in inputs) or "text: str = ''"
    lines = ["import datetime", "import json", "", "", f"# Rule to implement (from the requirement): {rule[:300]!r}",
             f"def main({params}) -> dict:", "    values = {}"]
    for name, kind in inputs.items():
        if kind == "number":
            lines += ["    try:", f"        values[{name!r}] = float({name} or 0)", "    except (TypeError, ValueError):",
                      f"        values[{name!r}] = {name}"]
        else:  # JSON is parsed only from text; a list or an object is kept as it is
            lines += [f"    values[{name!r}] = {name}", f"    if isinstance({name}, str):", "        try:",
                      f"            values[{name!r}] = json.loads({name})",
                      "        except ValueError:",
                      "            try:", f"                values[{name!r}] = datetime.date.fromisoformat({name}.strip())",
                      "            except ValueError:", "                pass"]
    lines.append("    summary = json.dumps(values, ensure_ascii=False, default=str)")
    lines.append("    return {" + ", ".join(f"{o!r}: summary" for o in outputs) + "}")
    return "\n".join(lines) + "\n"
