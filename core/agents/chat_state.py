"""The conversation state of a chat app: what it remembers, how each turn changes it, what reads it.

``analyse`` reads the state model from the requirement through the lexicons (``memo_*`` cues, in every
lexicon language): an attribute the user states (level, name, team, a reservation's date), a counter
(questions asked, warnings given), a list (cart items); how a turn changes each one (over-write from
what the extractor found, ``+= 1``, ``extend`` with the new items, ``clear`` when the user asks to
reset); and what reads it (every reply; a limit on a counter that closes the conversation with a fixed
reply). ``turn`` writes the steps of one turn into a blueprint draft: limit check, reset, counting,
capture and the assigners; the architect then adds the reply, which reads the remembered values.
"""

from __future__ import annotations

import re

from core.agents import lexicon as lx
from core.agents.conditions import cjk_number
from core.agents.models import BranchRule, ConversationVar, Gate, Link, RequirementSpec

SENTENCE = re.compile(r"(?<=[.!?;])\s+|(?<=[。！？；\n])")
QUOTE = re.compile(r"[“\"「『«]([^”\"」』»]{1,160})[”\"」』»]")
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
            "ninth": 9, "tenth": 10}
PLACEHOLDER = re.compile(r"(?<![A-Za-z0-9_])(?:N|X|n|x)(?![A-Za-z0-9_])|[NＮ](?=\s*[个個回次问問件番])")
"""Where a quoted reply line leaves the counter's value open ("这是您本次对话的第 N 个问题")."""
FILLER_INPUTS = ("input", "topic")
"""Start variables the rules add to a workflow that names none; a chat takes ``sys.query`` instead."""


def _sentences(text: str) -> list[tuple[int, str]]:
    """(offset, sentence) pairs; a quoted reply ("You are muted. Ask a moderator.") stays inside its sentence."""
    quoted = [q.span() for q in QUOTE.finditer(text)]
    cuts = [m.end() for m in SENTENCE.finditer(text) if not any(a < m.start() < b for a, b in quoted)]
    out, start = [], 0
    for cut in [*cuts, len(text)]:
        if text[start:cut].strip():
            out.append((start, text[start:cut]))
        start = cut
    return out


def _langs(lang: str) -> tuple[str, ...]:
    """The lexicons whose thing words count in a text of ``lang`` (it, English, and both CJK ones), so that a word
    of another language (Spanish ``nombre`` in French ``le nombre de``) is not read as a thing."""
    return tuple(dict.fromkeys([lang, "en", *(("zh", "ja") if lang in ("zh", "ja") else ())]))


def _things(sentence: str, family: str, lang: str) -> list[tuple[int, int, str, str]]:
    """The remembered things of ``family`` (attr, count, list) a sentence names: (start, end, name, word), in order,
    longest match first where they overlap; a word used as a quantifier (``each time``, ``每次``) is not one."""
    hits = []
    for key in lx.cue_names(f"memo_{family}_"):
        pattern = lx.category(key, _langs(lang))
        for m in pattern.finditer(sentence) if pattern else ():
            before = re.findall(r"[A-Za-zÀ-ÿ]+|[^\sA-Za-z]", sentence[:m.start()])
            stop = lx.category("memo_not_before")
            if before and stop is not None and stop.fullmatch(before[-1]):
                continue
            hits.append((m.start(), m.end(), key.removeprefix(f"memo_{family}_"), m.group(0)))
    hits.sort(key=lambda h: (h[0], -(h[1] - h[0])))
    kept: list[tuple[int, int, str, str]] = []
    for hit in hits:
        if all(hit[0] >= k[1] or hit[1] <= k[0] for k in kept) and all(hit[2] != k[2] for k in kept):
            kept.append(hit)
    return kept


def _number(sentence: str) -> tuple[int, int] | None:
    """The first count a sentence names (``3``, ``third``, ``three``, ``第三``, ``3回``): (value, end offset)."""
    from core.agents.rules import NUMBER_WORDS  # rules imports this module

    words = {w: n for w, n in {**NUMBER_WORDS, **ORDINALS}.items() if w != "once"}  # "once they reach": a conjunction
    pattern = (r"(\d+)(?:st|nd|rd|th)?|(?<![A-Za-z])(" + "|".join(words) + r")(?![A-Za-z])"
               r"|第\s*([一二两三四五六七八九十])|([一二两三四五六七八九十])\s*(?=[次回度条問问])|([二两三四五六七八九十])\s*(?=[个個])")
    m = re.search(pattern, sentence, re.I)
    if not m:
        return None
    if m.group(1):
        return int(m.group(1)), m.end()
    if m.group(2):
        return words[m.group(2).lower()], m.end()
    return cjk_number(m.group(3) or m.group(4) or m.group(5)), m.end()  # "一个" is "a", "三个" is three


def _var(name: str, kind: str, description: str, label: str = "") -> ConversationVar:
    if kind == "counter":
        return ConversationVar(name=name, type="number", kind="counter", initial="0", update="+=", description=description,
                               label=label)
    if kind == "list":
        return ConversationVar(name=name, type="array[string]", kind="list", update="extend", description=description,
                               label=label)
    return ConversationVar(name=name, description=description, label=label)


def _english(word: str, *, singular: bool = False) -> str:
    """The snake_case name of an English cue word (``strikes`` -> ``strike``, ``shopping list`` -> ``shopping_list``)."""
    name = re.sub(r"[^a-z0-9]+", "_", word.lower()).strip("_")
    if singular and len(name) > 3 and name.endswith("s") and not name.endswith("ss"):
        name = name[:-1]
    return name or "item"


def _describe(lang: str, kind: str, word: str) -> str:
    """A variable's description, from the lexicon word that named the thing (never a span of the requirement)."""
    return lx.say(lang, f"memo_desc_{kind}", word.replace("_", " "))


def _found(text: str, lang: str) -> list[tuple[int, ConversationVar]]:
    """Every remembered thing in the sentences that speak of remembering, with its position."""
    found: list[tuple[int, ConversationVar]] = []

    def add(pos: int, cv: ConversationVar) -> None:
        if all(cv.name != c.name for _, c in found):
            found.append((pos, cv))

    for offset, sentence in _sentences(text):
        if not any(lx.has(sentence, cue) for cue in ("conv_var", "memo_keep", "memo_counter")):
            continue
        things = _things(sentence, "count", lang)
        counter = lx.find(sentence, "memo_counter")
        if counter is None:  # "the number of questions", "le nombre de questions"
            counted = [h for h in things if lx.has(sentence[max(0, h[0] - 16):h[0]], "memo_number_of")]
            things = counted
            counter = re.search(re.escape(counted[0][3]), sentence) if counted else None
        if counter:
            near = min(things, key=lambda h: abs(h[0] - counter.start())) if things else None
            speaks = lx.has(sentence, "conv_var") or lx.has(sentence, "memo_keep")
            if not any(cv.kind == "counter" for _, cv in found) or near and speaks:  # "add one to the counter": the same one
                name = (_english(near[3], singular=True) if near and lang == "en" else near[2] if near else "turn")
                word = near[3] if near else lx.say(lang, "memo_turns")
                add(offset + counter.start(), _var(name if name == "score" else f"{name}_count", "counter",
                                                   _describe(lang, "counter", word), word))
        if lx.has(sentence, "memo_list"):
            lists = _things(sentence, "list", lang)
            where = lx.find(sentence, "memo_list")
            first = lists[0] if lists else None
            name = (_english(first[3]) if lang == "en" else first[2]) if first else "items"
            add(offset + (first[0] if first else where.start()),
                _var(name, "list", _describe(lang, "list", first[3] if first else name), first[3] if first else ""))
        attrs = _things(sentence, "attr", lang)
        for start, _, name, word in attrs:
            add(offset + start, _var(name, "attribute", _describe(lang, "attribute", word), word))
        keep = lx.find(sentence, "memo_keep")
        if keep and not counter and not lx.has(sentence, "memo_list"):
            known = [w for _, _, _, w in attrs]
            kept = _kept_objects(sentence, keep)
            for _, word in kept:  # "训练目标" holds the lexicon's "目标": the user's longer word labels it
                for i, (pos, cv) in enumerate(found):
                    if cv.label in known and cv.label != word and cv.label in word:
                        found[i] = (pos, cv.model_copy(update={"label": word, "description": _describe(lang, "attribute", word)}))
            unnamed = [(p, w) for p, w in kept if not any(k in w or w in k for k in known)]
            for i, (start, word) in enumerate(unnamed):  # things the lexicon has no name for
                name = _english(word) if re.fullmatch(r"[A-Za-z][A-Za-z ]*", word) else f"info_{i + 1}"
                add(offset + start, _var(name, "attribute", _describe(lang, "attribute", word), word))
    if not found:
        m = re.search(r"\bremember\w*\s+(?:the\s+)?(?:user'?s?|their|customer'?s?|his|her)\s+([a-z]+)", text, re.I)
        if m:
            found.append((m.start(), _var(m.group(1).lower(), "attribute", _describe(lang, "attribute", m.group(1).lower()))))
        elif lx.has(text, "conv_var"):
            found.append((0, _var("user_profile", "attribute", _describe(lang, "attribute", "profile"))))
    return found


OWNER = re.compile(r"^(?:the\s+)?(?:user'?s?|their|customer'?s?|his|her|guest'?s?)\s+|^(?:用户|客户|顾客|对方|ユーザー|お客様|顧客|相手)(?:的|の)?")
"""The owner before a remembered thing ("the user's budget", "用户的预算", "ユーザーの予算"), not part of its name."""


def _kept_objects(sentence: str, keep: re.Match) -> list[tuple[int, str]]:
    """(offset, word) of the things a keep verb takes as its object when no lexicon word names them: the nouns
    before ``を覚え``, after ``记住`` / ``remember``, split at the list separators (``予算と行き先``, ``预算和目的地``,
    ``budget and destination``); at most four short ones."""
    if re.search(r"[\u3040-\u30ff]", sentence):
        before = sentence[:keep.start()]
        m = re.search(r"([^、。，,！？!?\s]{1,30})を\s*$", before)
        body, at = (m.group(1), m.start(1)) if m else ("", 0)
    else:
        m = re.match(r"\s*([^，。；,.;!?！？]{1,40})", sentence[keep.end():])
        body, at = (m.group(1), keep.end() + m.start(1)) if m else ("", 0)
        body = re.split(r"\s+(?:and\s+)?(?:then|to|so|for|when|while|in|during|across|throughout|between)\s|并|然后|以便|在", body)[0]
    owner = OWNER.search(body.strip())
    if owner:
        at += body.find(owner.group(0)) + len(owner.group(0))
        body = body.strip()[owner.end():]
    out = []
    for part in re.finditer(r"[^、，,と和与及や]+?(?=\s*(?:[、，,と和与及や]|\s(?:and|or)\s|$))", body):
        word = re.sub(r"^(?:and|or)\s+", "", part.group(0).strip())
        if not word or len(word) > (12 if lx.CJK.search(word) else 30) or len(word.split()) > 2:
            break
        if len(word.split()) == 2 and word.split()[0].endswith("s"):
            break  # "... and suggests trips": the next verb, not a thing kept
        out.append((at + part.start() + part.group(0).find(word), word))
    return out[:4]


def _named(text: str, spec: RequirementSpec, found: list[tuple[int, ConversationVar]]) -> list[ConversationVar]:
    """The user's own names win: a variable named next to a conversation-variable cue takes the place of the
    thing guessed nearest to it in its sentence (keeping the kind the sentence gives it)."""
    out = [cv for _, cv in found]
    spans = _sentences(text)
    for named in spec.conversation_vars:
        pos = text.find(named.name)
        span = next(((o, s) for o, s in spans if o <= pos < o + len(s)), (0, text))
        mine = [(abs(p - pos), i) for i, (p, cv) in enumerate(found)
                if span[0] <= p < span[0] + len(span[1]) and not cv.explicit]
        if pos >= 0 and mine:
            i = min(mine)[1]
            out[i] = out[i].model_copy(update={"name": named.name, "explicit": True})
            found[i] = (found[i][0], out[i])
        elif all(cv.name != named.name for cv in out):
            sentence = span[1]
            kind = "counter" if lx.has(sentence, "memo_counter") else "list" if lx.has(sentence, "memo_list") else "attribute"
            out.append(_var(named.name, kind, _describe(spec.language, kind, named.name)).model_copy(update={"explicit": True}))
    return out


def _limit(text: str, cv: ConversationVar, lang: str) -> Gate | None:
    """``once they reach the third warning, reply "..."``: a threshold on a counter with a fixed reply."""
    for _, sentence in _sentences(text):
        about = (lx.has(sentence, "memo_counter") or cv.name in sentence or bool(_things(sentence, "count", lang))
                 or bool(cv.label) and cv.label.lower() in sentence.lower())
        if not about or not (lx.has(sentence, "memo_reach") or lx.has(sentence, "memo_close")):
            continue
        reach = lx.find(sentence, "memo_reach")
        after = _number(sentence[reach.start():]) if reach else None  # "after 3 warnings"; else "5問正解したら"
        number = (after[0], after[1] + reach.start()) if after and reach else _number(sentence)
        if not number:
            continue
        replies = [q for q in QUOTE.finditer(sentence) if not PLACEHOLDER.search(q.group(1))]  # not a line with the count
        quoted = [q for q in replies if q.start() >= number[1] - 12] or replies
        text_ = quoted[0].group(1).strip() if quoted else (lx.say(lang, "memo_closed") if lx.has(sentence, "memo_close") else "")
        if not text_:
            continue
        operator = ">" if lx.has(sentence, "more_than") and not lx.has(sentence, "memo_reach") else "≥"
        return Gate(subject=cv.name, operator=operator, value=str(number[0]), then_text=sentence.strip()[:200],
                    no_model=True, fixed_text=text_)
    return None


def _reset(text: str, out: list[ConversationVar]) -> None:
    """``when the customer says "checkout", list the cart and empty it``: what the user says to clear which variables."""
    for _, sentence in _sentences(text):
        if not lx.has(sentence, "memo_reset"):
            continue
        quoted = [q.group(1).strip() for q in QUOTE.finditer(sentence) if len(q.group(1).strip()) <= 16]
        said = lx.find(sentence, "memo_reset_say")
        trigger = quoted[0] if quoted else (said.group(0) if said else "")
        if not trigger:
            continue
        named = [cv for cv in out if cv.kind != "attribute" and (cv.name in sentence or lx.has(sentence, f"memo_list_{cv.name}")
                                                                 or lx.has(sentence, f"memo_count_{cv.name.removesuffix('_count')}"))]
        for cv in named or [cv for cv in out if cv.kind != "attribute"] or out:
            cv.reset = trigger


CODE_TOKEN = re.compile(r"(?<![A-Za-z0-9_])[A-Z][A-Z0-9_-]*\d[A-Z0-9_-]*(?![A-Za-z0-9_])")
"""A literal the user wants in a reply verbatim: an upper-case code with a digit (``STAY20``, ``VIP-2024``)."""


def _intent(sentence: str, says: re.Match, lang: str) -> str:
    """What the user says that routes the turn, as a short class name: the quoted words next to the cue, else the
    first words after it (``says they want to cancel`` -> ``Cancel``; ``说要退订时`` -> ``退订``;
    ``「解約したい」と言ったら`` -> ``解約したい``)."""
    near = [q for q in QUOTE.finditer(sentence) if abs(q.end() - says.start()) <= 2 or abs(q.start() - says.end()) <= 2]
    if near:
        return near[0].group(1).strip()[:30]
    if lang in ("zh", "ja", "ko"):
        if lang == "ja":
            before = re.search(r"([\u30a0-\u30ff\u4e00-\u9fff]{1,8})(?:したい|たい)?(?:と|って)?$", sentence[:says.start()])
            return before.group(1) if before else ""
        after = re.match(r"\s*([\u4e00-\u9fff]{1,6}?)(?=时|的时候|，|,|。|的话|$)", sentence[says.end():])
        return after.group(1) if after else ""
    rest = re.split(r"[,;:，]", sentence[says.end():])[0]
    filler = lx.category("chat_says_filler", _langs(lang))
    while filler is not None and (m := filler.match(rest.strip())) and m.group(0):
        rest = rest.strip()[m.end():]
    words = [w for w in re.findall(r"[A-Za-zÀ-ÿ'-]+", rest) if filler is None or not filler.fullmatch(w)][:2]
    return " ".join(words).capitalize()


def _route(text: str, spec: RequirementSpec) -> tuple[list[str], list[BranchRule]] | None:
    """``when a customer says they want to cancel, skip the AI and send our fixed message``: a chat routes the
    turn on what the user says (a classifier) to its own reply; the other messages get the normal answer."""
    lang = spec.language
    if spec.classes or spec.branches:
        return None
    for _, sentence in _sentences(text):
        says = lx.find(sentence, "chat_says", _langs(lang))
        if not says or not lx.has(sentence, "cond_word", _langs(lang)):
            continue
        if not (lx.has(sentence, "fixed_word") or lx.no_model(sentence) or QUOTE.search(sentence)):
            continue
        intent = _intent(sentence, says, lang)
        if not intent:
            continue
        clause = re.search(r"[,;，、：:]\s*(.+)$", sentence[says.end():])
        other = lx.say(lang, "memo_ok_class")
        return [intent, other], [BranchRule(condition=intent, action=(clause.group(1) if clause else sentence).strip()),
                                 BranchRule(condition=other, action=lx.say(lang, "memo_answer_task"))]
    return None


def _only_says(action: str) -> bool:
    """An action that is a reply verb and a quoted text, nothing more (``return "removed" as status``, ``回复“已收到”``,
    ``「受付済み」と返す``): the text is the reply, no model writes it."""
    if not QUOTE.search(action):
        return False
    rest = re.sub(r"\b(?:as|into|in)\s+`?[a-z][a-z0-9_]*`?\s*$", " ", QUOTE.sub(" ", action).strip(" ,.;:，。；："))
    verbs = lx.category("reply_verb")
    rest = verbs.sub(" ", rest) if verbs else rest
    rest = re.sub(r"\b(?:if|when|it|is|the|a|an|with|to|them|they|this|that|for|those|these|then|ones?)\b", " ", rest, flags=re.I)
    return not re.search(r"[A-Za-z]{2,}|[\u3040-\u30ff\u4e00-\u9fff]", rest)


def fixed_text(action: str, requirement: str, lang: str, skip: tuple[str, ...] = ()) -> str | None:
    """The fixed reply an action asks for: its quoted text (whole, even where the action's clause was cut inside
    the quote), else the codes it must include in a lexicon line; None when it asks for a written reply."""
    if not (lx.has(action, "fixed_word") or lx.no_model(action) or _only_says(action)):
        return None
    cue = lx.find(action, "fixed_word")
    quoted = [q.group(1) for q in QUOTE.finditer(action)  # the quote after "fixed", not the quoted words it answers
              if q.start() >= (cue.start() if cue else 0) and q.group(1).strip() not in skip]
    cut = re.search(r"[“\"「『«]([^”\"」』»]+)$", action)
    if not quoted and cut:
        quoted = [q for q in QUOTE.findall(" ".join(requirement.split())) if q.startswith(cut.group(1)) and q not in skip]
    if quoted:
        return quoted[0].strip()
    codes = list(dict.fromkeys(CODE_TOKEN.findall(action)))
    return lx.say(lang, "memo_code_reply", ", ".join(codes)) if codes else None


def analyse(spec: RequirementSpec, requirement: str) -> RequirementSpec:
    """``spec`` with the conversation state of a chat app (its conversation variables), the knowledge base it
    answers from and the web search it runs; a workflow app is returned unchanged."""
    if spec.app_mode != "advanced-chat":
        return spec
    text = " ".join(requirement.split())
    lang = spec.language
    caps = list(spec.capabilities)
    out = _named(text, spec, _found(text, lang))
    for cv in out:
        if cv.kind == "counter":
            judged = lx.find(text, "memo_judged")
            cv.when = judged.group(0) if judged else ""
            cv.limit = _limit(text, cv, lang)
    _reset(text, out)
    tools, tool = list(spec.tools), spec.tool
    if lx.has(text, "chat_web") and not any(t in ("tavily", "duckduckgo", "jina") for t in tools):
        tools.append("duckduckgo")
    if lx.has(text, "chat_kb") or lx.has(text, "knowledge"):
        caps.append("retrieval")
    if tools and "tool" not in caps:
        caps.append("tool")
    caps += ["memory"] + (["conversation_vars"] if out else [])
    inputs = [i for i in spec.inputs if i.explicit or i.name not in FILLER_INPUTS or i.type in ("file", "file-list")]
    update = {"conversation_vars": out, "tools": tools, "tool": tool, "inputs": inputs}
    if spec.iteration_target and not any(i.type in ("paragraph", "file-list") for i in inputs):
        # "answer each question", "質問ごとに": in a chat every message is its own turn, not a list to iterate
        update["iteration_target"] = None
        caps = [c for c in caps if c != "iteration" and (c != "code" or spec.code_steps or spec.list_filter)]
    route = _route(text, spec)
    if route:
        update["classes"], update["branches"] = route
        caps += ["classification", "aggregation"]
    update["capabilities"] = list(dict.fromkeys(caps))
    return spec.model_copy(update=update)


def reply_line(spec: RequirementSpec) -> str:
    """The line every reply ends with, with the counter's value in place (``'' `` when none was asked)."""
    counters = [cv for cv in spec.conversation_vars if cv.kind == "counter" and not cv.limit]
    for q in QUOTE.finditer(" ".join(spec.requirement.split())):
        if counters and PLACEHOLDER.search(q.group(1)):
            line = q.group(1).strip().replace("{", "{ ").replace("}", " }")
            return PLACEHOLDER.sub(f"{{{{conversation.{counters[0].name}}}}}", line, count=1)
    return ""


# ----------------------------------------------------------------------------------------- one turn


def turn(d, spec: RequirementSpec, tail: list[Link]) -> tuple[list[Link], list[str]]:
    """The state steps of one turn, before the reply: (the links the reply follows, the remembered refs it reads).

    1. a limit reached (``conversation.warning_count ≥ 3``) -> the fixed closing reply;
    2. the reset word said -> show the list, clear what it resets, say so;
    3. counters that count under a condition -> a classifier; that class counts and warns, the others go on;
    4. counters of every turn -> ``+= 1``;
    5. attributes and list items -> one extractor, known values kept, one assigner (over-write / extend).
    """
    lang, state = spec.language, spec.conversation_vars
    refs = [f"conversation.{cv.name}" for cv in state]
    for cv in (c for c in state if c.limit):
        gate = cv.limit
        label = f"{gate.operator} {gate.value}"
        check = d.add("if-else", lx.say(lang, "memo_check", cv.name)[:40], f"Close the conversation once {cv.name} {label}",
                      reads=[f"conversation.{cv.name}"], after=tail, labels=[label])
        d.add("answer", lx.say(lang, "fixed_reply"), gate.then_text, after=[Link(step=check, branch=label)],
              labels=[f"fixed:{gate.fixed_text}"])
        tail = [Link(step=check, branch="otherwise")]
    resets = [cv for cv in state if cv.reset]
    if resets:
        word = resets[0].reset
        check = d.add("if-else", lx.say(lang, "memo_reset_check"), f"The user said {word}", reads=["sys.query"], after=tail,
                      labels=[f"contains:{word}"])
        link = Link(step=check, branch=f"contains:{word}")
        lists = [cv for cv in resets if cv.kind == "list"]
        shown = None
        if lists:
            body = lx.say(lang, "memo_summary_text") + "".join(
                f"\n{{% for item in {cv.name} %}}- {{{{ item }}}}\n{{% endfor %}}" for cv in lists)
            shown = d.add("template-transform", lx.say(lang, "memo_summary"), "Show the list before it is cleared",
                          reads=[f"conversation.{cv.name}" for cv in lists], after=[link], labels=[f"format:{body}"])
            link = Link(step=shown)
        clear = d.add("assigner", lx.say(lang, "memo_clear"), f"Clear {', '.join(cv.name for cv in resets)}",
                      reads=[f"conversation.{cv.name}" for cv in resets], after=[link], labels=["clear"] * len(resets))
        d.add("answer", lx.say(lang, "answer"), "Confirm the reset", reads=[f"{shown}.output"] if shown else [],
              after=[Link(step=clear)], labels=[] if shown else [f"fixed:{lx.say(lang, 'memo_cleared')}"])
        tail = [Link(step=check, branch="otherwise")]
    for cv in (c for c in state if c.kind == "counter" and c.when):
        flagged, other = cv.when[:1].upper() + cv.when[1:], lx.say(lang, "memo_ok_class")
        qc = d.add("question-classifier", lx.say(lang, "memo_judge"), f"Is the message {cv.when}?", reads=["sys.query"],
                   after=tail, labels=[flagged, other])
        count = d.add("assigner", lx.say(lang, "memo_count", cv.name)[:40], f"{cv.name} += 1",
                      reads=[f"conversation.{cv.name}"], after=[Link(step=qc, branch=flagged)], labels=["+=:1"])
        warn = d.add("llm", lx.say(lang, "memo_warn"), lx.say(lang, "memo_flag_task", cv.when),
                     reads=[f"conversation.{cv.name}", "sys.query"], after=[Link(step=count)], focus="final")
        d.add("answer", lx.say(lang, "answer"), "Send the warning", reads=[f"{warn}.text"], after=[Link(step=warn)])
        tail = [Link(step=qc, branch=other)]
    every = [cv for cv in state if cv.kind == "counter" and not cv.when]
    if every:
        count = d.add("assigner", lx.say(lang, "memo_count", ", ".join(cv.name for cv in every))[:40],
                      "Count this turn", reads=[f"conversation.{cv.name}" for cv in every], after=tail,
                      labels=["+=:1"] * len(every))
        tail = [Link(step=count)]
    captured = [cv for cv in state if cv.kind in ("attribute", "list")]
    if captured:
        params = []
        for cv in captured:
            what = cv.label or cv.name.replace("_", " ")
            if cv.kind == "list":
                params.append(f"new_{cv.name}:array[string]:{lx.say(lang, 'memo_items')}")
            else:
                params.append(f"{cv.name}:string:{lx.say(lang, 'memo_extract', what)}")
        pe = d.add("parameter-extractor", lx.say(lang, "memo_capture"), lx.say(lang, "memo_extract", ("、" if lang in (
            "zh", "ja") else ", ").join(cv.label or cv.name.replace("_", " ") for cv in captured)), reads=["sys.query"],
            after=tail, labels=params)
        reads, labels = [], []
        attrs = [cv for cv in captured if cv.kind == "attribute"]
        after = pe
        if len(attrs) == len(captured) == 1:  # one attribute: remember it only when the user gave it (no code needed)
            cv = attrs[0]
            check = d.add("if-else", lx.say(lang, "check", cv.label or cv.name)[:40], f"Only remember the {cv.name} when given",
                          reads=[f"{pe}.{cv.name}"], after=[pe], labels=["not empty"])
            remember = d.add("assigner", lx.say(lang, "memo_remember"), "Store what the user told",
                             reads=[f"conversation.{cv.name}", f"{pe}.{cv.name}"], after=[Link(step=check, branch="not empty")],
                             labels=["over-write"])
            return [Link(step=remember), Link(step=check, branch="otherwise")], refs
        if attrs:
            keep = d.add("code", lx.say(lang, "memo_keep_known"), "A value the user did not give again stays as it was",
                         reads=[r for cv in attrs for r in (f"{pe}.{cv.name}", f"conversation.{cv.name}")], after=[pe],
                         labels=["keep_known:" + ",".join(cv.name for cv in attrs)])
            after = keep
            for cv in attrs:
                reads += [f"conversation.{cv.name}", f"{keep}.{cv.name}"]
                labels.append("over-write")
        for cv in captured:
            if cv.kind == "list":
                reads += [f"conversation.{cv.name}", f"{pe}.new_{cv.name}"]
                labels.append("extend")
        remember = d.add("assigner", lx.say(lang, "memo_remember"), "Store what the user told", reads=reads,
                         after=[Link(step=after)], labels=labels)
        tail = [Link(step=remember)]
    return tail, refs


KEEP_KNOWN = '''def main({args}) -> dict:
    """A value the user gave in this message replaces the remembered one; otherwise the remembered one stays."""
    def pick(new, old):
        new = "" if new is None else str(new).strip()
        return new if new else ("" if old is None else str(old))
    return {{{body}}}
'''


def keep_known_code(names: list[str]) -> str:
    """The code of a ``keep_known`` step: ``new_<x>`` (extracted) and ``old_<x>`` (remembered) -> ``<x>``."""
    args = ", ".join(f"new_{n}: str, old_{n}: str" for n in names)
    body = ", ".join(f'"{n}": pick(new_{n}, old_{n})' for n in names)
    return KEEP_KNOWN.format(args=args, body=body)


def initial_value(cv: ConversationVar):
    """The typed value a new conversation starts with."""
    if cv.type == "number":
        try:
            return float(cv.initial) if "." in cv.initial else int(cv.initial or 0)
        except ValueError:
            return 0
    if cv.type.startswith("array"):
        return []
    if cv.type == "object":
        return {}
    return cv.initial

