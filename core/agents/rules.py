"""Offline requirement analysis: plain-language requirement text -> ``RequirementSpec`` by rules.

General rules over the wording (lists of classes, ``if ... otherwise ...``, URLs, ``for each``,
``up to N times``, ``extract A, B and C``, languages, counts and limits...). Nothing here knows any
particular requirement; the eval set is only a sample of the phrasings these rules cover.
"""

from __future__ import annotations

import re
from itertools import pairwise

from core.agents import chat_state
from core.agents import lexicon as lx
from core.agents.conditions import CONTAINS_PREFIX, cjk_number, contains_test
from core.agents.ir import asks_for_chat, enrich, secret_param
from core.agents.models import (
    BranchRule,
    HttpCall,
    InputVar,
    ListFilter,
    LoopRule,
    OutputVar,
    RequirementSpec,
)

NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "twelve": 12, "fifteen": 15, "twenty": 20, "once": 1, "twice": 2, "thrice": 3,
}
NUM = r"(?:\d+|" + "|".join(NUMBER_WORDS) + r")"

LANGUAGES = (
    "English", "German", "French", "Spanish", "Italian", "Portuguese", "Dutch", "Swedish", "Norwegian",
    "Danish", "Finnish", "Polish", "Czech", "Greek", "Turkish", "Russian", "Ukrainian", "Arabic", "Hebrew",
    "Hindi", "Bengali", "Chinese", "Mandarin", "Cantonese", "Japanese", "Korean", "Vietnamese", "Thai",
    "Indonesian", "Malay", "Persian", "Swahili", "Romanian", "Hungarian",
)

IMAGE_WORDS = re.compile(r"\b(images?|photos?|pictures?|screenshots?|scans?|diagrams?)\b|图片|Bild", re.I)
FILE_TRIGGER = re.compile(r"\b(upload(?:ed|s)?|attached|attachments?|pdfs?|docx?|files?|scanned)\b|上传|hochgeladen", re.I)
DOC_NOUNS = ("resume", "cv", "contract", "report", "invoice", "paper", "manuscript", "spreadsheet",
             "presentation", "document", "pdf", "file")
CONTENT_NOUNS = (
    "emails", "email", "reviews", "review", "description", "text", "notes", "article", "question", "questions",
    "comments", "comment", "message", "messages", "ticket", "tickets", "feedback", "transcript", "essay",
    "post", "story", "orders", "records", "query", "code", "paragraph", "content", "complaint",
)
MODIFIERS = ("product", "job", "meeting", "invoice", "support", "blog", "news", "sales", "source", "input",
             "user", "customer", "interview", "release")
DECISION_VERBS = ("approve", "reject", "block", "accept", "allow", "deny", "escalate", "flag", "publish",
                  "hire", "interview", "discard", "keep", "remove")
ACTION_VERBS = {"score", "rate", "rank", "write", "draft", "recommend", "summarize", "summarise", "generate",
                "classify", "translate", "check", "send", "return", "compare", "decide", "create", "produce", "answer"}
UNSUPPORTED = (
    (r"\b(gpus?|cuda|graphics card)\b", "Dify workflows cannot run code on a GPU: code nodes run in a CPU sandbox."),
    (r"\b(mine|mining)\b.*\b(bitcoin|crypto\w*|ethereum)\b|\b(bitcoin|crypto) mining\b",
     "Mining cryptocurrency is not something a Dify workflow can do (sandboxed, time-limited code)."),
    (r"\bprint(?:ed|s)? (?:\w+ ){0,3}on paper\b|\bprinters?\b",
     "A Dify workflow cannot drive a printer; it can only return text or files."),
    (r"\b(phone call|call me|make a call|dial)\b", "A Dify workflow cannot place phone calls without an external API."),
    (r"\b(robot arm|physical|hardware|usb)\b", "A Dify workflow cannot control hardware."),
)
INJECTION = re.compile(
    r"ignore (?:all |any )?(?:the )?(?:previous|prior|above) (?:instructions|prompts?)|system prompt|"
    r"disregard (?:your|the) instructions|you are now",
    re.I,
)


def number_value(text: str) -> int | None:
    """``'3'`` or ``'three'`` -> 3; None when it is neither."""
    text = text.lower()
    if text.isdigit():
        return int(text)
    return NUMBER_WORDS.get(text)


def slug(text: str) -> str:
    """``'Refund request'`` -> ``'refund_request'`` (ASCII letters, digits and ``_``)."""
    value = re.sub(r"[^0-9a-zA-Z]+", "_", text.strip().lower()).strip("_")
    if not value:
        return "input"
    return value if value[0].isalpha() else f"v_{value}"


def split_list(text: str) -> list[str]:
    """``'complaint, refund request, or general inquiry'`` -> the three items, articles removed."""
    parts = re.split(r"\s*,\s*(?:and |or )?|\s+(?:and|or|and/or)\s+|\s*/\s*", text.strip())
    items = []
    for part in parts:
        part = re.sub(r"^(?:the|a|an|as|into|either|both)\s+", "", part.strip(" .;:'\""), flags=re.I)
        if part and part.lower() not in {"and", "or"}:
            items.append(part)
    return items


def _title(text: str) -> str:
    return text[:1].upper() + text[1:]


def _first_sentence(text: str) -> str:
    sentence = re.split(r"(?<=[.!?。])\s", text.strip(), maxsplit=1)[0]
    return sentence[:300]


def _find_classes(text: str) -> list[str]:
    patterns = (
        r"\b(?:classif\w*|categori[sz]\w*|sort\w*|label\w*|tag(?:s|ged|ging)?|triage\w*|bucket\w*)\b[^.;]*?\b(?:as|into)\s+"
        r"(?:(?:exactly\s+)?one of\s+)?(.+?)(?=\s+and\s+(?:then\s+)?(?:write|draft|send|reply|respond|generate|answer|route|create|explain|"
        r"produce|forward)\b|[.;:]|$)",
        r"\broute\w*\s+(?:\w+\s+){0,4}?(?:about|regarding|on|for|concerning)\s+(.+?)\s+(?:to|into|towards)\b",
        r"\bcategor(?:y|ies)\s*(?:\(|:)\s*(.+?)(?:\)|[.;]|$)",
        r"\b(?:classif\w*|categori[sz]\w*|sort\w*|label\w*|tag\w*|triage\w*|bucket\w*)\b[^.;]*?\bwith\s+(?:exactly\s+)?one\s+of\s+"
        r"(?:the\s+)?(.+?)(?=,?\s+and\s+(?:then\s+)?(?:return|write|draft|send|reply|generate|output|produce|give)\b|[.;:]|$)",
    )
    for pattern in patterns:
        match = re.search(pattern, text, re.I)
        if match:
            items = [i for i in split_list(match.group(1)) if len(i.split()) <= 5]
            if len(items) >= 2:
                return [_title(i) for i in items]
    return []


END = r"(?=\s*[;]|\.(?:\s|$)|$)"
"""Lookahead for the end of a clause: ``;`` or a full stop followed by a space (URLs keep their dots)."""
COMPARISONS = {"above": ">", "over": ">", "greater than": ">", "more than": ">", "higher than": ">", "exceeds": ">",
               "at least": "≥", "below": "<", "under": "<", "less than": "<", "lower than": "<", "at most": "≤"}
ESCALATION = re.compile(
    r"\b(escalat\w*|hand(?:s|ing)? (?:it |them )?over|hand(?:s|ing)? off|pass(?:es)? (?:it )?on)\s+(?:it\s+|them\s+)?to\s+"
    r"((?:a|an|the)\s+)?(human|person|agent|colleague|manager|support|staff|\w+ team)\b[^.;]*?\b(?:when|if)\s+"
    r"(?:it is\s+|it's\s+|the answer is\s+)?(unsure|uncertain|not sure|in doubt|it cannot answer|it can't answer|unclear)",
    re.I,
)


def verdict(condition: str) -> str:
    """The keyword a judging step answers with for ``condition``: ``'negative'`` -> ``'NEGATIVE'``."""
    stop = {"the", "it", "is", "are", "you", "they", "whether", "if", "when", "a", "an", "very"}
    words = [w for w in slug(condition).split("_") if w not in stop][:2]
    return "_".join(words).upper() or "YES"


def numeric_condition(condition: str) -> tuple[str, str, str] | None:
    """``'the score is above 7'`` -> ``('score', '>', '7')``; None when it is not a number comparison."""
    words = "|".join(sorted(COMPARISONS, key=len, reverse=True))
    match = re.search(rf"^(?:the\s+)?([a-z][\w ]*?)\s+(?:is\s+|are\s+)?({words})\s+(\d+(?:\.\d+)?)$", condition.strip(), re.I)
    if not match:
        return None
    return slug(match.group(1)), COMPARISONS[match.group(2).lower()], match.group(3)


PASS_THROUGH = "pass the input through unchanged"
"""The other path of a lone ``if X, Y`` (nothing said for the rest): a weak branch a loop's body may own."""


CONTAINS_EN = re.compile(
    r"\bif\s+(?:it|the\s+[\w ]{1,24}?|this|they)\s+((?:does\s+not|doesn't|do\s+not|don't)\s+)?(?:contain|include|mention|"
    r"reference|cite|has|have)s?\b\s*((?:[^,;(]|\([^)]*\))+?)\s*,\s*(?:then\s+)?(.+?)" + r"(?=\s*[;]|\.(?:\s|$)|$)", re.I)
CONTAINS_ZH = re.compile(r"(?:如果|若|假如)[^，,。；]{0,12}?(不|没有?)?(?:包含|含有|提到|出现|带有)\s*(“[^”]+”|「[^」]+」|\"[^\"]+\")"
                         r"[^，,。；]{0,6}[，,]\s*(?:就|则|那么)?(.+?)(?=[；;。]|$)")
CONTAINS_JA = re.compile(r"(「[^」]+」|“[^”]+”)\s*(?:という[^、。]{0,6})?が?\s*(含まれていなければ|含まれない場合|含まれていない場合|"
                         r"含まれていれば|含まれる場合|含まれたら|含む場合|あれば|なければ)\s*(?:は)?[、,]?\s*(.+?)(?=[。；]|$)")
OPPOSITE = re.compile(r"(?:\bif\s+(?:it|they|so)\s+(?:does|do|is|are|has|have)\b(?:\s+not)?|\bif\s+so\b|\botherwise\b|\belse\b|"
                      r"否则|不然|其余|それ以外(?:の場合)?は?|そうでなければ|含まれていれば|含まれなければ)\s*[,，、]?\s*(?:就|则)?(.+?)"
                      r"(?=\s*[;；。]|\.(?:\s|$)|$)", re.I)


def _contains_branches(text: str) -> list[BranchRule]:
    """``If it doesn't reference a ticket key (like PAY-1234), ask ...; if it does, write ...`` /
    ``如果包含“加急”，就…，否则…`` / ``「至急」が含まれていれば…、それ以外は…``: a contains test and its two paths,
    the path where the text contains it first."""
    for pattern, neg_group, what_group, then_group in ((CONTAINS_EN, 1, 2, 3), (CONTAINS_ZH, 1, 2, 3), (CONTAINS_JA, 2, 1, 3)):
        m = pattern.search(text)
        if not m:
            continue
        negated = bool(m.group(neg_group)) and (pattern is not CONTAINS_JA or "な" in m.group(neg_group))
        what, then = m.group(what_group).strip(), m.group(then_group).strip(" ,，、")
        inner = OPPOSITE.search(then) if pattern is not CONTAINS_EN else None  # "…，否则…" in the same clause
        other = inner or OPPOSITE.search(text, m.end())
        if inner:
            then = then[:inner.start()].strip(" ,，、")
        rest = other.group(1).strip(" ,，、") if other else PASS_THROUGH
        yes, no = (rest, then) if negated else (then, rest)
        condition = CONTAINS_PREFIX + what
        if not contains_test(condition):  # "mentions a refund": a judgement, said as the user said it
            condition, yes, no = re.sub(r"^if\s+", "", text[m.start():m.start(then_group)], flags=re.I).strip(" ,"), then, rest
        return [BranchRule(condition=condition, action=yes), BranchRule(condition="otherwise", action=no)]
    return []


def _find_branches(text: str) -> list[BranchRule]:
    found = _contains_branches(text)
    if found:
        return found
    escalation = ESCALATION.search(text)
    if escalation:
        who = f"{escalation.group(2) or 'a '}{escalation.group(3)}".strip()
        return [BranchRule(condition=escalation.group(4).lower(), action=f"hand the conversation over to {who}"),
                BranchRule(condition="otherwise", action="answer the question")]
    words = "|".join(sorted(COMPARISONS, key=len, reverse=True))
    match = re.search(
        rf"\bif\s+((?:the\s+)?[a-z][\w ]*?\s+(?:is\s+|are\s+)?(?:{words})\s+\d+(?:\.\d+)?)\s*,?\s*(?:then\s+)?"
        rf"(.+?)(?:\s*[,;]\s*(?:otherwise|else)\s*,?\s*(.+?))?{END}",
        text,
        re.I,
    )
    if match:
        return [BranchRule(condition=match.group(1).strip(), action=match.group(2).strip(" ,")),
                BranchRule(condition="otherwise", action=(match.group(3) or "").strip(" ,") or "stop here")]
    match = re.search(
        r"\bif\s+(?:it|they|the \w+|this)\s+(?:is|are|was|looks|seems|contains?)\s+(?:very\s+)?([\w' -]+?)\s*,\s*"
        r"(?:then\s+)?(.+?)\s*[,;]?\s*(?:otherwise|else|if not)\s*,?\s*(.+?)(?:[.;]|$)",
        text,
        re.I,
    )
    if match:
        return [
            BranchRule(condition=match.group(1).strip(), action=match.group(2).strip()),
            BranchRule(condition="otherwise", action=match.group(3).strip()),
        ]
    match = re.search(r"\bif\s+(.+?),\s*(?:then\s+)?(.+?)(?:[.;]|$)", text, re.I)
    if match and len(match.group(1).split()) <= 8:
        return [BranchRule(condition=match.group(1).strip(), action=match.group(2).strip()),
                BranchRule(condition="otherwise", action=PASS_THROUGH)]
    return []


TOPIC_ROUTE = (
    re.compile(r"\b([A-Za-z][\w-]*(?:\s[A-Za-z][\w-]*)?)\s+(?:questions|requests|tickets|messages|issues|queries|topics)\s+"
               r"(?:should|must|will|are to|go|get|are)\b[^.;]{0,80}?\b(?:from|to|by|through|with)\b", re.I),
    re.compile(r"(?:关于|涉及|有关)?([\u4e00-\u9fff]{2,6}?)(?:相关的|类的|方面的|的)?(?:问题|咨询|请求)[^，。；]{0,12}?(?:用|由|从|交给|走|转到)"),
    re.compile(r"([\u30a0-\u30ff\u4e00-\u9fff]{2,8}?)(?:に関する|についての|関連の|の)(?:質問|問い合わせ|相談)は"),
)


def _topic_routes(text: str) -> list[str]:
    """``Billing questions should be answered from the Billing knowledge base; everything else stays ...`` /
    ``账单相关的问题用账单知识库回答，其他问题…`` / ``請求に関する質問は請求ナレッジで回答し、それ以外は…``: routing by
    topic, the named topic and the rest (the other class)."""
    generic = {"the", "all", "other", "these", "those", "such", "any", "some", "customer", "customers", "user", "users",
               "employee", "employees", "student", "students", "visitor", "visitors", "our", "your", "their", "common",
               "general", "simple", "follow-up", "new", "incoming", "most", "many", "用户", "客户", "员工", "学生", "お客様", "社員"}
    for pattern in TOPIC_ROUTE:
        m = pattern.search(text)
        if not m or m.group(1).lower().split()[-1] in generic or m.group(1).lower() in generic:
            continue
        end = re.search(r"[.;。；]\s*[^.;。；]*[.;。；]?", text[m.end():])  # the route's sentence and the next one
        near = text[m.start():m.end() + (end.end() if end else len(text))]
        if lx.has(near, "else_word") or lx.has(near, "other_kind"):
            return [_title(m.group(1).strip()), lx.say(lx.detect(text), "other_class")]
    return []


INTENT_ROUTE = (
    re.compile(r"\b(?:when|if|whenever|once)\s+(?:a|an|the)?\s*(?:customer|user|caller|visitor|client|guest|member|someone|"
               r"they|people)s?\s+(?:says?|asks?|mentions?|tells?\s+(?:us|you)|writes?|indicates?)\s+(?:that\s+)?(?:they\s+|he\s+|she\s+)?"
               r"(?:want|wants|would like|need|needs|plan|plans|intend|intends)\s+to\s+([a-z]+(?:\s+(?:my|their|the|a|an|his|her))?"
               r"(?:\s+[a-z]+)?)", re.I),
    re.compile(r"(?:当|如果|若)(?:用户|客户|顾客|会员)(?:说|表示|提出|提到)?(?:要|想要?|希望)([\u4e00-\u9fff]{2,4}?)(?:时|的时候|的话|，|,)"),
    re.compile(r"(?:ユーザー|お客様|顧客|会員)が\s*「?([\u30a0-\u30ff\u4e00-\u9fff]{2,6}?)(?:したい|希望)"),
)


def _intent_routes(text: str) -> list[str]:
    """``when a customer says they want to cancel, send ...`` / ``当用户说要退订时…`` / ``お客様が解約したいと言ったら…``: a
    chat's special intent and the rest (everything else the bot normally does)."""
    for pattern in INTENT_ROUTE:
        m = pattern.search(text)
        if m:
            intent = re.sub(r"\s+(?:my|their|the|a|an|his|her)$", "", m.group(1).strip())  # the user's words
            return [_title(intent), lx.say(lx.detect(text), "other_class")]
    return []


def _branch_classes(text: str, branches: list[BranchRule]) -> list[BranchRule]:
    """The classes (with their actions) of branches the user wants a classifier for: each branch's condition,
    and for the other cases the alternative the text names (``spam or not spam``), else the lexicon's "other"."""
    named = [b for b in branches if b.condition != "otherwise"]
    rest = ""
    for b in named:
        alt = re.search(rf"\b{re.escape(b.condition)}\s+or\s+((?:not\s+)?[\w-]+)", text, re.I)
        if alt and alt.group(1).lower() not in {n.condition.lower() for n in named}:
            rest = alt.group(1)
    other = next((b for b in branches if b.condition == "otherwise"), None)
    if other or rest:
        named.append(BranchRule(condition=rest or lx.say(lx.detect(text), "other_class"), action=other.action if other else ""))
    return named


LIST_GAP = re.compile(r"[\s、，,/・「」“”\"'()（）]*(?:\b(?:or|and|a|an)\b|还是|或者|或|和|与|及|と|や|か)?(?:\s*\b(?:a|an)\b)?"
                      r"[\s、，,/・「」“”\"'()（）]*", re.I)
"""What stands between two items of an enumeration: separators, quotes, a conjunction, an article."""


def class_clause(text: str, name: str, classes: list[str]) -> str:
    """What the requirement says for one class: the sentence about it alone, else the comma-separated
    parts from the one about it to the next class (``…、その他はモデルを使わず「…」と固定で返します``,
    ``表扬不用模型，直接回复“…”``, ``…, for compliments reply "…"``)."""
    def count(part: str) -> int:
        return sum(k.lower() in part.lower() for k in classes)

    def unlisted(sentence: str) -> str:  # the enumeration of the classes says nothing of any one of them
        low = sentence.lower()
        spots = sorted((low.find(k.lower()), len(k)) for k in classes)
        if len(classes) < 2 or any(at < 0 for at, _ in spots):
            return sentence
        gaps = [sentence[a + n:b] for (a, n), (b, _) in pairwise(spots)]
        if not all(LIST_GAP.fullmatch(g) for g in gaps):
            return sentence
        a, b = spots[0][0], spots[-1][0] + spots[-1][1]
        return sentence[:a] + " " * (b - a) + sentence[b:]

    split = [(c, unlisted(c)) for c in re.split(r"[；;。]|\.\s", text)]
    sentences = [u for _, u in split if name.lower() in u.lower()]
    own = [u for c, u in split if name.lower() in u.lower() and count(u) == 1 and u == c]  # a list's sentence: its parts
    if own:
        return own[-1].strip()
    for sentence in reversed(sentences):
        parts = re.split(r"(?<=[，,、：:])", sentence)
        for i, part in enumerate(parts):
            if name.lower() in part.lower() and count(part) == 1:
                j = i + 1
                while j < len(parts) and count(parts[j]) == 0:
                    j += 1
                return "".join(parts[i:j]).strip(" ，,、")
    return ""


def _own_clause(text: str, name: str, classes: list[str]) -> str:
    """The last sentence (or part after a colon) that names this class and no other: its own action."""
    pieces = re.split(r"([；;。：:]|\.\s)", text)  # parts and the separator after each
    parts = [(pieces[i].strip(), pieces[i + 1] if i + 1 < len(pieces) else "") for i in range(0, len(pieces), 2)]
    parts = [(p, sep) for p, sep in parts if p]

    def names(part: str) -> int:
        return sum(k.lower() in part.lower() for k in classes)

    own = [i for i, (p, _) in enumerate(parts) if name.lower() in p.lower() and names(p) == 1]
    if not own:
        return ""
    part, sep = parts[own[-1]]
    label = sep in (":", "：") and len(part.split()) <= 4 and own[-1] + 1 < len(parts)
    if label and names(parts[own[-1] + 1][0]) == 0:  # "Critical bugs: write an incident summary": the label's action
        return parts[own[-1] + 1][0]
    return part


def class_actions(text: str, classes: list[str]) -> list[BranchRule]:
    """What to do for each class: ``for bug reports, create an issue ...; otherwise draft a reply``, else
    the clause that names the class alone (``投诉类用模型写道歉``, ``「その他」は…固定で返す``)."""
    general = re.search(r"\b(?:and|then)\s+(?:then\s+)?((?:write|draft|send|reply|respond|generate|answer|create|produce|"
                        rf"compose|suggest)\b.+?){END}", text, re.I)
    fallback = general.group(1) if general else ""
    other = re.search(rf"\b(?:otherwise|else|for (?:all )?(?:the )?other(?:s| \w+))\s*,?\s*(.+?){END}", text, re.I)
    if other:
        fallback = other.group(1)
    per = lx.find(text, "per_class") if not fallback else None  # "分類ごとに…要約を作成": the work of every class
    if per:
        fallback = re.split(r"[。；;]|\.\s", text[per.end():])[0].strip(" ,，、")
    fallback = re.sub(r"\s+for (?:each|every) (?:category|class|type|one)\b", "", fallback.strip(" ,")) or "reply to it"
    rules = []
    nouns = lx.category("item_noun")
    items = nouns.pattern if nouns else "ones?"  # "for negative reviews, ...": the items the classes sort
    for name in classes:
        own = re.search(rf"\bfor\s+(?:the\s+|all\s+)?{re.escape(name.lower())}\w*(?:\s+(?:{items}))?\s*,?\s*(.+?)"
                        rf"(?=\s*,\s*(?:otherwise|else|for)\b|\s*[;]|\.(?:\s|$)|$)", text, re.I)
        clause = "" if own else _own_clause(text, name, classes) or class_clause(text, name, classes)  # "English ones get …, Spanish …"
        rules.append(BranchRule(condition=name, action=own.group(1).strip(" ,") if own else clause or fallback))
    return rules


def _find_http_calls(text: str, classes: list[str], branches: list[BranchRule]) -> list[HttpCall]:
    """Each URL with the method its clause asks for, its purpose and the class/branch it belongs to."""
    calls = []
    fixed_texts = [(m.start(), m.end()) for m in re.finditer(r"「[^」]*」|“[^”]*”", text)]  # a URL inside a quoted reply is text
    for match in re.finditer(r"https?://[^\s,;)'\"]+", text):
        if any(s < match.start() < e for s, e in fixed_texts):
            continue
        url = match.group(0).rstrip(".,)")
        start = max(text.rfind(sep, 0, match.start()) for sep in (";", ". ", ", ", " and if ", " if "))
        end = min([i for i in (text.find(sep, match.end()) for sep in (";", ". ", ", ")) if i >= 0] or [len(text)])
        clause = text[start + 1 if start >= 0 else 0: end].strip(" ,;.")
        before = text[start + 1 if start >= 0 else 0: match.start()]
        method = "get"
        if re.search(r"\b(put|update|replace)\b", before, re.I):
            method = "put"
        elif re.search(r"\b(post|posts|posting|posted|submit|create|send|notify|webhook|publish|upload|open|file)\b", before, re.I) \
                or lx.has(before, "io_deliver") or lx.has(text[match.end():match.end() + 12], "io_deliver"):
            method = "post"
        when = next((c for c in classes if re.search(rf"\bfor\s+(?:the\s+|all\s+)?{re.escape(c.lower())}", clause, re.I)), "")
        if not when:
            when = next((b.condition for b in branches if b.condition != "otherwise" and url in b.action), "")
        calls.append(HttpCall(url=url, method=method, purpose=clause, when=when))
    return calls


def _find_review(text: str) -> str | None:
    """A second pass that checks and corrects the result (``have a second model review it and fix mistakes``)."""
    match = re.search(r"\b(?:have|let|ask|use)\s+(?:a\s+|an\s+)?(?:second|another|different|separate)\s+(?:model|llm|ai|reviewer|"
                      rf"editor)\s+(?:to\s+)?(.+?){END}", text, re.I)
    match = match or re.search(r"\bthen\s+((?:review|proofread|check|critique|edit)\w*\s+(?:the|its|it)\b.*?\b(?:fix|correct|"
                               rf"improve|polish)\w*.*?){END}", text, re.I)
    return match.group(1).strip(" ,") if match else None


def _find_decisions(text: str) -> list[BranchRule]:
    if not re.search(r"\b(check|moderat\w*|screen\w*|review\w*|vet\w*|filter\w*|decide)\b", text, re.I):
        return []
    verbs = "|".join(DECISION_VERBS)
    match = re.search(
        rf"\b((?:{verbs})\b[^.;]*?)\s+or\s+((?:{verbs})\b[^.;,]*)", text, re.I,
    )
    if not match or re.search(r"\b(recommend|suggest|whether to)\s*$", text[: match.start()].strip(), re.I):
        return []
    first, second = match.group(1).strip(), match.group(2).strip()
    verb = first.split()[0].lower()
    return [BranchRule(condition=verb, action=first), BranchRule(condition="otherwise", action=second)]


def _find_inputs(text: str, chat: bool) -> tuple[list[InputVar], list[str]]:
    """Start variables, plus the names of those that are explicit short parameters."""
    inputs: list[InputVar] = []
    params: list[str] = []
    lower = text.lower()

    def add(var: InputVar) -> None:
        if var.name not in {i.name for i in inputs}:
            inputs.append(var)

    if IMAGE_WORDS.search(text) and re.search(r"\b(upload\w*|attached|describe|given|photo of|this)\b|上传", text, re.I):
        noun = IMAGE_WORDS.search(text).group(0).lower().rstrip("s")
        add(InputVar(name="image" if noun not in ("photo", "screenshot", "scan", "diagram") else noun,
                     label=_title(noun), type="file", file_types=["image"]))
    has_image = bool(inputs)
    if FILE_TRIGGER.search(text) and not re.search(r"\bjson (?:file|list)\b", lower):
        doc_matches = [(lower.find(n), n) for n in DOC_NOUNS if re.search(rf"\b{n}s?\b", lower)]
        if doc_matches or (not has_image and re.search(r"\b(upload\w*|attached|pdf)\b", lower)):
            preferred = [n for n in DOC_NOUNS if any(m[1] == n for m in doc_matches)]
            noun = preferred[0] if preferred else "document"
            noun = "document" if noun in ("pdf", "file") else noun
            multiple = bool(re.search(rf"\b{noun}s\b|\bfiles\b|\bmultiple\b", lower))
            add(InputVar(name=slug(noun) + ("s" if multiple else ""), label=_title(noun) + (" files" if multiple else ""),
                         type="file-list" if multiple else "file", file_types=["document"]))
    for match in re.finditer(
        r"\b(?:the|a|an)\s+([a-z][\w-]*(?: (?!the\b|a\b|that\b)[a-z][\w-]*)?)\s+(?:that\s+)?(?:the\s+)?(?:user|users|customer|caller|person)"
        r"\s+(?:provides?|enters?|gives?|types?|supplies?|chooses?|picks?|selects?|submits?|specif\w+)",
        text,
        re.I,
    ):
        noun = match.group(1)
        add(InputVar(name=slug(noun), label=_title(noun), type="text-input"))
        params.append(slug(noun))
    for match in re.finditer(r"\b(?:when|whenever|each time|every time)\s+(?:a|an)\s+(?:new\s+)?([a-z]+)\s+"
                             r"(?:comes in|arrives|is received|is submitted|is created|gets created)", text, re.I):
        noun = match.group(1)
        add(InputVar(name=slug(noun), label=_title(noun), type="paragraph"))
    for match in re.finditer(r"\b(?:a|the)\s+given\s+([a-z][\w-]*)", text, re.I):
        noun = match.group(1)
        add(InputVar(name=slug(noun), label=_title(noun), type="text-input"))
        params.append(slug(noun))
    form = _prose_fields(text) if not chat else []
    for var in form:
        add(var)
        params.append(var.name)
    if not chat and not form:
        for match in re.finditer(r"\babout\s+(?:a|an)\s+([a-z]+)\b", text, re.I):
            noun = match.group(1).lower()
            if noun not in ("few", "couple", "lot", "hundred", "thousand") and not any(i.name == noun for i in inputs):
                add(InputVar(name=slug(noun), label=_title(noun), type="text-input"))
                params.append(slug(noun))
        content = _content_noun(text)
        if content and content not in {i.name for i in inputs}:
            label = _title(content.replace("_", " "))
            add(InputVar(name=content, label=label, type="paragraph"))
    return inputs, params


GIVE_VERB = r"(?:enters?|provides?|types?|fills? in|gives?|submits?|supplies?|picks?|chooses?|selects?|pastes?|specif(?:y|ies))"
WHO = r"(?:user|users|customer|customers|teacher|teachers|student|students|employee|employees|applicant|caller|visitor|staff|agent|manager|they|you)"
POSSESSIVE = r"(?:the|a|an|their|its|his|her|your|our|each)"
FORM_LEADS = (
    rf"\b(?:from|given|based on)\s+(?:{POSSESSIVE}\s+)?(?P<list>[^.;:!?()]+)",
    rf"\b{WHO}\s+{GIVE_VERB}\s+(?:{POSSESSIVE}\s+)?(?P<list>[^.;:!?()]+)",
    rf"\b(?:form|fields?)\s+(?:asks for|collects|takes|has|with|for)\s+(?:{POSSESSIVE}\s+)?(?P<list>[^.;:!?()]+)",
    rf"\bfor\s+{POSSESSIVE}\s+(?P<list>[^.;:!?()]+?)\s+(?:that\s+)?(?:the\s+)?\w+\s+{GIVE_VERB}\b",
)
"""Where a form is described in prose: a list of fields after a giving phrase ("from the order ID, customer name
and order total", "the user enters their name and delivery date", "for a grade level and topic the teacher enters")."""
FIELD_NUMBER = re.compile(r"\b(?:total|amount|price|cost|budget|count|quantity|qty|age|salary|income|score|hours|minutes|"
                          r"weight|height|distance|percentage|number of \w+|how many \w+)\b", re.I)
FIELD_TEXT = re.compile(r"\b(?:description|notes|article|essay|transcript|message|feedback|comments?|content|story|details|"
                        r"bio|review|letter|complaint|body|draft|text)\b", re.I)
FIELD_STOP = set("""a an the and or of to in on at for with from by as is are be it its this that these those them they
then it's each every all any some one two three four five six seven eight nine ten what which who when where how into
per than so but not no also only just via up down out over under word words sentence sentences""".split())


def _field_name(noun: str, lang: str, tail: bool = False) -> str | None:
    """``预约日期`` -> ``appointment_date``: a CJK field noun made wholly of the lexicon's ``fields`` pieces (``的``/``の``
    between them allowed), else None; with ``tail`` the longest such end of ``noun`` ("お客様が名前" -> ``name``)."""
    pieces = lx.table(lang, "fields")
    if tail:
        return next((name for i in range(len(noun)) if (name := _field_name(noun[i:], lang))), None)
    out, i = [], 0
    while i < len(noun):
        if noun[i] in "的の" and out:
            i += 1
            continue
        word = next((w for w in sorted(pieces, key=len, reverse=True) if noun.startswith(w, i)), None)
        if not word:
            return None
        out.append(pieces[word])
        i += len(word)
    names = [p for k, p in enumerate(out) if k == 0 or p != out[k - 1]]
    return "_".join(names) if names else None


def _cjk_fields(text: str) -> list[InputVar]:
    """A form described in Chinese or Japanese prose: the list after a giving verb (``用户填写姓名、电话和预约日期``)
    or before it (``名前、会社名、希望日を入力``), each item named from the lexicon's field nouns."""
    lang = lx.detect(text)
    if lang not in ("zh", "ja") or not lx.table(lang, "fields"):
        return []
    sep = r"\s*(?:、|，(?=[^，。]{1,8}(?:和|与|及|、))|以及|和|与|及|跟|と|や|/)\s*"
    bodies = []
    if lang == "zh":
        for m in lx.category("io_give", ("zh",)).finditer(text):
            body = re.split(r"[，。；！？,;!?\n]|之后|以后|后[，,]?|然后|再|并|来|，", text[m.end():])[0]
            bodies.append((re.sub(r"^(?:的|自己的|他们的|其)", "", body), False))
    else:
        for m in re.finditer(r"(?:を|から|で)(?:入力|受け取|もとに|基に|記入)|から", text):
            head = re.split(r"[。，,；;！？!?\n]", text[:m.start()])[-1]
            bodies.append((head, True))
    best: list[InputVar] = []
    for body, first_tail in bodies:
        items = [i for i in re.split(sep, body) if i]
        fields: list[InputVar] = []
        for k, item in enumerate(items):
            name = _field_name(item, lang, tail=first_tail and k == 0)
            if not name:
                break
            kind = "number" if FIELD_NUMBER.search(name.replace("_", " ")) or re.search(r"(?:^|_)(?:headcount|days)$", name) \
                else "paragraph" if FIELD_TEXT.search(name.replace("_", " ")) else "text-input"
            fields.append(InputVar(name=name, label=item, type=kind))  # type: ignore[arg-type]
        if len(fields) >= 2 and len(fields) > len(best) and len({f.name for f in fields}) == len(fields):
            best = fields
    return best


def _prose_fields(text: str) -> list[InputVar]:
    """The fields of a form the user describes in prose, as typed start variables with snake_case names."""
    if lx.CJK.search(text):
        return _cjk_fields(text)
    best: list[InputVar] = []
    for lead in FORM_LEADS:
        for m in re.finditer(lead, text, re.I):
            body = re.split(rf"\s+(?:that\s+)?(?:the\s+)?\w+\s+{GIVE_VERB}\b", m.group("list"), maxsplit=1, flags=re.I)[0]
            fields: list[InputVar] = []
            for item in split_list(body):
                item = re.sub(rf"^(?:{POSSESSIVE})\s+", "", item.strip(), flags=re.I)
                words = item.split()
                if not 1 <= len(words) <= 3 or any(not re.fullmatch(r"[A-Za-z][A-Za-z-]*", w) or w.lower() in FIELD_STOP
                                                   for w in words) or words[0].lower() in ACTION_VERBS:
                    break
                kind = ("number" if FIELD_NUMBER.search(item) else "paragraph" if FIELD_TEXT.search(item) else "text-input")
                fields.append(InputVar(name=slug(item), label=_title(item), type=kind))  # type: ignore[arg-type]
            if len(fields) >= 2 and len(fields) > len(best) and len({f.name for f in fields}) == len(fields):
                best = fields
    return best


def _content_noun(text: str) -> str | None:
    nouns = "|".join(CONTENT_NOUNS)
    mods = "|".join(MODIFIERS)
    for match in re.finditer(rf"\b(?:({mods})[ -])?({nouns})\b", text, re.I):
        before = text[max(0, match.start() - 30): match.start()].lower()
        if before.endswith("-") or re.search(r"\d\s*$", before):
            continue
        if re.search(r"\b(fetch|retrieve|download|write|draft|generate|produce|create|return|into|an? sql)\b[\w -]*$", before):
            continue
        if re.match(r"\s+(?:the|its|it|them|this|that)\b", text[match.end():], re.I):
            continue  # used as a verb: "review the translation", "post it to Slack"
        if re.search(r"\bthe\s+$", before) and re.search(
                r"\b(?:grade|grades|score|scores|review|reviews|critique|critiques|check|checks|judge|judges|assess|assesses|"
                r"evaluate|evaluates|rate|rates)\s+(?:it|them|the|each|every|this)\b", text[:match.start()], re.I):
            continue  # "... grade it ... rewrite using the feedback": an artefact an earlier step makes, not an input
        noun = match.group(2).lower()
        noun = {"emails": "email", "reviews": "review", "questions": "question", "comments": "comment",
                "messages": "message", "tickets": "ticket"}.get(noun, noun)
        modifier = (match.group(1) or "").lower()
        if modifier in ("input", "user", "customer", "support"):
            modifier = ""
        return slug(f"{modifier} {noun}" if modifier else noun)
    return None


def _find_constraints(text: str) -> tuple[list[str], list[str]]:
    constraints = []
    for pattern in (
        rf"\b(?:at most|up to|no more than|at least|under|fewer than|less than|maximum of|max\.?|exactly|about)\s+{NUM}\s+[a-z]+",
        rf"\b{NUM}[- ](?:word|sentence|bullet|question|hashtag|item|point|paragraph|line|slide|step|tip|idea|"
        rf"title|option|choice|keyword|tag|example|minute|character)s?\b(?:[- ][a-z]+)?",
        r"\bfrom\s+\d+\s+to\s+\d+\b",
        r"(?<![\d./-])\b\d{1,3}\s*[-–]\s*\d{1,3}\b(?![\d./-])",
    ):
        constraints += [m.group(0) for m in re.finditer(pattern, text, re.I)]
    numbers = []
    for match in re.finditer(rf"\b{NUM}\b", text, re.I):
        word = match.group(0)
        if word.lower() in ("one",) and not re.match(r"one[- ]\w", text[match.start():]):
            continue
        numbers.append(word)
        value = number_value(word)
        if value is not None and str(value) != word:
            numbers.append(str(value))
    return list(dict.fromkeys(constraints)), list(dict.fromkeys(numbers))


MAKE_VERBS = re.compile(r"(?:\b(?:write|writes|draft|create|generate|produce|compose|make|build|list|give)\b(?:\s+\S+){0,3}\s*$"
                        r"|(?:写|生成|编写|撰写|起草|作成|作って|作る|書いて|書く)[^，。、]{0,6}$)", re.I)
"""A produce verb just before a word: what follows is made by the workflow, not a source it reads."""


def _retrieval_source(text: str) -> bool:
    """A knowledge source the workflow reads from: a retrieval word that is neither a variable name the user
    gave (``output faq``) nor the object of a produce verb (``write five FAQs``, ``FAQ を作って``)."""
    matches = lx.all_matches(text, "knowledge")
    uploaded = {m.group(0).lower() for m in matches  # "アップロードされたマニュアルPDF", "上传的说明书": the file itself
                if lx.has(text[max(0, m.start() - 12):m.start()], "file") or lx.has(text[m.end():m.end() + 4], "file")}
    for m in matches:
        if m.group(0).lower() in uploaded:
            continue
        before, after = text[max(0, m.start() - 40):m.start()], text[m.end():m.end() + 1]
        if not lx.CJK.search(m.group(0)) and (re.match(r"[A-Za-z0-9_]", after) or re.search(r"[A-Za-z0-9_]$", before)):
            continue  # part of a name (faq_bot); a CJK word next to Latin letters ("FAQナレッジ") is not
        if m.group(0).islower() and (re.search(r"(?:出力|输出|output|return)\s*$", before, re.I) or lx.CJK.search(text)):
            continue  # a lower-case name after an output cue, or standing in CJK text (说明书 manual)
        if MAKE_VERBS.search(before) and not re.search(r"\b(?:from|using|based on|according to)\b|根据|基于|参考|に基づ|を参照", before, re.I):
            continue
        return True
    return False


def _find_list_filter(text: str) -> ListFilter | None:
    if not re.search(r"\b(keep only|filter\w*|only (?:the )?\w+ (?:above|over|below|under)|sort\w*|top \w+|rank\w*)\b", text, re.I):
        return None
    if not re.search(r"\b(list|json|array|records|rows|orders|items|entries)\b", text, re.I):
        return None
    if not re.search(r"\b(?:keep only|filter\w*|sort\w*|rank\w*)\b", text, re.I) and not re.search(
            r"\b(?:json|array|records|rows|entries)\b", text, re.I):
        return None  # "list the top three skills": a count in the writing, not a list to filter by a key
    flt = ListFilter()
    match = re.search(r"\b(above|over|more than|greater than|exceeding|at least|below|under|less than|fewer than)\s+\$?(\d+(?:\.\d+)?)",
                      text, re.I)
    if match:
        word = match.group(1).lower()
        flt.operator = "<" if word in ("below", "under", "less than", "fewer than") else ("≥" if word == "at least" else ">")
        flt.value = match.group(2)
    sort = re.search(r"\bsort\w*\s+(?:them\s+|it\s+|the \w+\s+(?:\([^)]*\)\s+)?)?by\s+(?:their\s+|the\s+)?(\w+)", text, re.I)
    if sort:
        flt.sort_key = sort.group(1).lower()
        flt.descending = not re.search(r"\bascending|lowest first|smallest first\b", text, re.I)
    flt.key = flt.sort_key or ("amount" if re.search(r"dollars?|\$|€|price|cost|amount", text, re.I) else "value")
    top = re.search(rf"\btop\s+({NUM})\b", text, re.I)
    if top:
        flt.limit = number_value(top.group(1))
    return flt


def _cjk_list_filter(text: str) -> ListFilter | None:
    """``按销量从高到低排序，取前5个`` / ``売上の多い順に並べ替えて上位3件``: a sort of the records (by the field the
    text names for them, else the one that is not a name or id) and how many to keep."""
    sort = lx.find(text, "list_sort")
    if not sort or not lx.CJK.search(text):
        return None
    fields = re.findall(r"(?<![A-Za-z0-9_])([a-z][a-z0-9_]*)(?=[^。；;]{0,12}?(?:字段|フィールド|项|キー|列))", text)
    fields += re.findall(r"(?<![A-Za-z0-9_])([a-z][a-z0-9_]*)\s*(?:字段|フィールド|キー)", text)
    near = re.findall(r"(?:按|根据|以)\s*([a-z][a-z0-9_]*)", text[:sort.start()]) or re.findall(
        r"([a-z][a-z0-9_]*)\s*の", text[max(0, sort.start() - 20):sort.start()])
    key = (near[-1] if near else next((f for f in fields if f not in ("name", "id", "title", "名前")), None)) or "value"
    top = re.search(r"(?:前|上位|トップ)\s*([一二两三四五六七八九十\d]+)", text)
    return ListFilter(key=key, sort_key=key, descending=not lx.has(text, "list_asc"),
                      limit=cjk_number(top.group(1)) if top else None)


def _find_loop(text: str) -> LoopRule | None:
    if not re.search(r"\b(repeatedly|iterativ\w*|again|keep \w+ing|loop|until|refine\w* \w+ times|rounds?)\b", text, re.I):
        return None
    count = re.search(rf"\b(?:up to|at most|max(?:imum)?(?: of)?|no more than)\s+({NUM})\s+(?:times|rounds|iterations|passes)", text, re.I)
    count = count or re.search(rf"\b({NUM})\s+(?:times|rounds|iterations|passes)\b", text, re.I)
    until = re.search(r"\buntil\s+(.+?)(?:[.;]|$)", text, re.I)
    if not count and not until:
        return None
    value = number_value(count.group(1)) if count else 3
    return LoopRule(max_iterations=max(1, min(value or 3, 100)), until=until.group(1).strip() if until else "")


CJK_COUNT = r"([一二两三四五六七八九十\d]+)"


def find_list_source(text: str) -> tuple[str, str] | None:
    """A list the workflow makes itself and then works through item by item: ``(item noun, list step)``.

    ``come up with six lesson topics ... then, topic by topic, write ...`` / ``先列出 5 个选题，再为每个选题写 ...``
    / ``テーマを3つ挙げて、テーマごとに ...`` -> a model lists the items (``model:<n>``); ``split the article on
    blank lines, translate each paragraph ...`` / ``按段落拆分`` -> code splits the text (``split:<unit>``)."""
    for m in re.finditer(rf"\b(?:come up with|generate|list|brainstorm|propose|suggest|produce|create|pick|choose|think of|"
                         rf"outline|name)\s+(?:a list of\s+|the\s+)?({NUM})\s+([a-z-]+(?:\s+[a-z-]+){{0,2}})", text, re.I):
        rest = text[m.end():]
        for word in reversed(m.group(2).split()):
            stem = re.sub(r"(?:ies|s)$", lambda e: "y" if e.group(0) == "ies" else "", word.lower())
            if len(stem) > 2 and re.search(rf"\b(?:for\s+)?(?:each|every)\s+(?:\w+\s+)?{stem}|\b{stem}\s+by\s+{stem}|\bper\s+{stem}|"
                                           rf"\bone\s+{stem}\s+at\s+a\s+time", rest, re.I):
                return stem, f"model:{number_value(m.group(1)) or 3}"
    for m in re.finditer(rf"(?:列出|生成|想出|提出|写出|给出|拟出|拟定|挑出|先出){CJK_COUNT}\s*(?:个|条|篇|道|项|种)\s*([\u4e00-\u9fff]{{1,6}}?)(?=[，,。；、]|然后|再|并)",
                         text):
        noun = m.group(2)
        if re.search(rf"(?:每个|每条|每篇|每道|每项|逐个|逐条|逐篇|一个一个)\s*{re.escape(noun[-2:])}", text[m.end():]):
            return noun, f"model:{cjk_number(m.group(1), 3)}"
    for m in re.finditer(rf"([\u30a0-\u30ff\u4e00-\u9fff]{{1,8}})を\s*{CJK_COUNT}\s*(?:つ|個|本|件|案)", text):
        noun = m.group(1)
        if re.search(rf"{re.escape(noun[-2:])}(?:ごとに|ごと|ひとつずつ|1つずつ|一つずつ|それぞれ)", text[m.end():]) and lx.has(text[:m.start() + 40], "list_make"):
            return noun, f"model:{cjk_number(m.group(2), 3)}"
    split = lx.find(text, "split_word") or re.search(r"\b(?:break|divide|separate|chop)\b[^.;]{0,40}?\binto\b", text, re.I)
    if split:
        near = text[max(0, split.start() - 40):split.end() + 60]
        for unit in ("paragraph", "line", "sentence"):
            if lx.has(near, f"unit_{unit}") or lx.has(text[split.end():], f"unit_{unit}") and lx.has(text, "each"):
                return unit, f"split:{unit}"
    return None


def _date_inputs(text: str, inputs: list[InputVar]) -> list[InputVar]:
    """The dates a date calculation reads when the user names them only in words (``a start date and end
    date``, ``her hire date``): one text input per date, in order; none when an input already holds a date."""
    if not any(lx.has(text, key) for key in ("calc_days", "calc_working_days", "calc_years")) or any(
            re.search(r"date|day", i.name) for i in inputs):
        return []
    from core.agents.ir import FUNCTION_WORDS

    found = []
    for m in re.finditer(r"\b([a-z]+)\s+dates?\b", text, re.I):
        word = m.group(1).lower()
        if word not in FUNCTION_WORDS and word not in ("leave", "the", "given", "yyyy-mm-dd", "dd") and len(found) < 2:
            found.append(InputVar(name=slug(f"{word} date"), label=f"{_title(word)} date (YYYY-MM-DD)", type="text-input"))
    return list({i.name: i for i in found}.values())


def _find_code_steps(text: str) -> list[str]:
    steps = []
    for clause in re.split(r"(?<=[.;])\s+|,\s*then\s+|\bthen\b|,\s*and\s+then\s+", text):
        if re.search(r"\b(code (?:step|node|block)|python|javascript|script|programmatically|with code|in code)\b", clause, re.I):
            purpose = re.sub(r"\s*\b(?:with|using|in|via|by)\s+(?:a|an)\s+(?:python |javascript )?(?:code (?:step|node|block)|script)\b",
                             "", clause.strip(" ,.;"), flags=re.I)
            purpose = re.sub(r"\bcheck\s+with\s+(?:a\s+)?code\s+step\s+that\b", "check that", purpose, flags=re.I)
            steps.append(purpose.strip() or clause.strip())
    return steps


def _find_extraction(text: str) -> list[str]:
    verb = lx.category("extract_verb", ("en",))
    match = re.search(rf"(?:{verb.pattern})\s+(?:the\s+|all\s+)?(.+?)(?:\s+(?:from|with|using|via|by)\b|\s+out of\b|[.;]|$)",
                      text, re.I) if verb else None
    if not match:
        return []
    fields = []
    for field in split_list(match.group(1)):
        if field.split()[0].lower() in ACTION_VERBS or len(field.split()) > 4:
            break
        fields.append(field)
    if not match.group(0).lower().startswith("extract") and not (
            all(re.fullmatch(r"`?[a-z][a-z0-9_]*`?", f) for f in fields) and any("_" in f for f in fields)):
        return []  # "pull out vendor, amount_due and due_date": named fields; "pull out plan names": the work of a step
    if len(fields) >= 2 or re.search(r"\b(fields?|structured|json|key-value)\b", text, re.I):
        return fields
    return []


def _find_sections(text: str) -> list[str]:
    """Named sections of a formatted result: ``sections called A, B and C``, or a quoted list next to a
    section word in any language (``排成“会议主题 / 参会人 / 决议事项”四个部分``, ``「概要」「詳細」「次の一手」の3つの見出し``)."""
    from core.agents.conditions import quoted
    from core.agents.ir import _quoted_run

    for sentence in re.split(r"[。；;\n]|\.\s", text):
        if not lx.has(sentence, "section_unit"):
            continue
        for item in quoted(sentence, 160):
            parts = [p.strip() for p in re.split(r"\s*[/／|｜、・]\s*", item) if p.strip()]
            if 2 <= len(parts) <= 10 and all(len(p) <= 16 for p in parts):
                return parts
        run = _quoted_run(sentence)
        if len(run) >= 2:
            return run
    match = re.search(r"\b(?:sections?|headings?|headers?|parts?)\s+(?:called\s+|named\s+|for\s+|:\s*)?(.+?)(?=\s+(?:using|with|in|via|by)\b|[.;]|$)",
                      text, re.I)
    if not match:
        return []
    items = [_title(i) for i in split_list(match.group(1)) if len(i.split()) <= 4]
    return items if len(items) >= 2 else []


_NAME_LEAD = {
    "zh": re.compile(r"^(?:请你?|帮我|帮忙|我(?:想要?|需要|要)|需要)?(?:做|搭建|创建|建|写|开发|设计|生成)?(?:一个|一套|个)?(?:把|将)?"),
}
"""Lead-ins before the goal of a CJK requirement ("帮我做一个…") that an app name leaves out."""


def _app_name(text: str) -> str:
    """A short app name from the requirement's first clause, in the requirement's language."""
    lang = lx.detect(text)
    # a lead-in that only says "no model" ("No LLM:", "不用模型：") names nothing: the name starts after it
    lead_in = re.match(r"\s*([^:：;；.。,，]{1,40})[:：;；.。,，]\s*", text)
    if lead_in and lx.no_model(lead_in.group(1)) and len(lead_in.group(1).split()) <= 5:
        text = text[lead_in.end():] or text
    given = re.match(r"\s*(?:given|with|taking|from)\b[^,;:.()]{0,60}(?:\([^)]*\)[^,;:.()]{0,30})*[,;:]\s*(?=\w)", text, re.I)  # "given the price (…), apply …"
    text = text[given.end():] if given else text
    if lang in ("zh", "ja", "ko"):
        clause = re.sub(r"」\s*[、,，]?\s*「|”\s*[、,，]?\s*“", "・" if lang == "ja" else "/", text)  # 「A」「B」 -> A・B
        clause = re.sub(r"（[^）]*）|\([^)]*\)|[「」“”\"『』]", "", clause).strip()
        clause = re.split(r"[，。：；！？、,.:;!?\n]", clause)[0]
        clause = re.sub(r"(?<![A-Za-z0-9_])[a-z_][A-Za-z0-9_]*(?![A-Za-z0-9_])", "", clause)  # variable names; PDF, BMI stay
        clause = re.sub(r"\s+", "" if lang != "ko" else " ", clause).strip()
        lead = _NAME_LEAD.get(lang)
        clause = lead.sub("", clause, count=1) if lead else clause
        if len(clause) >= 2:
            return clause[:16]
    plain = re.sub(r"\([^)]*\)|`[^`]*`|\b[a-z][a-z0-9]*_[a-z0-9_]+\b|\"[^\"]*\"", " ", text)  # not "(input review)"
    words = re.findall(r"\d+(?:\.\d+)?%|[A-Za-z][A-Za-z'-]+|[,;:.!?]", plain)  # "Apply 10% Off"
    keep: list[str] = []
    for w in words:
        if len(keep) >= 4 or keep and (not (w[0].isalpha() or w.endswith("%")) or len(keep) >= 2 and w.lower() in NAME_BREAK):
            break  # the goal ends at its clause, or at a preposition once it has a verb and an object
        if (w[0].isalpha() or w.endswith("%") and keep) and w.lower() not in NAME_SKIP and not (
                not keep and w.lower() in NAME_LEAD_WORDS):
            keep.append(w)
    return " ".join(w if w.isupper() else _title(w.lower()) for w in keep) or "Generated workflow"  # keep HR, PDF


NAME_SKIP = {"a", "an", "the", "that", "of", "and", "it", "its", "each", "our", "my", "your", "their", "is", "are", "about",
             "given", "me", "us", "please", "input", "inputs", "output", "outputs"}
"""Words an English app name leaves out."""
NAME_LEAD_WORDS = {"i", "we", "want", "need", "would", "like", "build", "create", "make", "set", "up", "take", "takes", "workflow",
                   "app", "flow", "pipeline", "to", "for", "with", "from", "in", "as", "on", "by", "into", "using", "then",
                   "this", "that", "which", "let", "lets", "let's", "here", "should", "can", "could", "just"}
"""Lead-ins before the goal ("I want a workflow that ...", "Build an app to ..."), skipped before the first word kept."""
NAME_BREAK = {"as", "in", "into", "to", "for", "from", "with", "by", "using", "then", "and", "if", "when", "on", "so",
              "which", "that", "at", "of"}


def analyse(requirement: str) -> RequirementSpec:
    """Turn requirement text into a ``RequirementSpec`` with rules only (no model, no network)."""
    text = " ".join(requirement.split())
    lower = text.lower()
    chat = asks_for_chat(text)
    caps: list[str] = []

    def cap(name: str, condition: object) -> None:
        if condition and name not in caps:
            caps.append(name)

    inputs, params = _find_inputs(text, chat)
    dates = _date_inputs(text, inputs)
    if dates:  # "a leave start date and end date ... count the working days": the dates are the inputs
        inputs = dates + [i for i in inputs if i.name not in ("input", "text", "content")]
    classes = _find_classes(text) or _topic_routes(text) or _intent_routes(text)
    branches = _find_branches(text) if not classes else []
    given_rules: list[BranchRule] = []
    if branches and lx.has(text, "classifier_word") and not any(numeric_condition(b.condition) for b in branches):
        given_rules = _branch_classes(text, branches)  # "spam or not spam ... with a classifier": the classifier's classes
        classes, branches = [r.condition for r in given_rules], []
    decisions = _find_decisions(text) if not (classes or branches) else []
    class_rules = given_rules or (class_actions(text, classes) if classes else [])
    if classes and classes[-1] == lx.say(lx.detect(text), "other_class") and class_rules:  # a route's rest: the usual work
        class_rules[-1] = BranchRule(condition=classes[-1], action=_own_clause(text, classes[-1], classes))
    http = _find_http_calls(text, classes, branches or decisions)
    for call in http:
        for name in re.findall(r"[?&]([A-Za-z_]\w*)=(?:\.\.\.|<[^>]*>|\{[^}]*\}|(?=&|$))", call.url):
            if not any(i.name == slug(name) for i in inputs) and not secret_param(name):
                inputs.append(InputVar(name=slug(name), label=_title(name.replace("_", " ")), type="text-input"))
                params.append(slug(name))
    if not http and re.search(r"\b(http|api|endpoint|web ?page|webhook|url|website|rest api)\b", lower) and not re.search(
            r"\bsearch\b", lower):
        fetch = re.search(rf"\b(?:fetch|download|retrieve|read|get|call)\w*\b.+?{END}", text, re.I)
        http = [HttpCall(url="", method="post" if re.search(r"\bpost\b", lower) else "get",
                         purpose=fetch.group(0) if fetch else "")]
        if not any(i.name == "url" for i in inputs):
            inputs.insert(0, InputVar(name="url", label="URL", type="text-input"))
            params.append("url")
    iteration = re.search(r"\bfor (?:each|every)\s+([a-z][\w -]*?)\s+(?:in|of|from)\s+(?:a|the|this)\s+(?:\w+\s+)?(?:list|set|batch|array|csv)", text, re.I)
    listed = re.search(r"\b(?:a|the)\s+(?:list|csv(?: file)?|spreadsheet|batch|set|collection)\s+of\s+([a-z][\w -]*?)\s*,?\s+"
                       r"(?:and\s+)?(?:for each|each|individually|one by one)", text, re.I)
    iteration_target = iteration.group(1).strip() if iteration else None
    made = find_list_source(text) if not iteration_target and not chat else None
    list_step = made[1] if made else ""
    if made:
        iteration_target, listed = made[0], None
    if listed and not iteration_target:
        iteration_target = re.sub(r"s$", "", listed.group(1).strip())
    if iteration_target and not chat and not list_step:
        plural = slug(iteration_target) + ("" if iteration_target.endswith("s") else "s")
        inputs = [i for i in inputs if i.name not in ("text", "content")]
        inputs = [i for i in inputs if i.name != slug(iteration_target).split("_")[-1]]
        if not any(i.name == plural for i in inputs):
            how = "CSV, one per row" if re.search(r"\bcsv\b", lower) else "one per line"
            inputs.insert(0, InputVar(name=plural, label=f"{_title(iteration_target)}s ({how})", type="paragraph"))
    list_filter = (_find_list_filter(text) or _cjk_list_filter(text)) if not iteration_target else None
    loop = _find_loop(text)
    constraints, numbers = _find_constraints(text)
    languages = [lang for lang in LANGUAGES if re.search(rf"\b{lang}\b", text, re.I)]
    models = re.search(rf"\b({NUM}|multiple|several)\s+(?:different\s+)?(?:llms|models|language models|ai models)\b", text, re.I)
    parallel_models = (number_value(models.group(1)) or 2) if models else 0
    tool = "web search" if re.search(r"\b(search tool|web search|search the (?:web|internet)|google|bing|duckduckgo|tavily|"
                                     r"latest news|look up|looks up)\b", lower) or lx.has(text, "tool_search") else None
    code_steps = _find_code_steps(text)
    fields = _find_extraction(text)
    sections = _find_sections(text)

    files = [i for i in inputs if i.type in ("file", "file-list")]
    cap("retrieval", _retrieval_source(text))
    cap("classification", classes)
    cap("branching", branches or decisions)
    cap("http", http)
    cap("code", code_steps or list_filter or iteration_target)
    cap("iteration", iteration_target)
    cap("loop", loop)
    cap("extraction", fields)
    cap("file_input", any("document" in i.file_types for i in files))
    cap("image_input", any("image" in i.file_types for i in files))
    cap("memory", chat)
    cap("template", sections or re.search(r"\btemplate\b", lower))
    cap("tool", tool or re.search(r"\btools?\b", lower))
    cap("agent", re.search(r"\b(agent|autonomous\w*)\b", lower))
    cap("list_filter", list_filter)
    cap("parallel", parallel_models or re.search(r"\bin parallel|simultaneous\w*|at the same time\b", lower))
    cap("translation", re.search(r"\btranslat\w*|übersetz\w*|翻译", lower))
    cap("summarization", re.search(r"\bsummar\w*|digest|tl;?dr|briefing|recap|zusammenfass\w*|总结|摘要", lower))
    cap("structured_output", fields or re.search(r"\b(structured|json output|as json)\b", lower))
    cap("aggregation", classes or branches or decisions or parallel_models)

    if not chat and not inputs:
        generative = re.search(r"\b(write|draft|generate|create|compose|research|brainstorm)\b", lower)
        inputs.append(InputVar(name="topic" if generative else "input", label="Topic" if generative else "Input",
                               type="paragraph"))
    outputs = [OutputVar(name=slug(f), description=f) for f in fields] or [OutputVar(name="result", description="the result")]
    unsupported = [reason for pattern, reason in UNSUPPORTED if re.search(pattern, lower)]
    notes = []
    if INJECTION.search(text):
        notes.append("The requirement contains text addressed to the generator (an instruction override); "
                     "it was treated as data describing the app, not as an instruction.")
    spec = RequirementSpec(
        requirement=requirement.strip(),
        goal=_first_sentence(text),
        app_mode="advanced-chat" if chat else "workflow",
        name=_app_name(text),
        inputs=inputs,
        outputs=outputs,
        capabilities=caps,  # type: ignore[arg-type]
        classes=classes,
        branches=class_rules or branches or decisions,
        decisions=[b.condition for b in decisions],
        http_calls=http,
        code_steps=code_steps,
        iteration_target=iteration_target,
        list_step=list_step,
        join_results=bool(list_step) and lx.has(text, "join_word"),
        loop=loop,
        extraction_fields=fields,
        sections=sections,
        languages=languages,
        constraints=constraints,
        numbers=numbers,
        list_filter=list_filter,
        review=None if loop else _find_review(text),
        parallel_models=parallel_models,
        tool=tool,
        unsupported=unsupported,
        notes=notes,
    )
    return chat_state.analyse(_route_files(enrich(spec, requirement)), requirement)  # what a chat app remembers


FILE_KINDS = ("image", "document", "audio", "video")


def _route_files(spec: RequirementSpec) -> RequirementSpec:
    """One uploaded file with work said per kind (``images get a description; documents get summarized;
    anything else ends with error``): branches on the file's type, ``file:<kind>`` and ``otherwise``; the
    upload accepts every kind named."""
    files = [i for i in spec.inputs if i.type == "file"]
    if len(files) != 1 or spec.classes or spec.loop or spec.iteration_target:
        return spec
    clauses = [c.strip() for c in re.split(r"[;；。]|\.(?:\s|$)", spec.requirement) if c.strip()]
    parts = [p.strip() for c in clauses for p in re.split(r"[、，]", c) if p.strip()]  # "画像なら…、文書なら…"
    rules = []
    for kind in FILE_KINDS:
        own = [c for pieces in (clauses, parts) for c in pieces if lx.has(c, f"file_kind_{kind}") and not any(
            lx.has(c, f"file_kind_{k}") for k in FILE_KINDS if k != kind)]
        if own:
            rules.append(BranchRule(condition=f"file:{kind}", action=own[0]))
    if len(rules) < 2:
        return spec
    other = next((c for c in clauses if (lx.has(c, "else_word") or lx.has(c, "other_kind"))
                  and not any(r.action == c for r in rules)), "")
    rules.append(BranchRule(condition="otherwise", action=other))
    var = files[0].model_copy(update={"file_types": [r.condition.removeprefix("file:") for r in rules[:-1]]})
    rest = spec.requirement
    for rule in rules[:-1]:
        rest = rest.replace(rule.action, " ")
    tools = [t for t in spec.tools if not t.startswith("md_exporter") or lx.has(rest, "tool_export")]  # "PDF, DOCX" name kinds
    return spec.model_copy(update={"branches": rules, "inputs": [var if i is files[0] else i for i in spec.inputs], "tools": tools,
                                   "gate": None, "capabilities": list(dict.fromkeys([*spec.capabilities, "branching"]))})
