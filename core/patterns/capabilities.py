"""Capabilities of a requirement: a small keyword detector (English, Chinese, Japanese), and which
node types cover each one.

Capability names are shared with the pipeline's RequirementSpec (docs/contracts.md). Only the
capabilities in :data:`CAPABILITY_NODE_TYPES` can be checked against a pattern's graph; the others
(``image_input``, ``parallel``, ``translation``, ``summarization``, ``structured_output``) are
carried by an LLM node's prompt or settings and do not count towards the capability match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CAPABILITIES = (
    "retrieval", "classification", "branching", "http", "code", "iteration", "loop", "extraction",
    "file_input", "image_input", "memory", "conversation_vars", "template", "tool", "agent",
    "aggregation", "list_filter", "parallel", "translation", "summarization", "structured_output",
)  # fmt: skip

CAPABILITY_NODE_TYPES: dict[str, str | None] = {
    "retrieval": "knowledge-retrieval",
    "classification": "question-classifier",
    "branching": "if-else",
    "http": "http-request",
    "code": "code",
    "iteration": "iteration",
    "loop": "loop",
    "extraction": "parameter-extractor",
    "file_input": "document-extractor",
    "memory": None,  # covered by the chat mode itself (the LLM node's memory window)
    "conversation_vars": "assigner",
    "template": "template-transform",
    "tool": "tool",
    "agent": "agent",
    "list_filter": "list-operator",
    "aggregation": "variable-aggregator",
}
"""Capability -> the node type a pattern needs to cover it (``None``: the chat mode covers it)."""

CHAT_CAPABILITIES = frozenset({"memory", "conversation_vars"})
"""Capabilities that need an advanced-chat app."""

_KEYWORDS: dict[str, tuple[str, ...]] = {
    "retrieval": (r"knowledge[- ]?base", r"\brag\b", r"retriev", r"\bmanuals?\b", r"documentation",
                  r"\bfaq", r"our (docs|documents|policies|handbook)", r"internal (docs|wiki)"),
    "classification": (r"classif", r"categori[sz]", r"\bintent", r"\btriage", r"\brout(e|es|ed|ing)\b"),
    "branching": (r"\bif\b", r"\botherwise\b", r"\bwhen (the|it|a)\b.*\b(is|are|exceeds|contains)\b",
                  r"\bbranch", r"\bthreshold", r"\bcondition", r"\bescalat", r"\bflag\b",
                  r"\b(block|approve|reject) (it|them)\b"),
    "http": (r"\bhttp", r"\burl\b", r"\bapi\b", r"web ?page", r"\bwebhook", r"\bendpoint", r"\bfetch"),
    "code": (r"\bcode\b", r"\bpython\b", r"\bjavascript\b", r"\bcompute", r"\bcalculat", r"\bparse json",
             r"\bregex", r"\bjson\b"),
    "iteration": (r"\beach (item|row|line|entry|url|file|product|review|question|paragraph|chapter)",
                  r"\bevery (item|row|line|entry|url|file|product|review)", r"\bbatch",
                  r"\ba list of\b", r"\biterat"),
    "loop": (r"\bloop\b", r"\buntil\b", r"\brepeat", r"\bretry", r"\brefine .* times", r"\biterative"),
    "extraction": (r"\bextract", r"\bparameters?\b", r"\bfields?\b", r"\bstructured data"),
    "file_input": (r"\bpdf\b", r"\bdocx?\b", r"\bfiles?\b", r"\battachment", r"\bspreadsheet", r"\bcsv\b",
                   r"\buploads?(ed)? (a |an |the )?(documents?|reports?|resumes?|contracts?)"),
    "image_input": (r"\bimage", r"\bphoto", r"\bpicture", r"\bscreenshot", r"\bvision\b"),
    "memory": (r"\bremember", r"\bconversation", r"\bchat ?bot", r"\bchat\b", r"\bmulti-turn",
               r"\bfollow-up", r"\bassistant\b"),
    "conversation_vars": (r"conversation variable", r"\bkeep track", r"\bstore (the|their|user)",
                          r"\bremember (the|their|user)'?s? (name|preference|language|choice)",
                          r"\bacross turns", r"\bstate\b", r"\bprofile\b"),
    "template": (r"\btemplate", r"\bformat (the|it|as)", r"\bmarkdown table", r"\bjinja"),
    "tool": (r"\btools?\b", r"\bsearch the web", r"\bweb search", r"\bgoogle", r"\bduckduckgo",
             r"\bwikipedia"),
    "agent": (r"\bagent\b", r"\bautonomous", r"\breason and act", r"\breact\b", r"\bdecides? which tool"),
    "aggregation": (r"\bmerge", r"\bcombine", r"\baggregat", r"\bconsolidat"),
    "list_filter": (r"\bfilter", r"\bsort", r"\btop \d+", r"\bfirst \d+", r"\bdeduplicat"),
    "parallel": (r"\bparallel", r"\bsimultaneous", r"\bat the same time", r"\bconcurrent"),
    "translation": (r"\btranslat", r"\binto (english|german|french|spanish|japanese|chinese|portuguese)"),
    "summarization": (r"\bsummar", r"\bdigest", r"\btl;?dr", r"\bcondense", r"\bkey points"),
    "structured_output": (r"\bjson\b", r"\bstructured", r"\bschema\b"),
}  # fmt: skip
_CJK_WORDS: dict[str, tuple[str, ...]] = {
    "retrieval": ("知识库", "手册", "资料库", "检索", "ナレッジ", "マニュアル", "社内文書"),
    "classification": ("分类", "归类", "分流", "意图", "分類", "振り分", "仕分"),
    "branching": ("如果", "否则", "超过", "低于", "若是", "もし", "場合", "未満", "超え"),
    "http": ("接口", "网址", "链接", "网页", "ウェブページ", "リンク", "エンドポイント"),
    "code": ("代码", "脚本", "计算", "统计", "コード", "計算", "集計"),
    "iteration": ("每个", "每一", "逐条", "逐个", "批量", "ごとに", "一つずつ", "一件ずつ", "一括"),
    "loop": ("循环", "直到", "反复", "繰り返", "ループ"),
    "extraction": ("提取", "抽取", "字段", "抽出", "項目"),
    "file_input": ("文件", "文档", "ファイル", "文書"),
    "image_input": ("图片", "图像", "照片", "截图", "画像", "写真", "スクリーンショット"),
    "memory": ("聊天", "对话", "机器人", "记住", "助手", "チャット", "会話", "ボット", "覚え", "アシスタント"),
    "conversation_vars": ("会话变量", "对话变量", "会話変数"),
    "template": ("模板", "模版", "テンプレート"),
    "tool": ("工具", "网上搜索", "联网搜索", "上网搜索", "网络搜索", "搜索引擎", "ウェブ検索", "ネット検索", "ツール"),
    "agent": ("智能体", "エージェント"),
    "aggregation": ("合并", "汇总", "整合", "統合", "集約"),
    "list_filter": ("筛选", "过滤", "排序", "絞り込", "並べ替", "ソート", "フィルタ"),
    "parallel": ("并行", "同时", "并发", "並列", "同時に"),
    "translation": ("翻译", "译成", "翻訳"),
    "summarization": ("摘要", "总结", "概括", "要点", "要約"),
    "structured_output": ("结构化", "構造化"),
}  # fmt: skip
"""Chinese and Japanese cue words, matched as plain substrings (no word boundaries in these scripts)."""
# ASCII word boundaries: with re.ASCII a CJK character next to "API" or "PDF" is a boundary, as it is.
_COMPILED = {cap: [re.compile(p, re.IGNORECASE | re.ASCII) for p in pats] for cap, pats in _KEYWORDS.items()}


def detect_capabilities(requirement: str) -> set[str]:
    """The capabilities a requirement's wording asks for (keyword rules; deterministic).

    Args:
        requirement: the plain-language requirement.

    Returns:
        A subset of :data:`CAPABILITIES`.
    """
    found = {cap for cap, patterns in _COMPILED.items() if any(p.search(requirement) for p in patterns)}
    return found | {cap for cap, words in _CJK_WORDS.items() if any(w in requirement for w in words)}


def detect_mode(requirement: str, capabilities: set[str] | None = None) -> str:
    """``advanced-chat`` when the requirement asks for a conversation, else ``workflow``."""
    caps = detect_capabilities(requirement) if capabilities is None else capabilities
    return "advanced-chat" if caps & CHAT_CAPABILITIES else "workflow"


@dataclass(frozen=True)
class CapabilityMatch:
    """How far a pattern covers the checkable capabilities of a requirement."""

    covered: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def total(self) -> int:
        return len(self.covered) + len(self.missing)

    @property
    def ratio(self) -> float:
        return len(self.covered) / self.total if self.total else 0.0


def match_capabilities(
    capabilities: set[str], node_types: list[str] | set[str], mode: str
) -> CapabilityMatch:
    """Which of the checkable capabilities a pattern with these node types and mode covers."""
    present = set(node_types)
    covered, missing = [], []
    for cap in sorted(c for c in capabilities if c in CAPABILITY_NODE_TYPES):
        needs_chat = cap in CHAT_CAPABILITIES
        node_type = CAPABILITY_NODE_TYPES[cap]
        ok = (not needs_chat or mode == "advanced-chat") and (node_type is None or node_type in present)
        (covered if ok else missing).append(cap)
    return CapabilityMatch(tuple(covered), tuple(missing))
