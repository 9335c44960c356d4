"""Per-language lexicons: cue words the offline brain looks for, and the phrases it writes.

The data lives in ``<lang>.yaml`` next to this file (``cues``: cue name -> words; ``phrases``:
phrase key -> text with ``{x}``/``{y}`` slots). Matching works without spaces: a cue containing
CJK characters matches as a substring; a Latin cue matches as a whole word (``word*`` as a
prefix), with boundaries that also hold next to CJK characters (unlike ``\\b``).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import yaml

HERE = Path(__file__).parent
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7a3\uff00-\uffef]")
LANGUAGE_NAMES = {
    "en": {"en": "English", "zh": "英语", "ja": "英語", "de": "Englisch", "fr": "anglais", "es": "inglés", "ko": "영어"},
    "zh": {"en": "Chinese", "zh": "中文", "ja": "中国語", "de": "Chinesisch", "fr": "chinois", "es": "chino", "ko": "중국어"},
    "ja": {"en": "Japanese", "zh": "日语", "ja": "日本語", "de": "Japanisch", "fr": "japonais", "es": "japonés", "ko": "일본어"},
    "de": {"en": "German", "zh": "德语", "ja": "ドイツ語", "de": "Deutsch", "fr": "allemand", "es": "alemán", "ko": "독일어"},
    "fr": {"en": "French", "zh": "法语", "ja": "フランス語", "de": "Französisch", "fr": "français", "es": "francés", "ko": "프랑스어"},
    "es": {"en": "Spanish", "zh": "西班牙语", "ja": "スペイン語", "de": "Spanisch", "fr": "espagnol", "es": "español", "ko": "스페인어"},
    "it": {"en": "Italian", "zh": "意大利语", "ja": "イタリア語", "de": "Italienisch", "fr": "italien", "es": "italiano", "ko": "이탈리아어"},
    "ko": {"en": "Korean", "zh": "韩语", "ja": "韓国語", "de": "Koreanisch", "fr": "coréen", "es": "coreano", "ko": "한국어"},
}
"""language code -> its name in each phrase language (for "write in ...", "translate to ...")."""
STOPWORDS = {
    "en": "the and you of to is a for with in your this that it be are as from on when each then into".split(),
    "de": "der die das und ist nicht ein eine für mit den dem sie zu auf im des oder liegt sonst".split(),
    "fr": "le les et est une des du pour avec dans vous au aux sur puis ensuite qui ce cette ne pas sont chaque".split(),
    "es": "el los las y es una del para con por su sus cuando debe al lo como cada se usando este esta".split(),
}
"""Words frequent in one language and rare in the others (fr/es share la, de, un, que, en: they count for neither)."""


@cache
def _load(lang: str) -> dict:
    path = HERE / f"{lang}.yaml"
    if not path.exists():
        return {}
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def languages() -> list[str]:
    """The languages that have a lexicon file."""
    return sorted(p.stem for p in HERE.glob("*.yaml"))


def detect(text: str) -> str:
    """The language a text is written in: script first (ko, ja, zh), then stop words (en, de, fr, es)."""
    if re.search(r"[\uac00-\ud7a3]", text):
        return "ko"
    if re.search(r"[\u3040-\u30ff]", text):
        return "ja"
    if len(re.findall(r"[\u4e00-\u9fff]", text)) >= 2:
        return "zh"
    words = re.findall(r"[a-zäöüßéèàçñíóú']+", text.lower())
    counts = {lang: sum(w in stop for w in words) for lang, stop in STOPWORDS.items()}
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] > counts["en"] else "en"


def _source(cue: str) -> str:
    if CJK.search(cue):
        return re.escape(cue)
    body = re.escape(cue.rstrip("*")).replace(r"\ ", r"\s+").replace(r"\*", r"\S*")
    tail = r"\w*" if cue.endswith("*") else ""
    return rf"(?<![A-Za-z0-9_]){body}{tail}(?![A-Za-z0-9_])"


@cache
def _pattern(cue: str) -> re.Pattern:
    return re.compile(_source(cue), re.I)


@cache
def category(name: str, langs: tuple[str, ...] | None = None) -> re.Pattern | None:
    """One compiled pattern for all cues of ``name`` (longest first), or None when there are none."""
    words = sorted({str(c) for c in cues(name, langs)}, key=len, reverse=True)
    return re.compile("|".join(_source(w) for w in words), re.I) if words else None


def pattern_of(word: str) -> str:
    """The regex source matching ``word`` the way cues match (whole word, or substring for CJK)."""
    return _source(word)


def cues(name: str, langs: tuple[str, ...] | None = None) -> list[str]:
    """The cue words of ``name`` in ``langs`` (default: every lexicon)."""
    found: list[str] = []
    for lang in langs or tuple(languages()):
        found += (_load(lang).get("cues") or {}).get(name) or []
    return found


def cue_names(prefix: str) -> list[str]:
    """The cue names that start with ``prefix`` in any lexicon, in first-seen order (``memo_attr_`` -> the
    remembered attributes of core/agents/chat_state.py)."""
    names: dict[str, None] = {}
    for lang in languages():
        names.update(dict.fromkeys(k for k in (_load(lang).get("cues") or {}) if str(k).startswith(prefix)))
    return list(names)


def find(text: str, name: str, langs: tuple[str, ...] | None = None) -> re.Match | None:
    """The first match of any cue of ``name`` in ``text`` (earliest position), or None."""
    pattern = category(name, langs)
    return pattern.search(text) if pattern else None


def has(text: str, name: str, langs: tuple[str, ...] | None = None) -> bool:
    """Whether ``text`` contains a cue of ``name``."""
    return find(text, name, langs) is not None


def negated(text: str, name: str) -> bool:
    """Whether a cue of ``name`` stands negated in ``text``, in any word order: a ``negation`` cue before
    it or a ``negated_after`` cue after it, with only ``neg_filler`` words (use/call/any, 用/调用/任何,
    は/を/一切) between them and no clause break. ``不要用大模型``, ``モデルは使わない``, ``no AI needed``,
    ``without any LLM`` are all "model" negated; ``the model must not invent`` is not."""
    target, before, after = category(name), category("negation"), category("negated_after")
    filler = category("neg_filler")
    if not target or not before:
        return False
    for m in target.finditer(text):
        head = re.split(r"[，,。.；;！!？?\n、：:]", text[max(0, m.start() - 30):m.start()])[-1]
        tail = re.split(r"[，,。.；;！!？?\n、：:]", text[m.end():m.end() + 30])[0]
        head, tail = _strip(head, filler, end=True), _strip(tail.lstrip("-"), filler, end=False)
        if any(b.end() == len(head) for b in before.finditer(head)):
            return True
        if after and after.match(tail):
            return True
    return False


def _strip(text: str, filler: re.Pattern | None, end: bool) -> str:
    """``text`` without filler words at its end (``end``) or start, and without the spaces around them."""
    text = text.strip()
    if not filler:
        return text
    edge = re.compile(rf"(?:{filler.pattern})\s*$" if end else rf"^\s*(?:{filler.pattern})", re.I)
    while (m := edge.search(text)) and m.group(0).strip():
        text = (text[:m.start()] if end else text[m.end():]).strip()
    return text


def without(text: str, name: str) -> str:
    """``text`` with every cue of ``name`` blanked out (a space each), for the readers of other cues."""
    pattern = category(name)
    return pattern.sub(" ", text) if pattern else text


def no_model(text: str) -> bool:
    """Whether the text asks for no model at all (a listed phrase, or a model word under negation)."""
    return has(text, "no_model") or negated(text, "model_word")


def all_matches(text: str, name: str) -> list[re.Match]:
    """Every match of the cues of ``name`` in ``text``, in order."""
    found = [m for cue in cues(name) for m in _pattern(str(cue)).finditer(text)]
    return sorted(found, key=lambda m: (m.start(), -len(m.group(0))))


def say(lang: str, key: str, x: str = "", y: str = "") -> str:
    """The phrase ``key`` in ``lang`` (English when the language has none), slots filled."""
    phrase = str((_load(lang).get("phrases") or {}).get(key) or (_load("en").get("phrases") or {}).get(key) or key)
    if not x:  # "{x}を判定" with nothing to say of x: "判定", not a title that starts with a particle
        phrase = re.sub(r"^\{x\}\s*(?:として|ごとに|を|の|に|が|は)?", "", phrase)
    return phrase.replace("{x}", x).replace("{y}", y)


def phrase(lang: str, key: str) -> str | None:
    """The phrase ``key`` of ``lang`` itself (no English fallback), or None when that lexicon has none."""
    found = (_load(lang).get("phrases") or {}).get(key)
    return None if found is None else str(found)


def table(lang: str, key: str) -> dict[str, str]:
    """A mapping section of ``lang``'s lexicon (e.g. ``fields``: form nouns -> name pieces), or ``{}``."""
    return {str(k): str(v) for k, v in ((_load(lang).get(key) or {}).items())}


def reason(key: str) -> str:
    """Why an impossible ask (cue ``key``) cannot be done."""
    return str((_load("en").get("reasons") or {}).get(key, ""))


def language_name(code: str, in_lang: str) -> str:
    """``language_name('it', 'zh')`` -> ``'意大利语'``."""
    names = LANGUAGE_NAMES.get(code) or {}
    return names.get(in_lang) or names.get("en") or code


def language_in(text: str) -> list[str]:
    """Codes of the languages a text names (in any lexicon language), in order of appearance."""
    hits = []
    for code, names in LANGUAGE_NAMES.items():
        for name in set(names.values()) | ({"Mandarin"} if code == "zh" else set()):
            m = _pattern(name).search(text)
            if m:
                hits.append((m.start(), code))
                break
    return [code for _, code in sorted(hits)]
