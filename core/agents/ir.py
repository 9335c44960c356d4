"""The requirement model's contract parts, read from text in any lexicon language.

``enrich(spec, text)`` completes a ``RequirementSpec`` with what the rules in ``rules.py`` (English
phrasing) cannot see: the language to write in, the variables the user *named* (used exactly, with
the type the wording implies), the named outputs and what produces each, tools, "no model",
parallel facets, classes written with CJK quotes, and asks no workflow can fulfil. Cue words come
from ``core.agents.lexicon``; nothing here knows a particular requirement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from core.agents import lexicon as lx
from core.agents.conditions import ROUNDS, WORD_NUMBERS, find_gate, loop_rule, quoted, quoted_spans
from core.agents.models import ConversationVar, InputVar, OutputVar, RequirementSpec

IDENT = r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*"
FUNCTION_WORDS = set("""a an the and or of to in on at for with from by as is are be it its this that these those
their his her our your my me we you they them i if then else not no so but also only just into onto via per each
every all any some one two three four five six seven eight nine ten up down out over under what which who when where
how why whether there here do does did done has have had was were will would can could should may might must
exactly separate second first last new same different options option well usual needed follows possible such either both single simple short long plain text file input
output inputs outputs result results field variable variables return returns returned back called named call it
everything anything something nothing everyone whichever whatever whoever
ist die der das ein eine und le la les de du des un une el los las del y en se es est""".split())
HTTP_VERBS = {"get", "post", "put", "patch", "delete"}
TECHNICAL = set("""json markdown md html xml csv pdf docx doc txt word http https get post put patch delete api url key
keys msgtype token bearer yyyy mm dd llm ai gpt sku qty id ok lgtm faq sql python javascript java go""".split())
"""Lower-case words that are technical terms, not variable names, when they stand next to CJK text."""
TYPE_WORDS = {"number", "integer", "string", "boolean", "float", "checkbox", "dropdown"}
"""Type words in "price (number)": the type of the name before them, not a name (unless said to be one)."""
FORMAT_WORDS = set("""bullets bullet table tables list lists lines paragraph paragraphs prose sentences words points
plain english chinese japanese german french spanish korean italian""".split())
"""Words after "output it as/in" that are a form or a language, not a name."""
SENTENCE = re.compile(r"[。！？!?；;\n]|\.(?:\s|$)")
SEPARATOR = re.compile(r"[，,、：:。！？!?；;\n]|\.(?:\s|$)|\s(?:and|or|und|et|y)\s|[和与及或]")
OPEN, CLOSE = "（(「“\"", "）)」”\""


@dataclass
class Named:
    """A variable name the user gave, where it appears, and what its wording says about it."""

    name: str
    start: int
    end: int
    role: str = "input"
    evidence: int = 0
    group: list[str] = field(default_factory=list)
    desc: str = ""


def _blank_quotes(text: str) -> str:
    """``text`` with JSON-ish literals ({...}, "...") blanked (same length), so their keys are not names."""
    out, previous = re.sub(r"https?://\S+", lambda m: " " * len(m.group(0)), text), None
    while out != previous:
        previous, out = out, re.sub(r"\{[^{}]*\}", lambda m: " " * len(m.group(0)), out)
    return out


@cache
def _cue_pattern(name: str) -> str:
    """The cues of ``name`` as one alternation for larger patterns (a Latin cue also matches with a suffix)."""
    words = sorted({str(c) for c in lx.cues(name)}, key=len, reverse=True)
    parts = []
    for w in words:
        if lx.CJK.search(w):
            parts.append(re.escape(w))
        else:
            parts.append(r"(?<![A-Za-z])" + re.escape(w.rstrip("*")).replace(r"\ ", r"\s+") + r"[a-z]*")
    return "|".join(parts)


@cache
def _cue_re(name: str) -> re.Pattern:
    return re.compile(_cue_pattern(name), re.I)


def _list_after(text: str, pos: int) -> list[tuple[str, int, int]]:
    """Identifiers in a list that starts at ``pos`` (``a, b and c`` / ``a、b、c`` / ``a 和 b``)."""
    items = []
    sep = r"\s*(?:,|、|，|/|／|\band\b|\bor\b|和|与|及|或|と)\s*"
    m = re.match(rf"\s*[:：,]?\s*`?({IDENT})`?((?:{sep}`?{IDENT}`?)*)", text[pos:])
    if not m:
        return items
    ticked = m.group(0).lstrip(" :：,").startswith("`")
    joined = False
    for im in re.finditer(rf"`?({IDENT})`?", m.group(0)):
        word = im.group(1)
        if word.lower() in ("and", "or"):
            joined = True
            continue
        if ticked and not im.group(0).startswith("`"):
            break
        after = text[pos + im.end():]
        if items and re.match(r"\s+[a-z]", after) and not re.match(r"\s+(?:and|or)\b", after):
            break  # "output, warning, saying ...": a word followed by more words is prose, not a list item
        if word.lower() in FUNCTION_WORDS or (word[0].isupper() and "_" not in word):
            if items:
                break
            return []
        items.append((word, pos + im.start(1), pos + im.end(1)))
        if joined:
            break  # "a, b and c": the item after the conjunction ends the list
    return items


CHOICES = re.compile(r"\b(?:exactly\s+)?one\s+of\s+((?:`?[a-z][\w-]*`?\s*,\s*)+(?:(?:and|or)\s+)?`?[a-z][\w-]*`?)", re.I)
"""An enumerated choice ("exactly one of billing, outage, feature_request"): its items are values, not variables."""


TYPES = "|".join(sorted(TYPE_WORDS | {"date", "decimal", "whole number"}, key=len, reverse=True))
"""The type words a name's parenthesis may say: ``temp (a number)``."""
TYPED_AFTER = (r",\s*(?:(?:a|an)\s+)?(?:" + "|".join(sorted({*TYPES.split("|"), "file", "pdf", "document", "image", "photo",
                                                             "list", "text"}, key=len, reverse=True))
               + r")s?(?:\s+of\s+[a-z]+)?\s*[)）]")
"""A type after a name and a comma inside its parenthesis: ``(temp, a number)``, ``(letter, a file)``."""


def find_named(text: str) -> list[Named]:
    """Variable names the user gave: backticked, snake_case, after a variable/input/output cue, in
    parentheses after a noun, or standing in CJK text; with their role (input, output or computed)."""
    clean = CHOICES.sub(lambda m: " " * len(m.group(0)), _blank_quotes(text))
    nodes = lx.category("node_phrase")  # "with a parameter extractor": a node, not a "parameter" named extractor
    clean = nodes.sub(lambda m: " " * len(m.group(0)), clean) if nodes else clean
    literal = {w for m in re.finditer(r"\{[^{}]*\}", text) if re.search(r"[:\",]", m.group(0))
               for w in re.findall(IDENT, m.group(0))}  # keys of a JSON shape, not a lone {placeholder}
    found: dict[str, Named] = {}
    described: dict[str, str] = {}  # an output's own noun phrase ("the guest name" as guest)

    def add(name: str, start: int, end: int, evidence: int, force: bool = False) -> None:
        typed = name.lower() in TYPE_WORDS and not lx.has(text[max(0, start - 12):start], "variable_cue")
        if (name.lower() in FUNCTION_WORDS or typed) and evidence < 3 and not force:
            return
        near = text[end:end + 10] + re.match(r"[\u3040-\u30ff\u3400-\u9fff]{1,3}|[A-Za-z0-9_]*", text[end + 10:]).group(0)  # whole words
        if name.isupper() and evidence < 3 or lx.has(near, "data_field") or name in literal:
            return  # ENV_VARS are secrets, not inputs; "a `comment` column" is a field of the data
        if name not in found or found[name].evidence < evidence:
            keep = found[name].start if name in found else start
            found[name] = Named(name, min(start, keep), end, evidence=evidence)

    for m in re.finditer(rf"`({IDENT})`", clean):
        add(m.group(1), m.start(1), m.end(1), 3)
    for m in re.finditer(r"(?<![A-Za-z0-9_./-])([a-z][a-z0-9]*(?:_[a-z0-9]+)+)(?![A-Za-z0-9_(])", clean):
        add(m.group(1), m.start(1), m.end(1), 3)
    plain = re.sub(r"[（(][^)）]*[)）]", lambda m: " " * len(m.group(0)), clean)
    cue = "|".join(x for x in (_cue_pattern("variable_cue"), _cue_pattern("input_named"), _cue_pattern("output_named")) if x)
    for source in (plain, clean):
        for m in re.finditer(rf"(?:{cue})", source, re.I):
            items = _list_after(source, m.end())
            colon = (re.match(r"[^.;:：。]{0,40}[:：]", source[m.end():])
                     if not items and not re.match(_cue_pattern("variable_cue"), m.group(0), re.I) else None)
            for name, s, e in items or (_list_after(source, m.end() + colon.end()) if colon else []):
                add(name, s, e, 2)
    types, typed_after = TYPES, TYPED_AFTER
    for m in re.finditer(rf"[（(]\s*(?:(?i:{cue})\s*[:：]?)?\s*`?([a-z][a-z0-9_]*)`?\s*(?=[)）、，:：]|\s+[（(]|{typed_after}|,)", clean):
        word = m.group(1)
        lead = [w.lower() for w in re.findall(r"[A-Za-z]+", clean[max(0, m.start() - 40):m.start()])[-3:]]
        echo = any(len(word) >= 3 and (w.startswith(word[:4]) or word.startswith(w[:4])) for w in lead)
        shape = lx.has(re.split(r"[)）]", clean[m.end():m.end() + 40])[0], "list_cue")  # "(names, one per line)"
        if clean[m.end():m.end() + 1] == "," and not re.match(typed_after, clean[m.end():]) and not echo and not shape:
            continue  # "(apples, pears)": examples; "(urls, one per line)" echoes the noun before it: its name
        if word.lower() not in FUNCTION_WORDS:
            add(word, m.start(1), m.end(1), 2)
    for m in re.finditer(rf"(?<![A-Za-z0-9_])([a-z][a-z0-9_]*)\s*[（(]\s*(?:(?:a|an)\s+)?(?:{types})s?\s*[)）,，]", clean):
        add(m.group(1), m.start(1), m.end(1), 2)  # "the reading temp (a number)": the word its type is said of
    for m in re.finditer(r"[（(]((?:\s*[a-z][a-z0-9_]*\s*[,，、])+\s*[a-z][a-z0-9_]*)\s*[)）]", clean):
        words = [(w.group(0), m.start(1) + w.start()) for w in re.finditer(r"[a-z][a-z0-9_]*", m.group(1))]
        lead = clean[max(0, m.start() - 30):m.start()]
        if not any(w.lower() in FUNCTION_WORDS for w, _ in words) and lx.has(lead, "input_word"):
            for w, s in words:
                add(w, s, s + len(w), 2)
    # "output it as memo", "return the rewrite as rewritten", "save the draft into draft_v2": a single
    # word at the end of the clause, after an output verb and a short object
    # and a list of them: "return the show notes as show_notes and the guest name as guest"
    verbs = "|".join(_cue_pattern(k) for k in ("output_word", "output_verb", "io_produce", "io_compute") if _cue_pattern(k))
    name_as = (r"(?:as|into|in|to|called|named|als|comme|como)\s+`?([a-z][a-z0-9_]*)`?"
               r"(?=(?:\s+(?:aus|zurück))?\s*(?:[,.;:)]|$|\s(?:and|or|und|et|y)\s))")  # German "gib … als x aus"
    said = plain  # a quoted reply is one word of the object: 'answer "Sorry, adults only" as message'
    for a, b, _ in quoted_spans(plain):
        said = said[:a] + "q" * (b - a) + said[b:]
    for m in re.finditer(rf"(?i:{verbs})((?:\s+[\w'-]+){{0,8}}?)\s+{name_as}", said):
        pos, word, obj = m.end(), m.group(2), plain[m.start(1):m.end(1)]
        while word:
            if word not in FUNCTION_WORDS and word not in TECHNICAL and word not in FORMAT_WORDS and len(word) > 1:
                add(word, pos - len(word) - (1 if plain[pos - 1] == "`" else 0), pos - (1 if plain[pos - 1] == "`" else 0), 2)
                described.setdefault(word, obj.strip())
            nxt = re.match(rf"\s*(?:,\s*(?:and\s+)?|\s+and\s+)((?:(?!as\b|and\b)[\w'-]+\s+){{1,5}}?){name_as}", said[pos:], re.I)
            if not nxt:
                break
            pos, word, obj = pos + nxt.end(), nxt.group(2), plain[pos + nxt.start(1):pos + nxt.end(1)]
    if lx.CJK.search(text):
        quoted_texts = [inner for _, _, inner in quoted_spans(text)]
        for m in re.finditer(r"作为\s*`?([a-z][a-z0-9_]*)`?", clean):  # "把亮点作为 highlights 返回"
            if m.group(1) not in TECHNICAL:
                add(m.group(1), m.start(1), m.end(1), 2)
        # an acronym glued to the CJK noun before a name counts as part of it: "マニュアルPDF manual", "发票PDF invoice"
        glued_acronyms = re.sub(r"(?<=[\u3040-\u30ff\u3400-\u9fff])[A-Z]{2,5}(?=\s)", lambda m: "ー" * len(m.group(0)), clean)
        for m in re.finditer(r"(?<![为成])(?<=[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7a3\uff00-\uffef、，。：（])\s*([a-z][a-z0-9_]*)\s*"
                             r"(?=[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7a3\uff00-\uffef、，。；（]|$)", glued_acronyms):
            word = m.group(1)
            method = word in HTTP_VERBS and re.search(r"^\s*(?:请求|リクエスト|方法|方式|调用|request)", text[m.end(1):m.end(1) + 8], re.I)
            glued = re.match(r"[\u3040-\u30ff\u3400-\u9fff]+", text[m.end(1):])
            term = glued and any(word + glued.group(0)[:1] in q for q in quoted_texts)  # “bug报告” is a class's name
            if (word not in TECHNICAL or word in HTTP_VERBS and not method) and len(word) > 1 and not term:
                add(word, m.start(1), m.end(1), 1, force=True)
    # siblings: a list in which one item is a name makes its single-word items names too
    pairs = rf"(?<![\w-]){IDENT}\s+(?:and|or)\s+{IDENT}(?=\s*(?:[.;:]|$))"  # "from product_name and features."
    for m in re.finditer(rf"(?:{IDENT}\s*,\s*)+{IDENT},?\s+(?:and|or)\s+{IDENT}|{pairs}", plain):
        items = [(w.group(0), m.start() + w.start()) for w in re.finditer(IDENT, m.group(0))
                 if w.group(0).lower() not in ("and", "or")]
        if any(w in found and found[w].evidence >= 2 for w, _ in items):
            for w, s in items:
                explained = bool(re.match(r"\s*[（(]", text[s + len(w):])) and len(w) > 3  # "field (the research field)"
                if (w.lower() not in FUNCTION_WORDS or explained) and w.islower():
                    add(w, s, s + len(w), 2, force=explained)
    quoted = [(a, b) for a, b, inner in quoted_spans(text) if len(inner.split()) >= 2 or lx.CJK.search(inner)]

    def only_quoted(name: str) -> bool:  # a word of a quoted sentence (a fixed reply) is not a variable
        spots = [m.start() for m in re.finditer(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", text)]
        return bool(spots) and all(any(a <= p < b for a, b in quoted) for p in spots)

    named = sorted((n for n in found.values() if not only_quoted(n.name)), key=lambda n: n.start)
    for n in named:
        n.role = _role(text, n)
        n.desc = described.get(n.name, "")
    _coordinate(text, named)
    return named


COORDINATOR = re.compile(r"[、，,]|\b(?:and|or)\b|和|与|及|以及|还有|そして|および|と|や")
CJK_CLAUSE = re.compile(r"[，をが]|[てし]、")
"""In a CJK gap between two names, a clause of its own (an object with its verb, a comma-joined clause)."""
LIST_END = re.compile(r"[。！？!?\n；;]|\.(?:\s|$)")


def _coordinate(text: str, named: list[Named]) -> None:
    """Names listed together share their list's role: in ``要約した summary、カテゴリ category、そして人物名
    people の3つを出力``, ``计算总和 total 和平均值 average 并输出`` or ``keywords (…), field (…) and tldr
    (…) as outputs`` each item is an output, whatever the words between the items seemed to say. A run
    is consecutive names separated by a coordinator and descriptive words only (no role cue, no sentence
    break); when the words right after the run's last name hold an output cue, the whole run is output."""
    gap_cues = [key for key, _ in ROLE_CUES] + ["output_word", "input_word"]  # between two names: not one list
    runs: list[list[Named]] = []
    for n in named:
        if runs:
            gap = text[runs[-1][-1].end:n.start]
            if (len(gap) <= 40 and COORDINATOR.search(gap) and not LIST_END.search(gap) and not CJK_CLAUSE.search(gap)
                    and not any(_cue_pattern(key) and _cue_re(key).search(gap) for key in gap_cues)):
                runs[-1].append(n)
                continue
        runs.append([n])
    starts = [n.start for n in named]
    for run in runs:
        if len(run) < 2 or all(n.role == "output" for n in run):
            continue
        head = text[max(0, run[0].start - 30):run[0].start]
        if not lx.CJK.search(head) and re.search(rf"(?:{_cue_pattern('extract_verb')})\s+(?:the\s+|all\s+)?`?$", head, re.I):
            for n in run:  # "pull out vendor, invoice_number and due_date": the verb's whole list is extracted
                n.role = "output"
            continue
        tail = LIST_END.split(text[run[-1].end:run[-1].end + 30])[0]
        if not lx.CJK.search(tail):
            tail = re.split(r"[,;:]", tail)[0]
        if any(run[-1].end < s < run[-1].end + len(tail) for s in starts):
            continue  # another name follows in the clause: the cue is that name's
        if lx.has(tail, "output_word") or lx.has(tail, "output_after") or lx.has(tail, "io_return"):
            for n in run:
                n.role = "output"


ROLE_CUES = (("io_give", "input"), ("io_return", "output"), ("output_verb", "output"), ("io_compute", "computed"),
             ("io_produce", "output"), ("extract_verb", "output"))
"""Cue classes of the verb a name stands with, and the role each gives it (see ``_role``)."""
CLAUSE_BREAK = re.compile(r"[，,；;。！？!?\n]|\.(?:\s|$)")


def _clause_role(before: str, cjk: bool) -> str | None:
    """The role the nearest role cue before a name gives it within its clause, or None when there is none.
    A produce verb ("write a postmortem as ...") names an output only when the name closes its object
    (``as``/``into``/``called`` before it, or directly after the noun in CJK text)."""
    best, role = -1, None
    for key, kind in ROLE_CUES:
        for m in _cue_re(key).finditer(before) if _cue_pattern(key) else ():
            if kind == "output" and key == "io_produce" and not cjk and not re.search(
                    r"\b(?:as|into|called|named)\s+`?$|[:：]\s*`?$", before):
                continue
            if m.end() > best or m.end() == best and kind == "computed":
                best, role = m.end(), kind
    return role


ARGUMENT_BEFORE = re.compile(r"\b(?:since|from|of|between|for|on|in|by|with|using|given|per|until|till|to)\s+(?:the\s+|a\s+|an\s+)?"
                             r"(?:(?:[\w-]+\s+){0,3}[\w-]+\s*[（(]\s*)?`?$", re.I)  # "of the scores (scores)" too
ARGUMENT_AFTER = re.compile(r"\s*(?:[距到至与和跟及、的（(]|之间|之差|から|まで|と|の|より|以来|間|都是|均为|都为|はいずれも"
                            r"|are\s+(?:both\s+|all\s+)?(?:numbers|integers|dates))")
"""Around a name after a compute verb: words that make it what the value is computed *from* ("days since last_login",
"sign_date 距今多少天", "start_date から", "A 到 end_date 之间"), or a type said of it ("a 和 b 都是数字"), so it is given, not computed."""


def _role(text: str, n: Named) -> str:
    role = _plain_role(text, n)
    if role == "computed" and (ARGUMENT_BEFORE.search(text[max(0, n.start - 30):n.start])
                               or ARGUMENT_AFTER.match(text[n.end:n.end + 4])):
        return "input"
    return role


def _plain_role(text: str, n: Named) -> str:
    """``input``, ``output`` or ``computed`` (a value the workflow works out itself and names): from the
    nearest role cue before the name in its clause (``用代码算出…天数 days``, ``write a memo as memo``,
    ``from incident_log``), else in its sentence; an output cue right after the name wins."""
    sentence_start = max([m.end() for m in SENTENCE.finditer(text, 0, n.start)] or [0])
    before = re.sub(r"\b(?:from|between)\s+-?\d+(?:\.\d+)?\s*(?:to|and|-)\s*-?\d+(?:\.\d+)?", lambda m: " " * len(m.group(0)),
                    text[sentence_start:n.start])  # "a score from 1 to 5": a range, not where a value comes from
    after = text[n.end:n.end + 12]
    if re.match(rf"\s*(?:{_cue_pattern('output_after')})", after, re.I):
        return "output"
    if re.search(r"[\u3040-\u30ff]", text):  # Japanese puts the verb after its object: "total をコードで計算し"
        tail = re.split(r"[、，,；;。！？!?\n]|\s[a-z][a-z0-9_]*(?=[\s（(\u3040-\u30ff\u3400-\u9fff]|$)", text[n.end:n.end + 40])[0]
        first = [(m.start(), kind) for key, kind in ROLE_CUES if _cue_pattern(key) for m in _cue_re(key).finditer(tail)]
        if not first and re.match(r"\s*(?:に|へ)\s*[、，,]", text[n.end:n.end + 6]):  # "keywords に、… description に出力"
            rest = re.split(r"[。！？!?\n]", text[n.end:])[0]
            first = [(m.start(), kind) for key, kind in ROLE_CUES if _cue_pattern(key) for m in _cue_re(key).finditer(rest)]
        condition = re.search(r"なら|場合|たら|ときは|時は|のとき", tail)
        if first and condition and condition.start() < min(first)[0] and re.match(r"\s*(?:[（(][^）)]*[）)])?\s*[がは]", tail):
            return "input"  # "気温 temperature（数値）が 30 以上なら…": the subject of a condition is compared, so given
        if re.match(r"\s*(?:[（(][^）)]*[）)])?\s*の(?!よう|形|形式)", text[n.end:n.end + 12]):
            return "input"  # "購入金額 amount（数値）の5%を…計算": what the next noun is of is given
        if first:  # the verb that governs the name is the first one after it ("keyword を入れると…記事を書いて")
            return min(first)[1]
    bare = re.sub(r"[（(][^（()）]*[)）]", " ", before)
    if re.search(r"\b(?:as|into)\s+`?$", bare) and not lx.has(bare[-25:], "io_give"):
        return "output"  # "list the action items (input notes) as action_items"
    clause = CLAUSE_BREAK.split(before)[-1]
    cjk = bool(lx.CJK.search(clause))
    paren = re.search(r"[（(]([^（()）]*)$", clause) if cjk else None
    own = (paren and _clause_role(paren.group(1), cjk)) or _clause_role(clause[:paren.start()] if paren else clause, cjk)
    if own:
        return own
    transform = _cue_pattern("io_transform")
    if transform and re.search(rf"(?:{transform})\s+(?!it\b|them\b)[\w\s'-]{{1,40}}?\bin\s+`?$", clause, re.I):
        return "input"  # "summarise the incident notes in incident_log": where the notes are, not where the result goes
    if re.search(r"\b(?:in|as|into)\s+`?$", before) and not lx.has(before[-25:], "input_word"):
        return "output"  # "a fixed notice in `notice`", "return it as ad"

    def last(name: str) -> int:
        ms = [m.end() for m in _cue_re(name).finditer(before)  # "variable" (de/es/fr input cue) is neutral
              if name != "input_word" or not lx.has(m.group(0), "variable_cue")] if _cue_pattern(name) else []
        return max(ms) if ms else -1

    out_at, in_at = last("output_word"), last("input_word")
    if out_at >= 0 and out_at >= in_at:
        return "output"
    return "input"


def _window(text: str, n: Named, names: list[Named]) -> str:
    """The words that describe ``n``: from the last separator before it to the next one after it
    (a parenthesis right after the name and an English apposition ``, a dropdown ...`` included)."""
    prev_end = max([o.end for o in names if o.end <= n.start] + [0])
    opened = max(text.rfind("(", 0, n.start), text.rfind("（", 0, n.start))
    if opened > max(text.rfind(")", 0, n.start), text.rfind("）", 0, n.start), prev_end - 1) and n.start - opened <= 40:
        until = opened  # "an uploaded invoice (file, variable invoice)": the noun and the whole parenthesis describe it
    else:
        until = n.start
    seps = [m.end() for m in SEPARATOR.finditer(text, prev_end, until)]
    start = max(seps + [prev_end])
    if until < n.start and not lx.CJK.search(text[start:until]):  # the noun the parenthesis names, not the verb before it:
        head = re.search(r"(?:\S+\s+){0,3}\S+\s*$", text[start:until])  # "count the words in the essay (essay)"
        start = max(start, until - len(head.group(0))) if head else start
    rest = text[n.end:]
    paren = re.match(r"\s*`?\s*[（(][^）)]*[）)]", rest)
    cut = paren.end() if paren else 0
    inside = re.match(r"[^（()）]{0,40}[)）]", rest) if until < n.start else None  # "(names, one per line)": all of it
    cut = max(cut, inside.end()) if inside else cut
    nxt = [o.start - n.end for o in names if o.start >= n.end]
    sep = SEPARATOR.search(rest, cut)
    end = min([sep.start() if sep else len(rest)] + nxt)
    if rest[end:end + 1] in (":", "："):
        stop = re.search(r"[)）。;；]|\.(?:\s|$)", rest[end:])
        end += stop.start() if stop else len(rest) - end
    apposition = re.match(r"\s*,\s*(?:a|an)\s+[^.;:)）]*", rest[end:])
    if apposition:
        end += min([apposition.end()] + [o - end for o in nxt if o >= end])
    return text[start:n.start] + " " + rest[:max(end, cut)]


def options(window: str) -> list[str]:
    """The choices a window lists: quoted items, or a list after ``with``/``options``/``:``/``（``."""
    quoted = re.findall(r"[「“\"«„]\s?([^」”“\"»]{1,20}?)\s?[」”“\"»]", window)
    if len(quoted) >= 2:
        return quoted
    for lead in (r"options?", r"[:：]", r"with|whether it'?s|choices?", r"[（(]"):
        for m in re.finditer(rf"(?:{lead})\s*(?:the\s+)?(?:options\s+)?([^.;。；)）:：]+)", window, re.I):
            body = re.sub(r"(?:[一二三四五六七八九十\d]+选一|の?\d+択|\s+(?:as|to|so|for)\s.*$)", "", m.group(1))
            items = [i.strip(" .,'\"") for i in re.split(r"\s*(?:,|、|，|／|/|\bor\b|\band\b|还是|或)\s*", body)
                     if i.strip(" .,'\"") and not lx.has(i, "select")]  # "(junior / mid / senior, a select)"
            if len(items) >= 2 and all(len(i.split()) <= 3 and len(i) <= 20 for i in items):
                return items
    return []


NAME_SUFFIX = (("file-list", r"_(?:files|pdfs|docs|documents|images|photos|attachments)$"),
               ("file", r"_(?:file|pdf|doc|docx|document|image|photo|img|attachment|upload)$"),
               ("number", r"(?:^|_)(?:num|amount|price|qty|quantity|age|cm|kg|km|days|hours|percent|pct|usd|eur|yen|rmb|rate)$"))
"""A name's own suffix says its type (``minutes_file``, ``height_cm``): stronger than words about other things.
Suffixes of computed values (``_count``, ``_total``, ``_score``) are left out: those names are often results."""


def suffix_type(name: str) -> str | None:
    """The type a variable name's suffix implies, or None."""
    return next((kind for kind, pattern in NAME_SUFFIX if re.search(pattern, name, re.I)), None)


def _head_is_file(window: str) -> bool:
    """File cue with no text-like noun, or the file noun after it (the head: ``議事録ファイル``, ``essay PDF``)."""
    files = lx.all_matches(window, "file")
    if not files:
        return False
    texts = lx.all_matches(window, "paragraph")
    return not texts or files[-1].start() > texts[-1].start()


def infer_type(window: str, role_lang: tuple[str, ...]) -> tuple[str, list[str], list[str]]:
    """(Dify start-variable type, options, file types) implied by the words around a name."""
    not_number = lx.category("not_number")
    window = not_number.sub(" ", window) if not_number else window  # "phone numbers in the draft" is not a number
    if lx.has(window, "files"):
        return "file-list", [], ["image"] if lx.has(window, "image") else ["document"]
    if _head_is_file(window):
        return "file", [], ["image"] if lx.has(window, "image") and not re.search(r"pdf|doc|文档|文件", window, re.I) else ["document"]
    if lx.has(window, "select"):
        opts = options(window)
        if opts:
            return "select", opts, []
    if lx.has(window, "number") or re.search(r"[（(]\s*(?:(?:a|an)\s+)?(?:number|integer|float|decimal|numeric)s?\s*[)）,，]",
                                               window, re.I):
        return "number", [], []  # "cart_total (number)": the type said in the naming parenthesis
    if lx.has(window, "paragraph"):
        return "paragraph", [], []
    return "text-input", [], []


def _describe(text: str, n: Named, names: list[Named]) -> str:
    """The clause around an output name, without the name itself: what the output is."""
    starts = [m.end() for m in SENTENCE.finditer(text, 0, n.start)]
    s = max(starts + [0])
    e_m = SENTENCE.search(text, n.end)
    clause = text[s:e_m.start() if e_m else len(text)]
    if lx.CJK.search(clause):  # "…算出天数 days，再写一段提醒 reminder": the comma clause of the name, when it says enough
        at = n.start - s
        breaks = re.compile(CLAUSE_BREAK.pattern + "|、") if re.search(r"[\u3040-\u30ff]", clause) else CLAUSE_BREAK
        parts = [(m.start(), m.end()) for m in breaks.finditer(clause)]
        lo = max([b for _, b in parts if b <= at] + [0])
        hi = min([a for a, _ in parts if a >= at + len(n.name)] + [len(clause)])
        own = clause[lo:hi]
        said = re.sub(rf"(?:{_cue_pattern('io_return')}|{_cue_pattern('output_named')})", "", own.replace(n.name, ""))
        if len(lx.CJK.findall(said)) >= 4:  # the clause says what the output is, not only "作为 … 输出"
            clause = own
    for o in names:
        clause = re.sub(rf"`?\b{re.escape(o.name)}\b`?", "", clause) if not lx.CJK.search(clause) else clause.replace(o.name, "")
    clause = re.sub(r"\s+", " ", re.sub(r"[（(]\s*[）)]", "", clause)).strip(" ,，、:：")
    clause = re.sub(rf"[，,、]?\s*(?:{_cue_pattern('output_named')})\s*$", "", clause, flags=re.I).strip(" ,，、:：")
    said = re.sub(rf"(?i:{_cue_pattern('output_named')}|{_cue_pattern('io_return')})|\b(?:and|or|as|the|both|them)\b|[,，、:：]", "",
                  clause)
    return clause if said.strip() else ""  # "return poem and picture": the list says nothing of what each is


def _sentence(text: str, n: Named) -> str:
    s = max([m.end() for m in SENTENCE.finditer(text, 0, n.start)] + [0])
    e = SENTENCE.search(text, n.end)
    return text[s:e.start() if e else len(text)]


def _respectively(text: str, outputs: list[Named]) -> dict[str, str]:
    """``A、B、C，分别放在输出 x、y、z`` / ``A, B and C, respectively as x, y, z``: item i describes output i."""
    m = lx.find(text, "respectively")
    if not m or len(outputs) < 2:
        return {}
    before = text[:m.start()]
    s = max([x.end() for x in re.finditer(r"[：:。；;]", before)] + [0])
    items = [i.strip(" ，,") for i in re.split(r"\s*(?:、|，|,|\band\b|和)\s*", before[s:]) if i.strip(" ，,")]
    if len(items) >= len(outputs):
        return {o.name: item for o, item in zip(outputs, items[-len(outputs):], strict=False)}
    return {}


def output_source(description: str, lang: str) -> str:
    """What produces an output, from its description: an export/tts tool, code, a translation, or an LLM."""
    if lx.has(description, "tool_export"):
        kind = "pdf" if re.search(r"pdf", description, re.I) else ("pptx" if re.search(r"ppt|powerpoint|スライド", description, re.I) else "docx")
        return f"tool:md_exporter_{kind}"
    if lx.has(description, "tool_tts"):
        return "tool:tts"
    if lx.has(description, "translate") or len([c for c in lx.language_in(description) if c != lang]) == 1:
        langs = lx.language_in(description)
        if langs:
            return f"translate:{langs[-1]}"
    if lx.has(description, "code") or re.search(r"number of words|word count|字数|文字数", description, re.I):
        return "code"
    return "llm"


def asks_for_chat(text: str) -> bool:
    """Whether the text asks for a chat app: a chat or conversation word (lexicon ``chat``) that does not name
    data the workflow reads. A chat word right before a data noun (``chat_content``: transcript, log, 记录,
    ログ ...) is content: "客服对话记录", "the chat transcript", "チャットのログ" are inputs, not the app's mode."""
    plain = re.sub(r"https?://\S+", " ", text)  # chat.example.com is an address, not an ask
    content = _cue_pattern("chat_content")
    for m in lx.all_matches(plain, "chat"):
        if not (content and re.match(rf"[a-z]*\s*(?:の|的)?\s*(?:{content})", plain[m.end():m.end() + 16], re.I)):
            return True
    return False


def writing_language(text: str) -> str:
    """The language titles and prompts are written in: one the text asks for, else the text's own."""
    for sentence in SENTENCE.split(text):
        if re.search(r"node titles?|titles? and prompts?|prompts?|标题|提示词|タイトル|プロンプト|Knotentitel", sentence, re.I):
            named = [c for c in lx.language_in(sentence) if c in lx.languages()]
            if named:
                return named[0]
    return lx.detect(text)


EFFECTS = ("impossible_physical", "impossible_money", "impossible_post")
"""Effects no Dify node has: each needs an action (``<key>_act``) and what it acts on (``<key>_obj``) in one
sentence, so "water the plants" or "振り込み ... 口座" is caught in any wording, and "pay attention" is not."""


def impossible(text: str) -> list[str]:
    """Why parts of the ask are beyond any workflow: a listed device or capture (printer, screen, training,
    live capture), or an effect in the world (physical actuation, moving money, paper mail)."""
    found = [key for key in ("impossible_print", "impossible_screen", "impossible_train", "impossible_live")
             if lx.has(text, key)]
    for key in EFFECTS:
        if any(lx.has(s, f"{key}_act") and lx.has(s, f"{key}_obj") for s in SENTENCE.split(text)) or lx.has(text, key):
            found.append(key)
    return [lx.reason(key) for key in dict.fromkeys(found)]


RUN_GAP = re.compile(r"\s*(?:[、・,，/／]|\bor\b|\band\b|\bou\b|\bet\b|\boder\b|\bund\b|\bo\b|\by\b|或者?|还是|和|与|及|と|や|か)?\s*(?:\bor\b|\band\b)?\s*")
"""What may stand between two enumerated quoted items: a list separator or a conjunction, nothing else."""


def _quoted_run(sentence: str, count: int | None = None) -> list[str]:
    """The first run of two or more short quoted items next to each other in any quote style (``「A」「B」``,
    ``"A", 'B' or “C”``): the enumerated classes, not a fixed reply quoted later in the sentence. With a
    stated ``count`` ("three classes", "三类", "3つ") the run must have that many items."""
    runs: list[list[str]] = []
    last_end = -1
    for start, end, inner in quoted_spans(sentence):
        short = len(inner) <= 12 or not lx.CJK.search(inner) and len(inner.split()) <= 3
        if runs and last_end >= 0 and short and RUN_GAP.fullmatch(sentence[last_end:start]):
            runs[-1].append(inner.strip(" ,.;:，。"))
        else:
            runs.append([inner.strip(" ,.;:，。")] if short else [])
        last_end = end if short else -1
    runs = [r for r in runs if len(r) >= 2]
    if count:
        return next((r for r in runs if len(r) == count), [])
    return runs[0] if runs else []


def class_count(sentence: str) -> int | None:
    """The number of classes a sentence states: ``three classes``, ``三类``, ``3つのカテゴリ``; None if none."""
    return stated_count(sentence, "class_unit")


def cjk_classes(text: str) -> list[str]:
    """Classes enumerated after a classify or decide/judge verb, in any language: quoted items in any
    quote style (「A」「B」, "A", 'B' or “C”; with a stated count, the run of that many) or a list
    (``是A、B还是C``, ``whether it is a A, a B or a C``, ``A・B・C のどれか``)."""
    for sentence in SENTENCE.split(text):
        if not (lx.has(sentence, "classify") or lx.has(sentence, "decide")):
            continue
        quoted = _quoted_run(sentence, class_count(sentence)) or _quoted_run(sentence)
        if len(quoted) >= 2:
            return list(dict.fromkeys(quoted))
        cues = sorted(lx.all_matches(sentence, "classify") + lx.all_matches(sentence, "decide"), key=lambda c: c.start())
        # "进行分类：物流、质量、其他", "分为咨询、投诉和建议三类", "做情感判断，分成正面、负面、中性三类": after any of its cues
        listed = (re.match(r"(?:[^：:，。；]{0,8}?(?:[:：]|为|成|到)|)\s*([^\s，。；：:「」“”\d]{1,10}(?:\s*[、・]\s*[^\s，。；：:、「」“”\d]{1,10})+"
                           r"(?:\s*(?:和|与|及|或)\s*[^\s，。；：:、和与及或「」“”\d]{1,10})?)(?![\d])", sentence[c.end():])
                  for c in cues)
        lm = (re.search(r"(?:是|为|成|into)\s*([^，。；]+?(?:还是|或者|或)[^，。；还]+)", sentence)
              or re.search(r"([^\s、。，「」がはを]{1,10}(?:[、・][^\s、。，「」]{1,10})+)\s*の?(?:どれ|いずれ)", sentence)
              or next((m for m in listed if m), None)
              or re.search(r"([^\s、。，「」がはを]{1,10}(?:[、・][^\s、。，「」]{1,10})+)\s*(?:の\s*\d+\s*つ)?\s*に(?:分類|振り分け|仕分け|分け)", sentence))
        if lm:
            body = re.sub(rf"\s*(?:{ROUNDS}\s*(?:{_cue_pattern('class_unit')}|类|种|個|つ)\S*)$", "", re.sub(r"(?:中的一种|之一)$", "", lm.group(1)))  # "…三类": the count, not an item
            items = [re.sub(r"(?:中的一种|之一|等|の)$", "", i.strip()) for i in re.split(r"、|・|还是|或者|或|和|与|及", body) if i.strip()]
            if 2 <= len(items) <= 8 and all(len(i) <= 10 for i in items):
                return items
        lm = re.search(r"\b(?:whether|if)\s+(?:it|this|the\s+[\w-]+(?:\s+[\w-]+){0,2}(?:\s*\([^)]*\))?)\s+(?:is|'s)\s+"
                       r"(?:(?:written|said|asked)\s+)?(?:in\s+|about\s+)?((?:(?:a|an)\s+)?[\w -]+?"
                       r"(?:,\s*(?:(?:a|an)\s+)?[\w -]+?)*,?\s+or\s+(?:(?:a|an)\s+)?[\w-]+(?:\s[\w-]+)?)\s*(?=[,.;:]|$)", sentence, re.I)
        if lm:
            items = [re.sub(r"^(?:a|an|about|in|written in)\s+", "", i.strip(), flags=re.I)
                     for i in re.split(r"\s*,\s*(?:or\s+)?|\s+or\s+", lm.group(1)) if i.strip()]
            if 2 <= len(items) <= 8 and all(len(i.split()) <= 3 for i in items):
                return items
    return []


def stated_count(sentence: str, unit: str) -> int | None:
    """The number a sentence states for a unit cue: ``three classes``, ``三类``, ``3つの観点``; None if none."""
    pattern = _cue_pattern(unit)
    m = re.search(rf"(?<![A-Za-z]){ROUNDS}\s*(?:つの|个|種類の|種類|different\s+)?\s*(?:{pattern})", sentence, re.I) if pattern else None
    if not m:
        return None
    raw = m.group(1).lower()
    return int(raw) if raw.isdigit() else WORD_NUMBERS.get(raw)


def _counted_list(body: str, count: int) -> list[str]:
    """``count`` short items in a row joined by list separators (``A・B・C``, ``A、B和C``, ``A, B and C``) in ``body``."""
    for sep in (r"・", r"、|和|与|及", r"，", r",\s*(?:and\s+|or\s+)?|\s+and\s+|\s+or\s+"):
        parts = re.split(rf"\s*(?:{sep})\s*", body)
        for i in range(len(parts) - count + 1):
            window = list(parts[i:i + count])
            window[0] = re.split(r"[、，,:：をはが从对就]|\b(?:for|on|by|from|of|about|angles?)\s", window[0])[-1]
            window[-1] = re.split(rf"[、，,。]|\s(?:at|in|simultaneous\w*|side)\b|の?(?<![A-Za-z]){ROUNDS}\s*(?:つの|个|種類の)?", window[-1])[0]
            items = [re.sub(r"^(?:the|a|an)\s+", "", p.strip(" .'\""), flags=re.I) for p in window]
            if all(0 < len(x) <= (16 if lx.CJK.search(x) else 32) and len(x.split()) <= 4 for x in items):
                return items
    return []


def facets(text: str) -> list[str]:
    """Independent parts to run side by side: the list in the sentence with a parallel cue."""
    for sentence in SENTENCE.split(text):
        # 分别 is both a parallel and a "respectively" cue: a sentence with it needs a parallel cue of its own (同时)
        own = [c for c in lx.all_matches(sentence, "parallel") if not lx.has(c.group(0), "respectively")]
        m = own[0] if own else lx.find(sentence, "parallel")
        if not m or lx.has(sentence, "respectively") and not own:
            continue
        candidates = re.findall(r"[（(:：]\s*([^)）]+)", sentence) + [sentence[m.end():], sentence[:m.start()]]
        count = stated_count(sentence, "facet_unit")
        said = _quoted_run(sentence, count) if count else _quoted_run(sentence)
        if 2 <= len(said) <= 6:
            return said  # "「コスト」「リスク」「実現性」の3つの観点で並行して"
        for body in candidates if count else []:
            items = _counted_list(body, count)
            if items:
                return items
        for body in candidates:
            body = re.sub(r"^.*?(?:extract|analy[sz]e|write|evaluate|评估|分析)\s+(?:the\s+)?", "", body, flags=re.I) if "," in body else body
            items = [i.strip(" .,'") for i in re.split(r"\s*(?:,|、|・|，|\band\b|\bet\b|\bund\b|\by\b|和)\s*", body) if i.strip(" .,'")]
            items = [re.sub(r"^(?:the|le|la|les|des|a|an)\s+|^(?:one|another)\s+(?:for|on|about)\s+(?:the\s+)?", "", i, flags=re.I)
                     for i in items]  # "one for security, one for performance"
            items = [re.sub(r"(?:の\d+つの観点で.*|sections?$|\s+in parallel.*|\s+at once.*)", "", i).strip() for i in items]
            items = [i for i in items if i and len(i) <= 60 and len(i.split()) <= 8]
            if 2 <= len(items) <= 6:
                return items
    return []


def tools(text: str) -> list[str]:
    """Tool keys the text asks for (a named search tool, tts, export, chart, image generation)."""
    found = []
    for key in ("tavily", "duckduckgo", "jina"):
        if lx.has(text, f"tool_{key}"):
            found.append(key)
    if lx.has(text, "tool_tts"):
        found.append("tts")
    if lx.has(text, "tool_image"):
        found.append("text2image")
    # a file type said of an upload ("documents (PDF, DOCX, TXT)", "上传一份说明书 manual（PDF）") is not an export
    def upload_types(m: re.Match) -> str:
        listed = re.search(r"[,，、/]", m.group(0))
        return " " if listed or lx.has(text[max(0, m.start() - 30):m.start()], "input_word") else m.group(0)

    asked = re.sub(r"[（(]\s*[A-Za-z]{2,5}(?:\s*[,，、/]\s*[A-Za-z]{2,5})*\s*[)）]", upload_types, text)
    for sentence in SENTENCE.split(asked):  # an export verb with a file format in the same sentence
        export = lx.find(sentence, "tool_export")
        verb = re.search(r"export|导出|書き出|エクスポート", sentence, re.I) and re.search(r"word|docx|pdf|pptx|powerpoint", sentence, re.I)
        if export and (verb or re.search(r"download|下载|ダウンロード|word|docx|文档|ファイル", sentence, re.I)):
            found.append(output_source(sentence[max(0, export.start() - 20):export.end() + 20], "en").removeprefix("tool:"))
            break
    if lx.has(text, "tool_chart"):
        found.append("chart")
    if re.search(r"wikipedia", text, re.I):
        found.append("wikipedia")
    if re.search(r"yahoo", text, re.I):
        found.append("yahoo")
    return [t for t in dict.fromkeys(found) if not t.startswith("llm")]


CONSTANT = re.compile(r"(?<![A-Za-z0-9_\[{.-])([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)(?![A-Za-z0-9_\]}-])")


def find_literals(text: str, named: list[Named] | None = None) -> list[str]:
    """Strings the workflow must carry verbatim into the step that uses them: quoted strings (「」“”"" ''),
    bracket tokens (``[EMAIL]``), ALL_CAPS constants (``HOLIDAYS``, ``LGTM``), the keys of a JSON shape
    (``{full_name, email}``) and the values of an enumerated choice ("exactly one of pricing, usability ...").
    Variable names, URLs and technical words are not literals."""
    names = {n.name for n in named or []}
    clean = re.sub(r"https?://\S+", " ", text)
    found: list[str] = []
    for value in (v.strip() for v in quoted(clean, 40)):  # a longer quote is a sentence, not a literal
        if value and "{" not in value:
            found.append(value)
    found += re.findall(r"\[[A-Z][A-Z0-9_ ]{1,20}\]|<[A-Z][A-Z0-9_]{1,20}>", clean)
    for m in CONSTANT.finditer(clean):
        word = m.group(1)
        if (len(word) >= 4 or "_" in word) and word.lower() not in TECHNICAL and not re.fullmatch(r"[A-Z]{1,3}\d*", word) \
                and not re.fullmatch(r"(?:YYYY|MM|DD|HH)(?:[-_/]?(?:MM|DD|HH|SS))*", word):
            found.append(word)
    for m in re.finditer(r"\{([^{}]{3,120})\}", clean):
        keys = re.findall(r"[a-z][a-z0-9_]*", m.group(1))
        if len(keys) >= 2 and re.search(r",", m.group(1)):
            found += keys
    for m in re.finditer(r"\b(?:exactly\s+)?one\s+of\s+((?:[a-z][\w-]*\s*,\s*)+(?:(?:and|or)\s+)?[a-z][\w-]*)\b", clean, re.I):
        found += [w for w in re.split(r"\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+", m.group(1)) if w]
    return [w for w in dict.fromkeys(found) if w not in names and w.lower() not in FUNCTION_WORDS]


def env_constants(text: str) -> list[str]:
    """``NAME`` of each environment variable the requirement names (``the environment variable HOLIDAYS``)."""
    return list(dict.fromkeys(m.group(1) for m in re.finditer(
        rf"(?:{_cue_pattern('env_word')})\s*`?([A-Z][A-Z0-9_]{{2,}})`?", text, re.I)))


def redact_urls(text: str) -> str:
    """``text`` with the credential query parameters of its URLs removed (descriptions, purposes, goals)."""
    return re.sub(r"https?://[^\s,;)'\"，。；）]+", lambda m: url_secrets(m.group(0))[0], text)


def enrich(spec: RequirementSpec, text: str) -> RequirementSpec:
    """Complete ``spec`` (from the English rules) with the contract parts read through the lexicons."""
    text = " ".join(text.split())
    lang = writing_language(text)
    update: dict = {"language": lang, "tools": tools(text), "no_model": lx.no_model(text),
                    "facets": facets(text), "unsupported": list(dict.fromkeys(spec.unsupported + impossible(text)))}
    named = find_named(text)
    update["literals"] = find_literals(text, named)
    for literal in update["literals"]:  # “会议主题 / 参会人 / 决议事项” in a sentence about the layout: the sections
        items = [i.strip() for i in re.split(r"\s*[/／、・|｜]\s*", literal) if i.strip()]
        sentence = next((s for s in SENTENCE.split(text) if literal in s), "")
        if 2 <= len(items) <= 8 and all(len(i) <= 20 for i in items) and lx.has(sentence, "io_sections"):
            update["sections"] = items
            update["capabilities"] = list(dict.fromkeys([*spec.capabilities, "template"]))
            break
    # A chat app when the text says chat/conversation; a bot or assistant word alone ("翻译助手",
    # "アシスタント") makes one only when no output variable is named (named outputs are a workflow's contract).
    asked = " ".join(s for s in SENTENCE.split(text) if not (re.search(r"https?://", s) or lx.has(s, "io_deliver")))
    chat = (asks_for_chat(text) or spec.app_mode == "advanced-chat"  # a bot a webhook posts to is not a chat ask
            or (lx.has(asked, "chat_weak") and not any(n.role == "output" for n in named)))
    chat = chat and not lx.has(text, "not_chat")
    update["app_mode"] = "advanced-chat" if chat else "workflow"
    memory = [n for n in named if chat and lx.has(text[max(0, n.start - 24):n.start], "conv_var")]
    if memory:  # "用会话变量 user_name 记住", "会話変数 nickname に覚えて", "a conversation variable mood"
        known = {c.name for c in spec.conversation_vars}
        update["conversation_vars"] = [*spec.conversation_vars, *(ConversationVar(name=n.name, description=_sentence(text, n).strip())
                                                                   for n in memory if n.name not in known)]
        update["capabilities"] = list(dict.fromkeys([*spec.capabilities, "memory"]))
        named = [n for n in named if n not in memory]
    env = _cue_pattern("env_word")
    from_env = [n for n in named if env and re.match(
        rf"\s*(?:is\s+|are\s+|comes\s+)?(?:taken\s+|read\s+)?(?:from|从|取自|来自|は|を)\s*(?:the\s+|an?\s+)?(?:{env})\s*`?[A-Z][A-Z0-9_]{{2,}}",
        text[n.end:n.end + 48], re.I)]
    named = [n for n in named if n not in from_env]  # "access_token 从环境变量 DINGTALK_TOKEN 读取": a secret, not an input
    ins = [n for n in named if n.role == "input"]
    outs = [n for n in named if n.role == "output"]
    computed = [n for n in named if n.role == "computed"]
    if ins:
        inputs = []
        for n in ins:
            window = _window(text, n, named)
            kind, opts, files = infer_type(window, (lang,))
            sentence = _sentence(text, n)
            lead = SEPARATOR.split(text[max(0, n.start - 60):n.start])[-1]
            if kind == "text-input" and lx.has(lead, "select"):  # "a dropdown called tone with the options A, B and C"
                opts = options(text[n.end:n.end + len(sentence)].split("。")[0])
                kind = "select" if opts else kind
            if kind == "text-input" and sum(o.name in sentence for o in named) == 1:
                kind, opts, files = infer_type(sentence, (lang,))
                if kind == "number" and suffix_type(n.name) != "number":
                    kind = "text-input"  # "count its words" says what is made, not what the user types
            listed = re.search(r"([^。；;.!?！？，,]{2,40})[:：]([^。；;:：!?！？]{0,80})$", text[max(0, n.start - 120):n.start])
            if kind in ("text-input", "paragraph") and listed and _head_is_file(listed.group(1)) and not any(
                    lx.has(part, key) for part in (listed.group(2), text[n.end:n.end + 6]) for key in ("paragraph", "io_give")):  # "上传两份合同：旧版 old_contract 和新版 new_contract": each a file
                kind, opts, files = "file", [], ["image"] if lx.has(listed.group(1), "image") else ["document"]
            own = suffix_type(n.name)
            if own and (own.startswith("file") or kind in ("text-input", "paragraph")):
                kind, opts, files = own, [], (files or ["document"]) if own.startswith("file") else []
            old = next((i for i in spec.inputs if i.name == n.name), None)
            label = cjk_label(text[:n.start]) if lx.CJK.search(text) else None
            inputs.append(InputVar(name=n.name, label=label or (old.label if old else n.name.replace("_", " ")), type=kind,  # type: ignore[arg-type]
                                   options=opts, file_types=files, explicit=True))  # type: ignore[arg-type]
        _shared_types(text, named, inputs)
        update["inputs"] = inputs
    if outs and not chat:
        mapped = _respectively(text, outs)
        outputs = []
        for n in outs:
            paren = re.match(r"\s*`?\s*[（(]([^）)]{2,40})[）)]", text[n.end:])
            desc = mapped.get(n.name) or (paren.group(1) if paren and n.role == "output" else n.desc or _describe(text, n, named))
            source = output_source(desc, lang)
            sentence = _sentence(text, n)
            wide = output_source(sentence, lang)
            if source == "llm" and wide.startswith("tool:") and wide.removeprefix("tool:") in tools(sentence):
                source = wide  # "导出成 Word 文档，文件通过 minutes_docx 输出": the export makes it
            noun = text[max(0, n.start - 8):n.start] + " " + n.name.replace("_", " ")
            if source == "llm" and "text2image" in update["tools"] and lx.has(noun, "media_image"):
                source = "tool:text2image"  # "输出图片 image", "return the poster as poster": the generated picture
            exports = [t for t in update["tools"] if t.startswith("md_exporter")]
            if source == "llm" and len(exports) == 1 and re.fullmatch(rf"(?:the\s+|this\s+|that\s+|该|这个|その)?(?:{_cue_pattern('file')})\s*",
                                                                     desc.strip(), re.I):
                source = f"tool:{exports[0]}"  # "export it as a PowerPoint file. Output the file as deck"
            if source == "code" and computed and lx.has(desc, "io_produce") and not lx.has(desc, "code_step"):
                source = "llm"  # "その合計を使ってお礼メールを書いて": written from a computed value, not computed itself
            outputs.append(OutputVar(name=n.name, description=desc, source=source, explicit=True))
        update["outputs"] = outputs
    if computed and not chat:  # "用代码算出…多少天 days": a code step makes it, later steps read it
        update["outputs"] = [OutputVar(name=n.name, description=_describe(text, n, named), source="code", explicit=True,
                                       intermediate=True) for n in computed] + update.get("outputs", [])
        # the code step a clause asks for ("calculate amount_due with code") is that value's own step
        update["code_steps"] = [c for c in spec.code_steps if not any(re.search(rf"\b{n.name}\b", c) for n in computed)]
    from core.agents.rules import (  # rules calls enrich: imported here to avoid a cycle
        numeric_condition,
        slug,
    )

    numbers = tuple(i.name for i in update.get("inputs", spec.inputs) if i.type == "number")
    gate = find_gate(text, [(n.name, n.start) for n in outs], numbers) if not spec.classes else None
    scored = any(numeric_condition(b.condition) for b in spec.branches)
    if gate and scored and not gate.then_outputs and not numbers:
        gate = None  # "score it 1-10 ... if the score is above 7": the rules' scoring branch already does this
    if gate:
        update["gate"] = gate
        if gate.no_model and not lx.no_model(text.replace(gate.then_text, "")):
            update["no_model"] = False  # "without a model call" belongs to that path only
        inputs = update.get("inputs", spec.inputs)
        typed = re.search(rf"\b(?:type|enter|give|provide|input)s?\s+(?:the|a|an|their|its)?\s*{re.escape(gate.subject)}\b", text, re.I)
        if typed and not any(i.type == "number" for i in inputs):
            update["inputs"] = [*inputs, InputVar(name=slug(gate.subject), label=gate.subject, type="number")]
    _each(spec, text, update)
    caps = update.get("capabilities", spec.capabilities)
    if "retrieval" in caps and not lx.has(text, "knowledge_store") and any(
            i.type in ("file", "file-list") for i in update.get("inputs", spec.inputs)):
        update["capabilities"] = [c for c in caps if c != "retrieval"]  # "the manual (PDF) …": the upload is read, not searched
    if spec.http_calls:
        names = {i.name for i in update.get("inputs", spec.inputs)}
        calls = [_secrets(call, text) for call in spec.http_calls if call.url or "url" in names]
        update["http_calls"] = calls
        update["goal"] = redact_urls(spec.goal)
        if not calls:  # a vague mention ("our CRM webhook sends ...") with no address to call
            update["capabilities"] = [c for c in update.get("capabilities", spec.capabilities) if c != "http"]
    loop = loop_rule(text)
    if loop and not spec.iteration_target:
        update["loop"] = loop
        update["capabilities"] = list(dict.fromkeys([*update.get("capabilities", spec.capabilities), "loop"]))
        update["gate"] = None  # a score in a loop's stop condition is not a path of its own
        from core.agents.rules import PASS_THROUGH

        if any(b.action == PASS_THROUGH for b in spec.branches):  # "if it fails, send the error back": the loop's body
            update["branches"] = []
            update["capabilities"] = [c for c in update["capabilities"] if c != "branching"]
    if not spec.classes and not update.get("iteration_target"):
        classes = cjk_classes(text)
        # an English "if"-branch read from a class list ("decide if it is critical, major or minor") gives way to it
        misread = [b for b in spec.branches if sum(c.lower() in f"{b.condition} {b.action}".lower() for c in classes) >= 2]
        if classes and (lx.CJK.search(text) or not spec.branches or misread):
            from core.agents.rules import class_actions

            update["classes"] = classes
            update["branches"] = class_actions(text, classes)
            update["capabilities"] = list(dict.fromkeys([*spec.capabilities, "classification", "aggregation"]))
    classes = update.get("classes", spec.classes)
    if classes and update.get("no_model"):
        from core.agents.rules import class_clause

        rest = text
        for name in classes:
            own = class_clause(text, name, classes)
            rest = rest.replace(own, "") if own else rest
        update["no_model"] = lx.no_model(rest)  # "その他はモデルを使わず…": that branch only, not the workflow
    return spec.model_copy(update=update)


CJK_LEAD = re.compile(r"^.*(?:的|个|份|段|篇|张|条|输入|上传|粘贴|填写|选择|选|把|将|和|与|及|或|是|に|の|を|は|が|と|で|た|る|や|へ|、)")
"""Up to the last particle, verb or counter before a name's own noun (``和新版``, ``テストの点数``, ``用户粘贴一段中文``)."""


def cjk_label(before: str) -> str | None:
    """The user's own noun right before a name in CJK text, as the form field's label: ``报销金额 amount``
    -> 报销金额, ``和新版 new_contract`` -> 新版, ``テストの点数 score`` -> 点数; None when there is none."""
    run = re.search(r"([\u3040-\u30ff\u3400-\u9fff]{1,12}(?:[A-Z]{2,5})?)\s*[（(]?\s*$", before)
    if not run:
        return None
    noun = CJK_LEAD.sub("", run.group(1))
    return noun if 2 <= len(noun) <= 8 else None


def _shared_types(text: str, named: list[Named], inputs: list[InputVar]) -> None:
    """``a and b (both numbers)`` / ``a 和 b（均为数字）``: a type said once for a group of names."""
    said = [(m.start(), m.group(1)) for m in re.finditer(r"[（(]\s*(?:both|all|均为|都是|いずれも)\s*([^)）]*)[)）]", text)]
    # "a and b are numbers", "a 和 b 都是数字", "a と b は数値": a type said of names listed together
    said += [(m.start(), m.group(1)) for m in re.finditer(
        r"(?<=[A-Za-z0-9_`])`?\s*(?:are|are both|are all|is|均为|都是|都为|はいずれも|は共に|はどちらも)\s*((?:(?:a|an)\s+)?[^.;,，。、)）]{1,20})", text)]
    for at, words in said:
        kind, _, _ = infer_type(words, ("en",))
        if kind == "text-input":
            continue
        group = [n for n in named if 0 <= at - n.end <= 40]
        for var in inputs:
            if any(var.name == n.name for n in group) and var.type == "text-input":
                var.type = kind  # type: ignore[assignment]


def _each(spec: RequirementSpec, text: str, update: dict) -> None:
    """Per-item work: several files make a file list; a pasted list (one per line, comma separated...)
    with an 'each' cue becomes an iteration over its items (the per-item step does any classifying)."""
    inputs = list(update.get("inputs", spec.inputs))
    files = [i for i in inputs if i.type in ("file", "file-list")]
    if files and lx.has(text, "files") and not any(i.explicit and i.type == "file" for i in files):
        main = files[0]
        main.type = "file-list"  # type: ignore[assignment]
        inputs = [i for i in inputs if i is main or i.type not in ("file", "file-list") or i.explicit]
        update["inputs"] = inputs
        return
    text = lx.without(text, "per_class")  # "分類ごとに要約", "a reply for each category": each class's branch
    if spec.iteration_target or not lx.has(text, "each"):
        return
    clauses = [c for c in CLAUSE_BREAK.split(text) if lx.has(c, "each")]
    if clauses and all(lx.has(c, "io_shape") for c in clauses):
        return  # "每条包含事项、负责人和截止日期": what each item of a result holds, not work per item
    listed = [i for i in inputs if i.type in ("paragraph", "text-input")]
    if files and not any(i.explicit for i in listed):
        listed = []
        inputs = [i for i in inputs if i.type in ("file", "file-list") or i.explicit]
        if lx.has(text, "list_cue"):
            update["iteration_target"] = lx.say(update.get("language", "en"), "item")
            update["inputs"] = inputs
            update["capabilities"] = [*update.get("capabilities", spec.capabilities), "iteration", "code"]
        return
    if listed and (lx.has(text, "list_cue") or lx.has(text, "each", ("zh", "ja", "ko"))):
        update["iteration_target"] = lx.say(update.get("language", "en"), "item")
        listed[0].type = "paragraph"  # type: ignore[assignment]
        update["inputs"] = inputs
        update["classes"] = []
        update["branches"] = [b for b in spec.branches if b.condition not in spec.classes]  # their rules go too
        update["capabilities"] = [c for c in update.get("capabilities", spec.capabilities)
                                  if c not in ("classification", "aggregation")] + ["iteration", "code"]


def secret_param(name: str) -> bool:
    """A query parameter or header whose value is a credential (``access_token``, ``api_key``, ``sign``...)."""
    words = {str(c).lower() for c in lx.cues("io_secret")}
    return name.lower() in words or any(part in words for part in re.split(r"[_-]", name.lower()) if part != "key") \
        or bool(re.search(r"(?:token|secret|password|apikey|api_key)$", name, re.I))


def url_secrets(url: str) -> tuple[str, dict[str, str]]:
    """``url`` without its credential query parameters, and those parameters as secret environment variable
    references (``access_token=abc`` -> ``{"access_token": "{{env.ACCESS_TOKEN}}"}``): a secret in a URL is
    neither a start input nor a literal of the workflow."""
    base, _, query = url.partition("?")
    if not query:
        return url, {}
    kept, secrets = [], {}
    for pair in query.split("&"):
        name = pair.partition("=")[0]
        if re.fullmatch(r"[A-Za-z_][\w-]*", name) and secret_param(name):
            secrets[name] = "{{env." + re.sub(r"\W", "_", name).upper() + "}}"
        else:
            kept.append(pair)
    return base + ("?" + "&".join(kept) if kept else ""), secrets


def _secrets(call, text: str):
    """Secrets from environment variables and constants of the body, as the user placed them: a Bearer
    token, a named header (``X-API-Key``), a query parameter (``key``), a credential written into the URL
    (``?access_token=...``), or ``field 设为/set to value``."""
    call = call.model_copy(deep=True)
    call.url, moved = url_secrets(call.url)
    call.params.update(moved)
    if moved:
        call.purpose = redact_urls(call.purpose)
    for m in re.finditer(rf"(?:{_cue_pattern('env_word')})\s*`?([A-Z][A-Z0-9_]{{2,}})`?", text, re.I):
        name, before = m.group(1), text[max(0, m.start() - 80):m.start()]
        ref = "{{env." + name + "}}"
        header = re.findall(r"([A-Z][A-Za-z]*(?:-[A-Za-z]+)+)\s+header|header\s+([A-Z][A-Za-z-]+)", before)
        param = re.search(rf"(?:{_cue_pattern('param_word')})\s*`?([A-Za-z_]\w*)`?", before, re.I)
        if re.search(r"bearer", before, re.I):
            call.headers["Authorization"] = "Bearer " + ref
        elif header:
            call.headers[next(h for h in header[-1] if h)] = ref
        elif param:
            call.params[param.group(1)] = ref
        else:
            call.headers["Authorization"] = "Bearer " + ref
    for m in re.finditer(r"([a-z_]{3,})\s*(?:设为|设置为|set to|=)\s*([A-Za-z_]\w*)", re.sub(r"https?://\S+", " ", text)):
        if not secret_param(m.group(1)):  # a credential is never a constant of the body
            call.body[m.group(1)] = m.group(2)
    return call
