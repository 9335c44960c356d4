"""Typed conditions in the requirement: "amounts over 10000 ...", "if it's $50 or less ...",
"分数达到 70 分及以上的 ...", "younger than 2 years ...". The comparison words come from the lexicons;
the result is a ``Gate``: what is compared, how, with which number, and what that path does."""

from __future__ import annotations

import re

from core.agents import lexicon as lx
from core.agents.models import Gate, LoopRule

NUMBER = r"\$?\s*(\d+(?:\.\d+)?)"
UNIT = r"\s*(?:[元分天年件行字個个%€点円回人歳岁度枚本台℃]|ポイント|kg|cm|km|euros?|dollars?|points?|days?|years?|lines?|words?|employees?)?\s*"
CLAUSE_END = re.compile(r"[;；。]|\.(?:\s|$)")
QUOTED = re.compile(r"«\s?([^»]{1,400}?)\s?»|„([^“”]{1,400})[“”]|「([^」]{1,400})」|『([^』]{1,400})』|“([^”]{1,400})”|‘([^’]{1,400})’|\"([^\"]{1,400})\"|(?<![A-Za-z])'([^'\n]{1,400})'(?![A-Za-z])")
"""Quoted text in any quote style (「」『』“”‘’ «» „“ "" ''); an apostrophe inside a word (user's) opens no quote."""


def quoted(text: str, longest: int = 400) -> list[str]:
    """The quoted strings of ``text`` in order, in any quote style, each at most ``longest`` characters."""
    return [inner for _, _, inner in quoted_spans(text) if len(inner) <= longest]


def quoted_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, inner text) of each quoted string of ``text``."""
    return [(m.start(), m.end(), next(g for g in m.groups() if g)) for m in QUOTED.finditer(text)]
PRONOUNS = {"it", "it's", "its", "they", "this", "that", "these", "which", "one", "ones"}
FILLER = {"and", "or", "but", "so", "is", "are", "was", "the", "a", "an", "if", "when", "any", "anything", "of", "with", "has", "have", "der", "die",
          "das", "liegt", "le", "la", "si", "el"}


def comparisons(text: str) -> list[tuple[int, int, str, str]]:
    """(start, end, operator, value) of each comparison with a number, in order."""
    found = []
    for kind in ("more_than", "less_than"):
        for m in lx.all_matches(text, kind):
            n = re.match(rf"\s*(?:than\s+)?{NUMBER}", text[m.end():])
            if n:
                op = ">" if kind == "more_than" else "<"
                after = text[m.end() + n.end():m.end() + n.end() + 8]
                word = m.group(0).lower()
                if lx.has(after, "or_more") or word in ("at least", "达到", "不低于", "以上"):
                    op = "≥"
                elif lx.has(after, "or_less") or word in ("at most", "不超过"):
                    op = "≤"
                found.append((m.start(), m.end() + n.end(), op, n.group(1)))
    for m in re.finditer(NUMBER, text):
        after = text[m.end():m.end() + 14]
        unit = re.match(UNIT, after)
        rest = after[unit.end():] if unit else after
        # number first: "80 点以上", "10 未満", "5 万円を超える" (the comparative after the number and its unit)
        for kind, op in (("or_more", "≥"), ("or_less", "≤"), ("more_after", ">"), ("less_after", "<")):
            cue = lx.find(rest, kind)
            if cue and cue.start() == 0 and not any(s <= m.start() < e for s, e, _, _ in found):
                found.append((m.start(), m.end() + (unit.end() if unit else 0) + cue.end(), op, m.group(1)))
                break
    return sorted(found)


def _subject(before: str) -> str:
    """The words naming what is compared: the noun just before the comparison."""
    before = re.sub(r"\s*[がはのをもで]\s*$", "", before.rstrip())  # ja particle after the subject: "在庫 stock が"
    if lx.CJK.search(before[-6:]) or re.search(r"[A-Za-z_]\s*$", before) and lx.CJK.search(before):
        m = re.search(r"([\u3400-\u9fff\u30a0-\u30ffA-Za-z_]{1,6})\s*$", before)
        return m.group(1) if m else ""
    named = re.search(r"[（(]\s*`?([A-Za-z_]\w*)`?[^()（）]*[)）]\s*(?:(?:is|are|was|were|gets?)\s*)?$", before)
    if named and named.group(1).lower() not in FILLER:  # "the temperature (temp, a number) is": the name given
        return named.group(1)
    words = [w for w in re.findall(r"[A-Za-z_][\w'-]*", before)[-4:] if w.lower() not in FILLER]
    return " ".join(words[-2:])


def find_gate(text: str, outputs: list[tuple[str, int]], numbers: tuple[str, ...] = ()) -> Gate | None:
    """The first comparison that states a condition (not a length limit), with its path's text and outputs.

    ``outputs``: (name, position) of the named outputs in ``text``.
    """
    comps = comparisons(text)
    for i, (start, end, op, value) in enumerate(comps):
        clause_start = max([m.end() for m in CLAUSE_END.finditer(text, 0, start)] + [0])
        lead = text[clause_start:start]
        sentence_end = CLAUSE_END.search(text, end)
        stems = {w[:4].lower() for n in numbers for w in n.split("_") if len(w) >= 4}
        rest = text[end:sentence_end.start() if sentence_end else len(text)]
        conditional = (lx.has(lead, "cond_word") or lx.has(rest, "else_word") or lx.has(text[end:end + 4], "cond_word")
                       or any(w[:4].lower() in stems for w in re.findall(r"[A-Za-z]{4,}", lead))
                       or re.match(rf"{UNIT}(?:及以上|以上|及以下|以下)?的", text[end:end + 6]))
        if not conditional:
            continue
        stops = [m.start() for m in CLAUSE_END.finditer(text, end)][:1]
        stops += [end + m.start() for m in re.finditer(r"[,，]\s*(?=(?:otherwise|else|sonst|sinon|否则)\b)", text[end:])][:1]
        stops += [c[0] for c in comps[i + 1:i + 2]]
        other = lx.find(text[end:], "else_word")
        if other:
            stops.append(end + other.start())
        stop = min(stops) if stops else len(text)
        then_text = re.sub(rf"^{UNIT}(?:及以上|以上|及以下|以下)?的?", "", text[end:stop], flags=re.I).strip(" ,，、:：")
        cond = lx.find(then_text[:4], "cond_word") or re.match(r"时", then_text)
        if cond and cond.start() == 0:  # "10 未満なら、…" / "不到 5 件时，…": the path starts after the condition word
            then_text = then_text[cond.end():].strip(" ,，、:：")
        subject = _subject(lead)
        if not subject or any(w in PRONOUNS for w in subject.lower().split()):
            subject = _previous_noun(text[:clause_start] + lead) or (numbers[0] if len(numbers) == 1 else "")
            # "given cart_total (number), … when it is 100 or more": "it" is the one number the user gives
        unit = re.match(r"\s*(lines?|words?|characters?|行|字)", text[end - 8:end + 8].split(value)[-1]) if value in text[end - 8:end + 8] else None
        if unit:
            subject = f"{subject} {unit.group(1)}".strip()
        fixed = [q for q in quoted(then_text, 200) if len(q) >= 2]
        return Gate(subject=subject or "value", operator=op, value=value, then_text=then_text,  # type: ignore[arg-type]
                    then_outputs=[n for n, pos in outputs if clause_start <= pos < stop],
                    no_model=lx.no_model(then_text) or lx.has(then_text, "fixed_word") or bool(fixed),
                    fixed_text=fixed[0] if fixed else "")
    return None


def _previous_noun(text: str) -> str:
    """``pull out the order total, and if it's ...`` -> ``order total`` (what was extracted or read last)."""
    found = re.findall(r"\b(?:pull(?:s|ing)? out|extract\w*|read\w*|get\w*|find\w*)\s+(?:the\s+)?([a-z]+(?:\s+[a-z]+)?)", text, re.I)
    return found[-1] if found else ""


ROUNDS = r"(\d+|one|two|three|four|five|six|seven|eight|nine|ten|一|二|两|三|四|五|六|七|八|九|十)"
WORD_NUMBERS = {w: i + 1 for i, w in enumerate("one two three four five six seven eight nine ten".split())} | {
    c: i + 1 for i, c in enumerate("一二三四五六七八九十")} | {"两": 2}


CJK_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"两": 2}


def cjk_number(raw: str, default: int | None = None) -> int | None:
    """Digits or a Chinese numeral up to 99 (三, 十, 十二, 二十, 二十三, 两) as a number, else ``default``."""
    raw = raw.strip()
    if raw.isdigit():
        return int(raw)
    tens, ten, ones = raw.partition("十")
    if ten:
        if (tens and tens not in CJK_DIGITS) or (ones and ones not in CJK_DIGITS):
            return default
        return CJK_DIGITS.get(tens, 1) * 10 + CJK_DIGITS.get(ones, 0)
    return CJK_DIGITS.get(raw, default)


def loop_rule(text: str) -> LoopRule | None:
    """A repeat-until: a loop cue with a round limit ("最多改 4 轮", "最大5回", "after 3 attempts", "cap of
    6 passes"), and the stop condition, wherever it is said (the loop's sentence, else the sentence with a
    stop or contains cue): a word the review must contain, or the comparison after "until" ("直到得分不低于 8")."""
    if not (lx.has(text, "loop") or lx.has(text, "loop_more")):
        return None
    limit = (re.search(rf"(?<![A-Za-z]){ROUNDS}\s*(?:轮|輪|回|次|times|rounds|passes|attempts|tries|rewrites|iterations|revisions)", text, re.I)
             or re.search(rf"(?:最多|最大|up to|at most|cap of|after)\s*(?:改\s*)?{ROUNDS}\b", text, re.I))
    if not limit:
        return None
    raw = limit.group(1).lower()
    rounds = int(raw) if raw.isdigit() else WORD_NUMBERS.get(raw, 3)
    cue = lx.find(text, "loop") or lx.find(text, "loop_more")
    sentence_start = max([m.end() for m in CLAUSE_END.finditer(text, 0, cue.start())] + [0])
    end = CLAUSE_END.search(text, cue.end())
    until = text[sentence_start:end.start() if end else len(text)]
    rule = LoopRule(max_iterations=max(1, min(rounds, 100)), until=until.strip(" ,，。"))
    stops = [until] + [s for s in CLAUSE_END.split(text) if s != until and (lx.has(s, "loop_stop") or lx.has(s, "contains_word"))]
    for part in stops:
        word = ([q for q in quoted(part, 20) if len(q) >= 2 and (lx.has(part, "contains_word") or lx.has(part, "loop_stop"))]
                or re.findall(r"(?<![A-Za-z])([A-Z]{3,})(?![A-Za-z])", part))
        if word:
            rule.stop_word = word[0]
            return rule
    for part in stops:
        after = lx.find(part, "loop_until")
        comps = comparisons(part[after.start():] if after else part)
        comps = [c for c in comps if not any(o is not c and o[0] <= c[0] and c[1] <= o[1] for o in comps)]  # 不低于 ⊃ 低于
        if comps:
            _, end, op, value = comps[0]
            clause = part[end:end + 24]  # the words right after the comparison: "…8分就重新翻译", "… 7, rewrite it"
            other = lx.find(clause, "else_word")
            clause = clause[:other.start()] if other else clause  # "…就停止，否则继续修改": the else is the going on
            if not after and not lx.has(clause, "loop_stop") and (lx.has(clause, "loop_more") or lx.has(clause, "loop", ("en", "zh", "ko"))):
                op = NEGATED[op]  # "低于8分就重新翻译", "below 7, rewrite it": the condition to go on, so the stop is its negation
            rule.stop_operator, rule.stop_value = op, value  # type: ignore[assignment]
            return rule
    return rule


NEGATED = {"<": "≥", "≤": ">", ">": "≤", "≥": "<", "=": "≠", "≠": "="}


CONTAINS_PREFIX = "contains "
"""Condition prefix of a branch that tests whether the text contains something (``contains "URGENT"``,
``contains a ticket key (like PAY-1234)``); the other path is ``otherwise``."""


def example_pattern(example: str) -> str:
    """A regular expression of the shape of an example: ``PAY-1234`` -> ``[A-Z]+-\\d+``, ``#42`` -> ``#\\d+``."""
    parts = []
    for m in re.finditer(r"[A-Z]+|[a-z]+|\d+|.", example):
        token = m.group(0)
        parts.append("[A-Z]+" if token.isupper() and token.isalpha() else "[a-z]+" if token.isalpha()
                     else r"\d+" if token.isdigit() else re.escape(token))
    return "".join(parts)


def contains_test(condition: str) -> tuple[str, str] | None:
    """``('literal', word)`` or ``('pattern', regex)`` of a ``contains ...`` branch condition, else None."""
    if not condition.startswith(CONTAINS_PREFIX):
        return None
    what = condition.removeprefix(CONTAINS_PREFIX)
    example = re.search(r"(?:like|e\.g\.?|such as|for example|for instance|如|例如|比如|例えば|たとえば)\s*[:：]?\s*"
                        r"[「“\"']?([A-Za-z0-9#@][\w#@./-]*[A-Za-z0-9])", what, re.I)
    if example and re.search(r"\d", example.group(1)):
        return "pattern", example_pattern(example.group(1))
    words = quoted(what, 40)
    if words:
        return "literal", words[0]
    return None
