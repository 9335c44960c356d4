"""Every generated workflow runs in Dify's engine (graphon, ``core.testrun``).

Fresh requirements (written for these tests, in English, Chinese and Japanese, mixing code steps,
branches, iterations and refinement rounds) must validate and test-run without error; and the three
mechanisms that make that hold are pinned one by one:
- types flow through the plan: code recipes take whatever type they are bound to and never raise;
- outputs on branches: an End reading a value made on some branches only reads it through a join;
- URLs: a request reads its URL from a URL-typed source.
"""

from __future__ import annotations

import pytest

from core.agents.code_recipes import RECIPES, filter_recipe, payload_recipe, skeleton, typed
from core.agents.compile import compile_plan
from core.agents.models import (
    Binding,
    CaseSpec,
    CodeOutput,
    ConditionSpec,
    Link,
    PlanStep,
    StartVarPlan,
    WorkflowPlan,
)
from core.pipeline import generate, refine
from core.testrun import test_run as run_in_engine
from core.testrun.inputs import StartVariable, synthesize_value

FRESH = [
    # (requirement, refinement rounds...)
    ("Upload several CSV exports (variable exports, a list of files). For each file, parse the rows as JSON records "
     "in a code step and count how many records it has. Output counts.",),
    ("Paste a list of invoice amounts, one per line (variable amounts). With a code node compute the total and the "
     "average, no model involved. If the total is over 10000 write \"needs approval\", otherwise \"auto approved\". "
     "Output decision and total.",),
    ("Read the support ticket (variable ticket). Classify it as billing, technical or other. For billing tickets draft "
     "a refund reply; for technical tickets write troubleshooting steps; for other tickets write a polite "
     "acknowledgement. Output reply.", "also produce hashtags (variable hashtags) for the reply"),
    ("Given a product description (variable description), write a marketing blurb (output blurb).",
     "Also output a word count of the blurb computed with code (variable word_count).",
     "If the word count is above 80, shorten the blurb; otherwise keep it. Return the blurb in output blurb either way."),
    ("用户输入一段文章（变量 article），用代码统计字数和句子数，输出 stats，再让模型写一句点评，输出 comment。",),
    ("把一批商品名称粘贴进来（变量 products，每行一个），逐个为每个商品写一句广告语，最后汇总成一张表格，输出 table。",),
    ("输入一封客户邮件（变量 email）。如果邮件里提到退款，就写一封退款处理回复；否则写一封普通回复。输出 reply。",
     "再加一个输出 summary，用一句话概括邮件内容。"),
    ("ユーザーが記事（変数 article）を入力します。コードで文字数を数え、200文字を超える場合は要約を書き、それ以外はそのまま返します。"
     "出力は result です。",),
    ("アンケートの回答を1行に1つ貼り付けます（変数 answers）。各回答の感情を判定し、最後にコードでポジティブとネガティブの件数を"
     "集計してください。出力は details と stats です。",),
    ("会議の議事録ファイル（変数 minutes）をアップロードします。決定事項とTODOを抽出し、出力 decisions と todos にしてください。",
     "さらに、英語に翻訳した要約も出力 summary_en として返してください。"),
    ("Take a JSON list of orders (variable orders) and keep only orders with amount greater than 100, sorted by "
     "amount. Output the filtered list as result.",),
    ("Given a number of days overdue (variable days, a number), if it is over 30 write a firm reminder, otherwise a "
     "friendly reminder. Output message.", "also return a subject line (variable subject)"),
    ("Paste a list of website URLs, one per line (variable urls). Fetch each page and write a one-paragraph summary "
     "of it. Output summaries.",),
    ("Write a tweet about the topic (variable topic), then review it and improve it in a loop until the review says "
     "GOOD, at most 3 rounds. Output tweet.",),
    ("Mask email addresses and phone numbers in the text (variable text) using regular expressions in a code step, "
     "without any model. Output masked_text.",),
    ("Upload a batch of PDF contracts (variable contracts, several files). For each contract, extract the parties and "
     "the end date, then with code count how many contracts end in 2026. Output table and count.",),
    ("给定一个主题（变量 topic），同时并行写三段：优点、缺点和建议，最后合并成一篇短文，输出 essay。",),
    ("输入评分（变量 score，数字）。分数大于等于 60 输出“及格”，否则输出“不及格”，不要使用模型。输出 result。",),
    ("输入一段中文文本（变量 text），先用代码清理多余空格，再翻译成日语，输出 translation。", "再加一个输出 keywords，列出五个关键词。"),
    ("入力された問い合わせ（変数 inquiry）を、料金・技術・その他に分類し、それぞれに合った返信を書いてください。出力は reply です。",
     "返信にハッシュタグも付けて、出力 hashtags として返してください。"),
    ("数値のリスト（変数 numbers、1行に1つ）を受け取り、コードで合計と平均を計算してください。モデルは使わないでください。"
     "出力は total と average です。",),
    ("Summarize a customer review (variable review) in two sentences, output summary. If the review is negative, also "
     "write an apology email (output apology); if positive, write a thank-you note in the same output apology.",),
    ("For each line of the meeting notes (variable notes), decide whether it is an action item. Then list all action "
     "items. Output actions.", "also add a priority for each action item, output priorities"),
    ("Paste competitor names and their pricing page links, one link per line. Fetch every link, pull out the plan "
     "prices and compare them in one table.",),
    ("経費精算の説明（変数 claim）と金額（変数 amount、数値）を受け取ります。金額が5万円を超える場合はモデルを使わずに"
     "「要承認」と返し、それ以外は規程に沿っているかを判定してください。出力は verdict です。",
     "判定の理由も出力 reason として返してください。"),
]


def _nodes(dsl: dict) -> list[dict]:
    return [n["data"] for n in dsl["workflow"]["graph"]["nodes"]]


@pytest.mark.parametrize("texts", FRESH, ids=[t[0][:36] for t in FRESH])
def test_every_fresh_workflow_validates_and_test_runs(texts, offline_settings, ledger, library):
    result = generate(texts[0], settings=offline_settings, ledger=ledger, library=library)
    for instruction in texts[1:]:
        assert result.valid and result.test_run.status == "succeeded", result.test_run.summary()
        result = refine(result.run_id, instruction, settings=offline_settings, ledger=ledger, library=library,
                        previous=result)
    assert result.valid, result.report.findings if result.report else result.error_message
    report = result.test_run if result.test_run is not None else run_in_engine(result.dsl)
    assert report.status == "succeeded", [f"{f.code} {f.message}" for f in report.errors]


# ---------------------------------------------------------------------------------------- types

VALUES = {"string": "Call me at +1 555 123 4567 or a@b.io.\nIt costs 12.5 and 30.", "number": 42, "float": 2.5,
          "array[string]": ["first line 10", "second line 20"], "array[object]": [{"amount": "120", "name": "x"},
                                                                                 {"amount": 80}],
          "object": {"items": [1, 2]}, "empty": None, "json text": '[{"amount": 150}, {"amount": 20}]'}


def _call(code: str, args: dict):
    scope: dict = {}
    exec(compile(code, "<recipe>", "exec"), scope)  # noqa: S102 - the recipe's own code, as Dify's sandbox runs it
    return scope["main"](**args)


@pytest.mark.parametrize("kind", list(VALUES))
def test_every_recipe_takes_every_input_type_without_raising(kind):
    value = VALUES[kind]
    recipes = [*RECIPES.values(), filter_recipe('filter:{"key": "amount", "operator": ">", "value": "100", "limit": 5}')]
    for recipe in recipes:
        out = _call(recipe.code, {recipe.input: value})
        assert set(out) == set(recipe.outputs), recipe.key
    payload = payload_recipe(["title", "body"], 2)
    assert set(_call(payload.code, {"part_1": value, "part_2": "more"})) == {"payload"}
    code = skeleton({"a": "number", "b": "text-input"}, ["x", "y"], "the rule")
    assert set(_call(code, {"a": value if kind in ("number", "float") else "3", "b": value})) == {"x", "y"}


def test_recipes_coerce_by_meaning_not_by_accident():
    stats = _call(RECIPES["text_stats"].code, {"text": ["one two", "three"]})
    assert stats["word_count"] == 3 and stats["line_count"] == 2  # a list is read one item a line
    records = _call(RECIPES["parse_records"].code, {"data": [{"a": 1}, "b"]})["records"]
    assert records == [{"a": 1}, {"value": "b"}]  # a list is not parsed as JSON again
    assert _call(RECIPES["parse_records"].code, {"data": '{"rows": [{"a": 2}]}'})["records"] == [{"a": 2}]
    assert _call(RECIPES["split_lines"].code, {"items": ["x", {"k": 1}]})["items"] == ["x", '{"k": 1}']
    assert _call(RECIPES["read_score"].code, {"text": 7})["score"] == 7.0
    assert _call(RECIPES["mask_pii"].code, {"text": ["mail a@b.io"]})["clean_text"] == "mail [EMAIL]"
    kept = _call(filter_recipe('filter:{"key": "amount", "operator": ">", "value": "100"}').code,
                 {"data": VALUES["array[object]"]})
    assert kept == {"result": [{"amount": "120", "name": "x"}], "count": 1}


def test_code_is_annotated_with_the_types_it_is_given():
    code = typed(RECIPES["text_stats"].code, {"text": "array[string]"})
    assert "def main(text: list) -> dict:" in code
    assert "def main(a: float, b: list = None)" in typed("def main(a: str, b: str = None) -> dict:\n    return {}\n",
                                                         {"a": "number", "b": "array[object]"})
    quoted = "def main(a: str = ',') -> dict:\n    return {}\n"
    assert typed(quoted, {"a": "number"}) == quoted  # a default with a comma inside is left as written
    assert typed("x = 1\n", {"a": "number"}) == "x = 1\n"  # no main: left as it is


def _plan(*steps: PlanStep, start=(StartVarPlan(name="text", label="Text"),)) -> WorkflowPlan:
    return WorkflowPlan(app_mode="workflow", name="Test", start_vars=list(start), steps=list(steps))


def test_types_flow_into_code_extractors_and_iteration_outputs():
    plan = _plan(
        PlanStep(id="split", type="code", title="Split", after=[Link(step="start")], code=RECIPES["split_lines"].code,
                 bindings=[Binding(name="items", ref="start.text")], code_outputs=[CodeOutput(name="items", type="array[string]")]),
        PlanStep(id="each", type="iteration", title="Each", after=[Link(step="split")], query="split.items", output="one.text"),
        PlanStep(id="one", type="llm", title="One", parent="each", after=[Link(step="each")], system="Rate it.",
                 user="{{each.item}}"),
        PlanStep(id="count", type="code", title="Count", after=[Link(step="each")], code=RECIPES["text_stats"].code,
                 bindings=[Binding(name="text", ref="each.output")],
                 code_outputs=[CodeOutput(name=k, type=v) for k, v in RECIPES["text_stats"].outputs.items()]),
        PlanStep(id="files", type="document-extractor", title="Read", after=[Link(step="count")], query="start.docs"),
        PlanStep(id="end", type="end", title="End", after=[Link(step="files")],
                 outputs=[Binding(name="words", ref="count.word_count"), Binding(name="docs", ref="files.text")]),
        start=(StartVarPlan(name="text", label="Text"), StartVarPlan(name="docs", label="Docs", type="file-list")))
    result = compile_plan(plan)
    nodes = {d["title"]: d for d in _nodes(result.dsl)}
    assert "def main(text: list)" in nodes["Count"]["code"]  # the iteration's array is what it gets
    assert "def main(items: str)" in nodes["Split"]["code"]
    assert nodes["Read"]["is_array_file"] is True  # a file list is read as an array of texts
    assert nodes["Each"]["output_type"] == "array[string]"
    assert run_in_engine(result.dsl).status == "succeeded"


# ------------------------------------------------------------------------------ outputs on branches

def _branchy(end_outputs: list[Binding]) -> WorkflowPlan:
    """start -> if-else (text contains "urgent"): then a fixed template; otherwise an LLM reply, then an LLM tag."""
    return _plan(
        PlanStep(id="check", type="if-else", title="Urgent?", after=[Link(step="start")],
                 cases=[CaseSpec(label="urgent", conditions=[ConditionSpec(ref="start.text", operator="contains",
                                                                           value="urgent")])]),
        PlanStep(id="fixed", type="template-transform", title="Fixed", after=[Link(step="check", branch="urgent")],
                 template="We are on it."),
        PlanStep(id="reply", type="llm", title="Reply", after=[Link(step="check", branch="otherwise")],
                 system="Reply to the message.", user="{{start.text}}"),
        PlanStep(id="tag", type="llm", title="Tag", after=[Link(step="reply")], system="Tag the reply.", user="{{reply.text}}"),
        PlanStep(id="end", type="end", title="End", after=[Link(step="fixed"), Link(step="tag")], outputs=end_outputs))


def test_an_end_after_branches_reads_values_made_on_one_branch_through_a_join():
    result = compile_plan(_branchy([Binding(name="reply", ref="reply.text"), Binding(name="tag", ref="tag.text")]))
    nodes = _nodes(result.dsl)
    end = next(d for d in nodes if d["type"] == "end")
    joins = {d["title"]: d for d in nodes if d["type"] == "variable-aggregator"}
    by_id = {n["id"]: n["data"] for n in result.dsl["workflow"]["graph"]["nodes"]}
    for out in end["outputs"]:
        agg = by_id[out["value_selector"][0]]
        assert agg["type"] == "variable-aggregator" and agg["output_type"] == "string"
        assert [by_id[v[0]]["title"] for v in agg["variables"]][1:] == ["Fixed"]  # the other branch's reply
    assert len(joins) == 2
    report = run_in_engine(result.dsl)
    assert report.status == "succeeded" and len(report.runs) >= 2, report.summary()


def test_an_end_reading_values_every_path_makes_is_left_alone():
    plan = _branchy([Binding(name="text", ref="start.text")])
    result = compile_plan(plan)
    assert not [d for d in _nodes(result.dsl) if d["type"] == "variable-aggregator"]


@pytest.mark.parametrize("texts", [
    ("If the order value (variable value, a number) is above 500 reply with a fixed VIP note without the model, "
     "otherwise write a standard thank-you note. Output note.", "also return a subject line (variable subject)"),
    ("输入一封投诉邮件（变量 mail）。判断是账单、技术还是其他问题，分别写回复。输出 reply。", "再加一个输出 hashtags，给回复配三个话题标签。"),
    ("注文金額（変数 total、数値）が10000を超える場合は「要確認」とだけ返し、それ以外はお礼のメッセージを書いてください。出力は message です。",
     "メッセージの件名も出力 subject として返してください。"),
])
def test_a_refinement_that_adds_an_output_after_a_branch_makes_it_on_every_path(texts, offline_settings, ledger, library):
    first = generate(texts[0], settings=offline_settings, ledger=ledger, library=library)
    result = refine(first.run_id, texts[1], settings=offline_settings, ledger=ledger, library=library, previous=first)
    nodes = _nodes(result.dsl)
    assert any(d["type"] in ("if-else", "question-classifier") for d in nodes)
    ends = [d for d in nodes if d["type"] == "end"]
    new = texts[1].split("variable ")[-1].split(")")[0] if "variable " in texts[1] else ("hashtags" if "hashtags" in texts[1]
                                                                                       else "subject")
    assert any(new in {o["variable"] for o in e["outputs"]} for e in ends), [e["outputs"] for e in ends]
    report = result.test_run
    assert report.status == "succeeded" and len(report.runs) >= 2, report.summary()


# ------------------------------------------------------------------------------------------ URLs

def test_a_request_over_a_pasted_list_makes_its_input_a_url_input():
    plan = _plan(
        PlanStep(id="split", type="code", title="Split", after=[Link(step="start")], code=RECIPES["split_lines"].code,
                 bindings=[Binding(name="items", ref="start.text")], code_outputs=[CodeOutput(name="items", type="array[string]")]),
        PlanStep(id="each", type="iteration", title="Each", after=[Link(step="split")], query="split.items", output="sum.text"),
        PlanStep(id="fetch", type="http-request", title="Fetch", parent="each", after=[Link(step="each")], url="{{each.item}}"),
        PlanStep(id="sum", type="llm", title="Sum", parent="each", after=[Link(step="fetch")], system="Summarize.",
                 user="{{fetch.body}}"),
        PlanStep(id="end", type="end", title="End", after=[Link(step="each")], outputs=[Binding(name="r", ref="each.output")]))
    result = compile_plan(plan)
    start = next(d for d in _nodes(result.dsl) if d["type"] == "start")
    assert start["variables"][0]["variable"] == "text" and "URL" in start["variables"][0]["label"]
    assert run_in_engine(result.dsl).status == "succeeded"


def test_a_url_from_a_model_reply_is_reported():
    plan = _plan(
        PlanStep(id="guess", type="llm", title="Guess", after=[Link(step="start")], system="Name a site.", user="{{start.text}}"),
        PlanStep(id="fetch", type="http-request", title="Fetch", after=[Link(step="guess")], url="{{guess.text}}"),
        PlanStep(id="end", type="end", title="End", after=[Link(step="fetch")], outputs=[Binding(name="r", ref="fetch.body")]))
    result = compile_plan(plan)
    assert any("not known to be a URL" in i.message for i in result.issues)


def test_the_test_run_gives_a_url_paragraph_urls_one_per_line():
    value = synthesize_value(StartVariable("links", "paragraph", "Links"))
    assert [line.startswith("https://") for line in value.splitlines()] == [True, True]
    assert synthesize_value(StartVariable("notes", "paragraph", "Notes")).startswith("This is a sample")


def test_fresh_url_lists_fetch_each_url(offline_settings, ledger, library):
    for text in ("贴入若干网页链接，每行一个，逐个抓取网页内容并各写一段摘要。",
                 "Paste the pricing-page URLs of our rivals, one per line. Fetch every page and list the plan prices."):
        result = generate(text, settings=offline_settings, ledger=ledger, library=library)
        nodes = _nodes(result.dsl)
        assert "http-request" in [d["type"] for d in nodes] and "iteration" in [d["type"] for d in nodes]
        assert result.test_run.status == "succeeded", result.test_run.summary()



def test_a_list_of_names_is_not_fetched_as_urls(offline_settings, ledger, library):
    for text in ("公司名称列表（每行一个），为每家公司查找官网链接并总结其业务。",
                 "产品名称清单（每行一个）：逐个为每个产品找到官方网址，并用一句话介绍它。"):
        result = generate(text, settings=offline_settings, ledger=ledger, library=library)
        types = [d["type"] for d in _nodes(result.dsl)]
        assert "iteration" in types and "http-request" not in types, types  # names are not addresses
        assert result.test_run.status == "succeeded", result.test_run.summary()
    urls = generate("For each URL in the list (variable pages), fetch the page and give it a title.",
                    settings=offline_settings, ledger=ledger, library=library)
    assert "http-request" in [d["type"] for d in _nodes(urls.dsl)] and urls.test_run.status == "succeeded"
