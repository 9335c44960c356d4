"""Prompts and titles are written for their step, in the requirement's language.

Fresh requirements (written for this file, not from the eval or QA files) in zh, ja and en: no node title or
LLM prompt of the generated workflow has a sentence in another language (variable names, URLs and quoted
literals aside), and no LLM prompt carries a long span copied from the requirement (the eval's rule,
``core.evaluation.Requirement``)."""

from __future__ import annotations

import pytest

from core.evaluation import Requirement, foreign_sentences, sentences
from core.pipeline import generate

FRESH = [
    ("zh", "帮我做一个周报润色工具：输入周报草稿 draft，先让模型改写得更专业，再让另一个模型给它打分（满分 10 分），"
           "低于 8 分就继续修改，最多 3 轮，最后输出 polished。"),
    ("zh", "把用户留言 message 判断为咨询、投诉、表扬三类：咨询就给出解答，投诉先道歉再给出处理方案，表扬就表示感谢，"
           "结果放进输出 reply。"),
    ("zh", "输入一段英文产品说明 spec_text，翻译成中文和日语，分别输出 zh_text 和 ja_text。"),
    ("ja", "会議のメモ notes を受け取り、決定事項と宿題を箇条書きで整理して、出力 summary に入れてください。"),
    ("ja", "問い合わせ文 inquiry を「料金」「不具合」「その他」に分類し、それぞれに合った返信を作って出力 answer にしてください。"),
    ("ja", "ブログの下書き draft を推敲し、別のモデルに 100 点満点で採点させ、85 点以上になるまで最大 4 回書き直してください。"),
    ("en", "Given a customer's angry email (variable complaint), write a calm apology that offers a concrete next step "
           "and return it as apology."),
    ("en", "Decide whether a job application letter (cover_letter) is strong, average or weak; for strong ones draft "
           "an invitation to interview, for the others a polite decline."),
    ("en", "Ask two different models to propose a name for a new bakery described in bakery_notes, then merge their "
           "ideas into one final recommendation."),
]


def _nodes(result):
    return [n["data"] for n in result.dsl["workflow"]["graph"]["nodes"]]


def _prompts(result):
    return [m["text"] for d in _nodes(result) if d["type"] == "llm" for m in d["prompt_template"]]


@pytest.mark.parametrize(("lang", "text"), FRESH, ids=[f"{lang}-{i}" for i, (lang, _) in enumerate(FRESH)])
def test_titles_and_prompts_are_in_the_requirement_language_and_written_for_the_step(
        lang, text, offline_settings, ledger, library):
    result = generate(text, settings=offline_settings, ledger=ledger, library=library)
    assert result.valid, result.report.findings if result.report else result.error_message
    titles = [str(d.get("title") or "") for d in _nodes(result)]
    prompts = _prompts(result)
    assert prompts, "every case here needs at least one LLM step"
    foreign = [s for t in titles + prompts for s in foreign_sentences(t, lang)]
    assert not foreign, f"sentences not in {lang}: {foreign}"
    requirement, plain = Requirement(text), Requirement()
    for prompt in prompts:
        assert requirement.strip_copies(prompt) == plain.strip_copies(prompt), f"prompt copies the requirement:\n{prompt}"
    systems = [m["text"] for d in _nodes(result) if d["type"] == "llm" for m in d["prompt_template"] if m["role"] == "system"]
    assert all(len(sentences(s)) >= 3 for s in systems), "each system prompt has a role, a task and an output format"


def test_foreign_sentence_finder_sees_english_scaffolding_in_chinese():
    """The helper the test and the eval's language check rely on: an English sentence in a Chinese prompt is
    found; a variable name, a URL, a quoted literal or a product name ("JSON") is not a sentence."""
    text = "把结果整理成 JSON。\nThis review was classified as “好评”. Answer the review.\n请调用 https://api.example.com/v1 并读取 user_name。"
    assert foreign_sentences(text, "zh") == ["This review was classified as  .", "Answer the review."]
    assert foreign_sentences("只输出 “Thank you for your order” 这句话。", "zh") == []
