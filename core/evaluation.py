"""Evaluation: run files of requirements through the generator and score each result against its
``expect`` block (the keys documented at the top of ``shared/eval/requirements.yaml`` and
``requirements_v2.yaml``), one finding per expectation key so a failure says what broke.

Two rules make the score measure the workflow rather than the requirement it was given:

* **Mentions are looked for in the workflow's own text.** From every string in the node data, each
  span that also occurs verbatim in the requirement and is *long* (weight >= ``COPY_WEIGHT``, where
  a CJK/Kana/Hangul character weighs ``CJK_WEIGHT`` and any other character 1: 12 CJK characters or
  36 Latin ones) is cut out before the mentions are searched. A span that lies wholly inside a
  literal of the requirement (a quoted string, a URL, inline code) is kept: copying those verbatim is
  what the user asked for (a fixed reply, an endpoint). So "billing" as a class name or "5000" in a
  condition count; a prompt that pastes the requirement does not.
* **Language is detected by script**, on the node titles and on the LLM prompts separately (each,
  when present, must be in the expected language), after variable references and copied spans are
  removed: Hangul -> ko; Kana -> ja; Han without Kana -> zh (or ja: Japanese titles are often all
  Kanji); Latin -> the language of the most stop words and characteristic letters among en/de/es/fr
  (any Latin language when there is no evidence, e.g. a title "Start"). A CJK character weighs
  ``CJK_WEIGHT`` Latin letters when deciding which script dominates, so a Chinese prompt naming
  "Markdown" or "JSON" is still Chinese.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.config import PROJECT_ROOT, Settings
from core.dsl.graph import raw_nodes
from core.errors import InputError

ROUND_KEYS = {"mode", "nodes_all", "nodes_any", "min_count", "classes", "mentions", "mentions_any", "start_vars",
              "conversation_vars", "inputs", "input_types", "outputs", "language", "tools", "nodes_none"}
"""Keys a round's ``expect`` may hold."""
EXPECT_KEYS = ROUND_KEYS | {"rounds"}
"""Keys a case's ``expect`` may hold."""
TEST_RUN_KEY = "test run"
"""The finding key of a workflow that did not test-run without error in Dify's engine (``core.testrun``)."""
REPORT_KEYS = ("valid", "error", "note", *sorted(ROUND_KEYS), "rounds", TEST_RUN_KEY)
"""Every key a finding can carry, in the order summaries print them (``valid``: error-level
findings; ``error``: no workflow, a crash; ``note``: an impossible ask not declined; ``test run``:
a workflow whose test run failed)."""

PUBLIC_FILES = (PROJECT_ROOT.parent / "shared" / "eval" / "requirements.yaml",
                PROJECT_ROOT.parent / "shared" / "eval" / "requirements_v2.yaml")
"""The public eval files, scored by ``python -m core eval`` when no file is named."""

CJK_WEIGHT = 3
COPY_WEIGHT = 36
LANGUAGES = ("zh", "ja", "ko", "en", "de", "es", "fr")
LATIN_LANGUAGES = ("en", "de", "es", "fr")
_STOP_WORDS = {
    "en": "the and of to a in is for with that this on as be are it by from or an your you each then".split(),
    "de": "der die das und ist nicht mit für auf den dem des ein eine einen zu von im sie es oder wird bitte".split(),
    "es": "el la los las y de que en un una por con para es del al se lo como su o".split(),
    "fr": "le la les et de des du un une est pour dans que qui en au aux sur avec ce il vous ou".split(),
}
_LETTERS = {"de": "äöüß", "es": "ñ¿¡áíóú", "fr": "àâçèêëîïôœùû"}
_REFERENCE = re.compile(r"\{\{#[^#]*#\}\}|\{\{[^{}]*\}\}|\{%[^%]*%\}")
_QUOTED = re.compile(r"“([^”]+)”|「([^」]+)」|『([^』]+)』|‘([^’]+)’|\"([^\"]+)\"|`([^`]+)`|'([^'\s][^']*[^'\s])'")
_URL = re.compile(r"https?://[^\s\"'<>，。、）)]+")


# ---------------------------------------------------------------------------------------------- cases

@dataclass
class EvalCase:
    """One requirement of an eval file and what its workflow is expected to contain."""

    id: str
    requirement: str
    expect: dict[str, Any] = field(default_factory=dict)
    note: str | None = None
    """Set on asks a Dify workflow cannot fulfil: the generator must say so."""
    source: str = ""
    """The file the case comes from (its name)."""

    @property
    def rounds(self) -> list[dict]:
        return list(self.expect.get("rounds") or [])


@dataclass
class Finding:
    """One expectation that did not hold."""

    key: str
    """The expect key (``inputs``, ``mentions``...) or ``valid`` / ``error`` / ``note``."""
    message: str
    round: int = 0
    """0 for the first generation, n for the n-th refinement round."""

    def __str__(self) -> str:
        where = f"round {self.round} " if self.round else ""
        return f"{where}[{self.key}] {self.message}"


@dataclass
class CaseScore:
    """How one generated workflow (and its refinement rounds) measures up to its case."""

    case_id: str
    passed: bool
    """Every expectation met (every round too) and no error-level finding."""
    valid: bool
    """The first workflow and every refined one passed the validator with no error."""
    findings: list[Finding] = field(default_factory=list)
    run_id: str | None = None
    status: str | None = None
    seconds: float = 0.0
    node_types: list[str] = field(default_factory=list)
    source: str = ""
    rounds: int = 0
    """How many refinement rounds the case has."""
    test_run: str | None = None
    """The worst test-run status (``core.testrun``: succeeded / failed / error) over the case's
    workflows (first and refined), None when none was test-run. A workflow that does not test-run is a
    ``test run`` finding, so the case does not pass."""
    test_run_detail: str = ""

    @property
    def failed(self) -> list[str]:
        """Human-readable expectations that were not met (``[key] what broke``)."""
        return [str(f) for f in self.findings]

    @property
    def failed_keys(self) -> set[str]:
        return {f.key for f in self.findings}

    def to_dict(self) -> dict:
        return {"case_id": self.case_id, "source": self.source, "passed": self.passed, "valid": self.valid,
                "failed": self.failed, "findings": [f.__dict__ for f in self.findings],
                "failed_keys": sorted(self.failed_keys), "run_id": self.run_id, "status": self.status,
                "seconds": round(self.seconds, 3), "node_types": self.node_types, "rounds": self.rounds,
                "test_run": self.test_run, "test_run_detail": self.test_run_detail}


@dataclass
class EvalReport:
    """The scores of every case of an eval run, with the counts of valid and passing ones."""

    cases: list[CaseScore]
    checked: Counter = field(default_factory=Counter)
    """How many cases state each expect key (``valid`` and ``error`` are checked on every case)."""

    @property
    def total(self) -> int:
        return len(self.cases)

    @property
    def valid(self) -> int:
        return sum(c.valid for c in self.cases)

    @property
    def passed(self) -> int:
        return sum(c.passed for c in self.cases)

    @property
    def test_runs(self) -> tuple[int, int] | None:
        """(cases whose every workflow test-ran successfully, cases test-run) when test runs were made, else None."""
        tried = [c for c in self.cases if c.test_run is not None]
        return (sum(c.test_run == "succeeded" for c in tried), len(tried)) if tried else None

    def key_summary(self) -> dict[str, dict[str, int]]:
        """Per key: how many cases state it and how many failed it (keys that nobody checks are left out)."""
        failed = Counter(k for c in self.cases for k in c.failed_keys)
        keys = [k for k in REPORT_KEYS if self.checked.get(k) or failed.get(k)]
        return {k: {"checked": max(self.checked.get(k, 0), failed.get(k, 0)), "failed": failed.get(k, 0)} for k in keys}

    def by_source(self) -> dict[str, dict[str, int]]:
        """Per eval file: total, valid and passing cases."""
        out: dict[str, dict[str, int]] = {}
        for c in self.cases:
            row = out.setdefault(c.source, {"total": 0, "valid": 0, "passed": 0})
            row["total"] += 1
            row["valid"] += c.valid
            row["passed"] += c.passed
        return out

    def to_dict(self) -> dict:
        """The counts, the per-key and per-file summaries and every case's score, ready for JSON."""
        runs = self.test_runs
        return {"total": self.total, "valid": self.valid, "passed": self.passed,
                "test_runs": None if runs is None else {"succeeded": runs[0], "tried": runs[1]},
                "files": self.by_source(), "keys": self.key_summary(), "cases": [c.to_dict() for c in self.cases]}


def load_cases(path: str | Path) -> list[EvalCase]:
    """Read an eval file (``cases: [{id, requirement, expect, note?}]``).

    Raises:
        InputError: the file is missing, not YAML, or has no usable cases or an unknown expect key.
    """
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"Cannot read the eval file {path}: {exc}", hint="Give a YAML file with a 'cases' list.") from exc
    raw = data.get("cases") if isinstance(data, dict) else None
    if not isinstance(raw, list) or not raw:
        raise InputError(f"{path} has no 'cases' list.", hint="See shared/eval/requirements.yaml for the format.")
    cases = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not str(item.get("requirement") or "").strip():
            raise InputError(f"{path}: case {i + 1} has no requirement.")
        case_id = str(item.get("id") or f"case-{i + 1}")
        expect = item.get("expect") or {}
        if not isinstance(expect, dict):
            raise InputError(f"{path}: case {case_id}: 'expect' must be a mapping.")
        _check_keys(path, case_id, expect, EXPECT_KEYS)
        for n, rnd in enumerate(expect.get("rounds") or [], start=1):
            if not isinstance(rnd, dict) or not str(rnd.get("instruction") or "").strip():
                raise InputError(f"{path}: case {case_id}: round {n} has no instruction.")
            _check_keys(path, f"{case_id} round {n}", rnd.get("expect") or {}, ROUND_KEYS)
        note = item.get("note")
        cases.append(EvalCase(id=case_id, requirement=str(item["requirement"]), expect=expect,
                              note=str(note).strip() if note else None, source=Path(path).name))
    return cases


def _check_keys(path, where: str, expect: dict, allowed: set[str]) -> None:
    unknown = set(expect) - allowed
    if unknown:
        raise InputError(f"{path}: case {where} has unknown expect keys {sorted(unknown)}.",
                         hint=f"Known keys: {', '.join(sorted(allowed))}.")


# ------------------------------------------------------------------------------- the workflow's own text

def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).casefold()


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return (0x3040 <= o <= 0x30FF or 0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF or 0xAC00 <= o <= 0xD7AF
            or 0x1100 <= o <= 0x11FF or 0x3130 <= o <= 0x318F or 0xF900 <= o <= 0xFAFF or 0x31F0 <= o <= 0x31FF)


def _weight(text: str) -> int:
    return sum(CJK_WEIGHT if _is_cjk(ch) else 1 for ch in text)


class Requirement:
    """A requirement's text as the copy detector sees it: normalised, with its literals."""

    def __init__(self, *texts: str) -> None:
        self.text = "\n".join(_norm(t) for t in texts if t)
        self.literals = [_norm(g) for t in texts for m in _QUOTED.finditer(t or "") for g in m.groups() if g]
        self.literals += [_norm(m.group(0)) for t in texts for m in _URL.finditer(t or "")]

    def strip_copies(self, value: str) -> str:
        """``value`` (normalised) with every long span that is copied verbatim from the requirement cut out."""
        s = _norm(value)
        if not self.text or _weight(s) < COPY_WEIGHT:
            return s
        cut = [False] * len(s)
        length = 0  # matching statistics: the longest prefix of s[i:] found in the requirement
        for i in range(len(s)):
            length = max(length - 1, 0)
            while i + length < len(s) and s[i:i + length + 1] in self.text:
                length += 1
            span = s[i:i + length]
            if length and _weight(span) >= COPY_WEIGHT and not any(span in lit for lit in self.literals):
                cut[i:i + length] = [True] * length
        out, gap = [], False
        for ch, c in zip(s, cut, strict=True):
            if c:
                gap = True
                continue
            if gap:
                out.append(" \u2029 ")  # keep the two sides of a cut from joining into a false mention
                gap = False
            out.append(ch)
        return "".join(out)


def _strings(value) -> list[str]:
    """Every scalar value in a node's data (keys left out), as text."""
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    if value is None or isinstance(value, bool):
        return []
    return [str(value)]


def own_text(nodes: list[dict], req: Requirement) -> str:
    """All text of the nodes' data, with spans copied from the requirement removed (see module doc)."""
    return "\n".join(req.strip_copies(s) for n in nodes for s in _strings(n))


def _prompt_texts(node: dict) -> list[str]:
    template = node.get("prompt_template")
    if isinstance(template, dict):
        template = [template]
    if not isinstance(template, list):
        return []
    return [str(m.get("text") or m.get("jinja2_text") or "") for m in template if isinstance(m, dict)]


# --------------------------------------------------------------------------------------------- language

def detect_language(text: str) -> set[str]:
    """The languages ``text`` can be in, judged by script (see the module doc); empty when it has no letters."""
    text = _REFERENCE.sub(" ", text or "")
    hangul = kana = han = latin = 0
    for ch in text:
        o = ord(ch)
        if 0xAC00 <= o <= 0xD7AF or 0x1100 <= o <= 0x11FF or 0x3130 <= o <= 0x318F:
            hangul += 1
        elif 0x3040 <= o <= 0x30FF or 0x31F0 <= o <= 0x31FF or 0xFF66 <= o <= 0xFF9F:
            kana += 1
        elif 0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF:
            han += 1
        elif ch.isalpha() and unicodedata.name(ch, "").startswith("LATIN"):
            latin += 1
    cjk = hangul + kana + han
    if not cjk and not latin:
        return set()
    if cjk * CJK_WEIGHT >= latin:
        if hangul >= kana + han:
            return {"ko"}
        if kana * 20 >= kana + han and kana >= 2:  # Japanese prose: kana are at least 5 % of the CJK characters
            return {"ja"}
        return {"zh"} if kana else {"zh", "ja"}
    return _latin_language(text)


def _latin_language(text: str) -> set[str]:
    words = re.findall(r"[^\W\d_]+", text.casefold())
    scores = {}
    for lang in LATIN_LANGUAGES:
        stop = set(_STOP_WORDS[lang])
        scores[lang] = sum(w in stop for w in words) + 2 * sum(ch in _LETTERS.get(lang, "") for ch in text.casefold())
    best = max(scores.values())
    if best == 0:
        return set(LATIN_LANGUAGES)
    return {lang for lang, s in scores.items() if s == best}


_SENTENCE = re.compile(r"(?<=[.!?])\s+|(?<=[。！？；])|\n+")
_LATIN_RUN = re.compile(r"[A-Za-z][\w.'+/-]*(?:\s+[A-Za-z][\w.'+/-]*)*")
TARGET_SHARE = 0.8
"""At least this share of a group's sentences (titles, prompts) must be in the expected language."""


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` that have words of their own: references, URLs and quoted literals taken out,
    and Latin-script sentences of fewer than three words left out (a variable name, "JSON", "Start")."""
    found = []
    for raw in _SENTENCE.split(_QUOTED.sub(" ", _URL.sub(" ", _REFERENCE.sub(" ", text or "")))):
        plain = raw
        plain = re.sub(r"\b[A-Za-z]+_[A-Za-z0-9_]+\b", " ", plain).strip(" -#*:：·")
        cjk = sum(_is_cjk(ch) for ch in plain)
        if cjk:  # a name or a term of one or two Latin words inside CJK text ("生成polished", "JSON") is not English
            plain = _LATIN_RUN.sub(lambda m: m.group(0) if len(m.group(0).split()) >= 3 else " ", plain).strip()
        if cjk >= 2 or len(re.findall(r"[^\W\d_]{2,}", plain)) >= 3:
            found.append(plain)
    return found


def foreign_sentences(text: str, expected: str) -> list[str]:
    """The sentences of ``text`` (see ``sentences``) that are not in the ``expected`` language."""
    def foreign(sentence: str) -> bool:
        if expected == "ja" and re.search(r"[\u3040-\u30ff]", sentence):
            return False  # kana are Japanese only; a short title like "結果を作成" has too few to weigh
        found = detect_language(sentence)
        return bool(found) and expected not in found

    return [s for s in sentences(text) if foreign(s)]


def _language_findings(nodes: list[dict], expected: str, req: Requirement) -> list[str]:
    groups = {
        "node titles": [req.strip_copies(str(n.get("title") or "")) for n in nodes],
        "LLM prompts": [req.strip_copies(t) for n in nodes if n.get("type") == "llm" for t in _prompt_texts(n)],
    }
    problems, seen = [], 0
    for name, texts in groups.items():
        found = detect_language(" \n".join(texts))
        if not found:
            continue
        seen += 1
        if expected not in found:
            problems.append(f"{name} are in {'/'.join(sorted(found))}, expected {expected}")
            continue
        every = [s for t in texts for s in sentences(t)]
        foreign = [s for t in texts for s in foreign_sentences(t, expected)]
        if every and len(foreign) > (1 - TARGET_SHARE) * len(every):
            problems.append(f"{len(foreign)} of {len(every)} sentences of the {name} are not in {expected}, "
                            f"e.g. \u201c{foreign[0][:60]}\u201d")
    if not seen:
        problems.append(f"no node title or LLM prompt of the workflow's own (not copied from the requirement) "
                        f"to be in {expected}")
    return problems


# ---------------------------------------------------------------------------------------------- scoring

def _nodes(dsl: dict) -> list[dict]:
    return [n.get("data") or {} for n in raw_nodes(dsl) if isinstance(n, dict)]


def _start_vars(nodes: list[dict]) -> list[dict]:
    return [v for n in nodes if n.get("type") == "start" for v in (n.get("variables") or []) if isinstance(v, dict)]


def _end_outputs(nodes: list[dict]) -> set[str]:
    return {str(o.get("variable")) for n in nodes if n.get("type") == "end"
            for o in (n.get("outputs") or []) if isinstance(o, dict) and o.get("variable")}


def _set_problem(what: str, found: set[str], expected: set[str]) -> str | None:
    if found == expected:
        return None
    parts = []
    if expected - found:
        parts.append(f"missing {sorted(expected - found)}")
    if found - expected:
        parts.append(f"unexpected {sorted(found - expected)}")
    return f"{what} are {sorted(found)}, expected exactly {sorted(expected)}: {', '.join(parts)}"


def check_expect(expect: dict, dsl: dict, requirement: str | Requirement) -> list[Finding]:
    """Every expectation of ``expect`` (rounds aside) that ``dsl`` does not meet, one finding per miss.

    ``requirement`` is the text the generator was given (for a round: the requirement and every
    instruction so far); mentions and language look only at text that is not copied from it.
    """
    req = requirement if isinstance(requirement, Requirement) else Requirement(requirement)
    nodes = _nodes(dsl)
    types = [n.get("type") for n in nodes]
    out: list[Finding] = []

    def miss(key: str, message: str) -> None:
        out.append(Finding(key, message))

    e = expect
    mode = (dsl.get("app") or {}).get("mode")
    if "mode" in e and mode != e["mode"]:
        miss("mode", f"mode is {mode}, expected {e['mode']}")
    for t in e.get("nodes_all") or []:
        if t not in types:
            miss("nodes_all", f"no {t} node")
    for group in e.get("nodes_any") or []:
        if not set(group) & set(types):
            miss("nodes_any", f"none of {group}")
    for t, n in (e.get("min_count") or {}).items():
        if types.count(t) < n:
            miss("min_count", f"{types.count(t)} {t} node(s), expected at least {n}")
    for t in e.get("nodes_none") or []:
        if t in types:
            miss("nodes_none", f"{types.count(t)} {t} node(s), expected none")
    if "classes" in e:
        most = max((len(n.get("classes") or []) for n in nodes if n.get("type") == "question-classifier"), default=0)
        if most < e["classes"]:
            miss("classes", f"no question-classifier with {e['classes']} classes (best: {most})")
    if e.get("mentions") or e.get("mentions_any"):
        text = own_text(nodes, req)
        for m in e.get("mentions") or []:
            if _norm(str(m)) not in text:
                miss("mentions", f"{m!r} not mentioned in the workflow's own text")
        for group in e.get("mentions_any") or []:
            if not any(_norm(str(m)) in text for m in group):
                miss("mentions_any", f"none of {group} mentioned in the workflow's own text")
    variables = _start_vars(nodes)
    if "start_vars" in e and len(variables) < e["start_vars"]:
        miss("start_vars", f"{len(variables)} start variable(s), expected {e['start_vars']}")
    if "inputs" in e:
        problem = _set_problem("start variables", {str(v.get("variable")) for v in variables},
                               {str(x) for x in e["inputs"]})
        if problem:
            miss("inputs", problem)
    if "input_types" in e:
        by_name = {str(v.get("variable")): v.get("type") for v in variables}
        for name, kind in (e["input_types"] or {}).items():
            if name not in by_name:
                miss("input_types", f"no start variable {name} (expected type {kind})")
            elif by_name[name] != kind:
                miss("input_types", f"start variable {name} is {by_name[name]}, expected {kind}")
    if "outputs" in e:
        problem = _set_problem("End outputs", _end_outputs(nodes), {str(x) for x in e["outputs"]})
        if problem:
            miss("outputs", problem)
    if "conversation_vars" in e:
        count = len(((dsl.get("workflow") or {}).get("conversation_variables")) or [])
        if count < e["conversation_vars"]:
            miss("conversation_vars", f"{count} conversation variable(s), expected {e['conversation_vars']}")
    if "tools" in e:
        names = [_norm(" ".join(str(n.get(k) or "") for k in ("provider_id", "provider_name", "tool_name", "tool_label")))
                 for n in nodes if n.get("type") == "tool"]
        for word in e["tools"] or []:
            if not any(_norm(str(word)) in name for name in names):
                miss("tools", f"no tool node whose provider or tool name contains {word!r}")
    if "language" in e:
        for problem in _language_findings(nodes, str(e["language"]), req):
            miss("language", problem)
    return out


def declined(result) -> list[str]:
    """What a generation result says it cannot do (an impossible ask plainly stated), if anything."""
    said = [str(x) for x in (getattr(result, "unsupported", None) or []) if x]
    spec = getattr(result, "spec", None)
    said += [str(x) for x in (getattr(spec, "unsupported", None) or []) if x]
    quality = getattr(result, "quality", None)
    said += [i.message for i in (getattr(quality, "issues", None) or []) if getattr(i, "code", None) == "UNSUPPORTED"]
    return list(dict.fromkeys(said))


def score_case(case: EvalCase, dsl: dict | None, *, valid: bool = True, result=None) -> CaseScore:
    """Check ``dsl`` against ``case.expect`` (rounds aside); ``valid`` says whether the validator found no error.

    ``result`` (the ``GenerationResult``) is needed for a case with a ``note``: the generator must
    have said that it cannot do the ask.
    """
    findings: list[Finding] = []
    if case.note:
        if not declined(result):
            findings.append(Finding("note", "an impossible ask was not declined: the generator did not say "
                                            "that (and why) a workflow cannot do it"))
        if not dsl:  # declining without a workflow is a complete answer
            return CaseScore(case.id, passed=not findings, valid=True, findings=findings, source=case.source)
    if not dsl:
        return CaseScore(case.id, passed=False, valid=False, source=case.source,
                         findings=findings + [Finding("error", "no workflow was produced")])
    if not valid:
        findings.append(Finding("valid", "the workflow has error-level findings"))
    expect = {k: v for k, v in case.expect.items() if k != "rounds"}
    findings += check_expect(expect, dsl, case.requirement)
    return CaseScore(case.id, passed=not findings, valid=valid, findings=findings,
                     node_types=[n.get("type") for n in _nodes(dsl)], source=case.source)


# ---------------------------------------------------------------------------------------------- running

def _problem(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


_TEST_RUN_RANK = {"succeeded": 0, "failed": 1, "error": 2}


def _test_run(score: CaseScore, dsl: dict, step: int, report=None) -> None:
    """Test-run one workflow in Dify's engine (offline model, canned HTTP) and keep the worst status.

    ``report`` is the test run the pipeline already made of this workflow (``GenerationResult.test_run``).
    A run that did not succeed is also a ``test run`` finding of round ``step``: the case fails.
    """
    from core.testrun import test_run

    try:
        report = report if report is not None else test_run(dsl)
        status, detail = report.status, report.summary()
        if report.errors:
            detail += ": " + "; ".join(f"{f.code} {f.message}" for f in report.errors[:3])
    except Exception as exc:  # noqa: BLE001 - a test run that cannot start is an error, the eval goes on
        status, detail = "error", f"test run could not start: {_problem(exc)}"
    if score.test_run is None or _TEST_RUN_RANK.get(status, 2) > _TEST_RUN_RANK.get(score.test_run, 2):
        score.test_run = status
        score.test_run_detail = f"round {step}: {detail}" if step else detail
    if status != "succeeded":
        score.findings.append(Finding(TEST_RUN_KEY, detail, step))
        score.passed = False


def run_case(case: EvalCase, settings: Settings, *, ledger=None, library=None, test_runs: bool = True) -> CaseScore:
    """Generate one case, refine it through its rounds and score every step; never raises for a crash.

    With ``test_runs`` every workflow produced (first and refined) is also test-run (``core.testrun``).
    """
    from core.pipeline import generate, refine

    started = time.perf_counter()
    try:
        result = generate(case.requirement, settings=settings, ledger=ledger, library=library, source="eval")
    except Exception as exc:  # noqa: BLE001 - a crashing case is scored as failed, the eval goes on
        score = CaseScore(case.id, passed=False, valid=False, source=case.source, rounds=len(case.rounds),
                          findings=[Finding("error", f"generation crashed: {_problem(exc)}")])
        score.seconds = time.perf_counter() - started
        return score
    score = score_case(case, result.dsl, valid=result.valid, result=result)
    score.run_id, score.status, score.rounds = result.run_id, result.status, len(case.rounds)
    if result.error_message and not result.dsl:
        for f in score.findings:
            if f.key == "error":
                f.message += f" ({result.error_category}: {result.error_message})"
    texts = [case.requirement]
    last, valid = result, score.valid
    if test_runs and result.dsl:
        _test_run(score, result.dsl, 0, getattr(result, "test_run", None))
    for n, rnd in enumerate(case.rounds, start=1):
        texts.append(str(rnd["instruction"]))
        if last is None or not last.run_id:
            score.findings.append(Finding("rounds", "not run: the previous step left no recorded run to refine "
                                                    "(refinement continues a run in the ledger)", n))
            break
        try:
            refined = refine(last.run_id, str(rnd["instruction"]), settings=settings, ledger=ledger, library=library,
                             source="eval", previous=last)
        except Exception as exc:  # noqa: BLE001
            score.findings.append(Finding("rounds", f"refinement crashed: {_problem(exc)}", n))
            break
        if not refined.dsl:
            score.findings.append(Finding("error", f"no workflow: {refined.error_category}: {refined.error_message}", n))
            valid = False
            break
        if not refined.valid:
            valid = False
            score.findings.append(Finding("valid", "the refined workflow has error-level findings", n))
        for f in check_expect(rnd.get("expect") or {}, refined.dsl, Requirement(*texts)):
            f.round = n
            score.findings.append(f)
        last = refined
        score.node_types = [d.get("type") for d in _nodes(refined.dsl)]
        if test_runs:
            _test_run(score, refined.dsl, n, getattr(refined, "test_run", None))
    score.valid = valid
    score.passed = not score.findings
    score.seconds = time.perf_counter() - started
    return score


def _count_checked(cases: list[EvalCase], test_runs: bool = False) -> Counter:
    checked: Counter = Counter()
    for case in cases:
        keys = set(case.expect) | {"valid", "error"} | ({TEST_RUN_KEY} if test_runs else set())
        for rnd in case.rounds:
            keys |= set(rnd.get("expect") or {})
        if case.note:
            keys.add("note")
        checked.update(keys)
    return checked


def run_eval(paths: str | Path | list, settings: Settings, *, ledger=None, library=None, on_case=None,
             test_runs: bool = True) -> EvalReport:
    """Generate every case of one or more eval files (recorded with source ``eval``) and score it.

    Args:
        paths: a file or a list of files (``PUBLIC_FILES`` for both public ones).
        ledger: the ledger to record in; opened from ``settings`` when None (rounds need it).
        on_case: called with each ``CaseScore`` as it is ready (progress for the UI).
        test_runs: also test-run every workflow in Dify's engine (``core.testrun``, offline).
    """
    files = [paths] if isinstance(paths, (str, Path)) else list(paths)
    cases = [c for p in files for c in load_cases(p)]
    own = None
    if ledger is None:
        from core.errors import LedgerUnavailable
        from core.ledger import Ledger

        try:
            ledger = own = Ledger.open(settings)
        except LedgerUnavailable:
            ledger = None
    scores = []
    try:
        for case in cases:
            score = run_case(case, settings, ledger=ledger, library=library, test_runs=test_runs)
            scores.append(score)
            if on_case:
                on_case(score)
    finally:
        if own is not None:
            own.close()
    return EvalReport(scores, checked=_count_checked(cases, test_runs))
