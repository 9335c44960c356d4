"""Every asked construct is present and wired (issue 10): fresh requirements written for these tests, in
English, Chinese and Japanese, none from the eval files. Each test asserts the structure the ask implies
(node types, class names exactly as quoted, branch handles into the aggregator, the iteration's inner
step reading the item, the loop's break condition) and that the workflow test-runs in graphon."""

from __future__ import annotations

import pytest

from core.pipeline import generate


def run(text, offline_settings, ledger, library):
    result = generate(text, settings=offline_settings, ledger=ledger, library=library)
    assert result.valid, result.report.findings if result.report else result.error_message
    assert result.test_run is not None and result.test_run.status == "succeeded", result.test_run
    return result


def _graph(result):
    return result.dsl["workflow"]["graph"]


def _nodes(result):
    return {n["id"]: n["data"] for n in _graph(result)["nodes"]}


def _of(result, kind):
    return [(i, d) for i, d in _nodes(result).items() if d["type"] == kind]


def _one(result, kind):
    found = _of(result, kind)
    assert len(found) == 1, [d["type"] for d in _nodes(result).values()]
    return found[0]


def _types(result):
    return [d["type"] for d in _nodes(result).values()]


def _edges(result):
    return [(e["source"], e.get("sourceHandle"), e["target"]) for e in _graph(result)["edges"]]


def _outputs(result):
    return {o["variable"]: o["value_selector"] for _, d in _of(result, "end") for o in d["outputs"]}


def _run_code(data, **kwargs):
    namespace: dict = {}
    exec(data["code"], namespace)  # noqa: S102 - the generated code node, run as Dify's sandbox would
    return namespace["main"](**kwargs)


def _model_or_fixed_text_joined(result, gate_id, fixed, output):
    """The if-else's true path is a model step, its else path the fixed text verbatim, both joined into ``output``."""
    nodes = _nodes(result)
    then = next(t for s, h, t in _edges(result) if s == gate_id and h == "true")
    other = next(t for s, h, t in _edges(result) if s == gate_id and h == "false")
    assert nodes[then]["type"] == "llm"
    assert nodes[other]["type"] == "template-transform" and nodes[other]["template"] == fixed
    agg_id, agg = _one(result, "variable-aggregator")
    assert {v[0] for v in agg["variables"]} == {then, other}
    assert _outputs(result) == {output: [agg_id, "output"]}


# ------------------------------------------------------------------ routing by quoted classes


CLASSES = [
    ("请把客户留言归为「咨询」「退货」「好评」三类：咨询类用模型解答问题；退货类用模型写一段退货指引；"
     "好评类不调用模型，直接回复“谢谢您的支持！”。所有分支最后汇总成一个输出 answer。",
     ["咨询", "退货", "好评"], "谢谢您的支持！", "answer"),
    ("Route each incoming message into one of three categories: 'sales lead', 'support' and 'spam'. For sales lead, "
     "draft a short follow-up email; for support, write a helpful first answer; for spam, reply with the fixed text "
     "'Message discarded.' without using a model. Everything ends in one output named response.",
     None, "Message discarded.", "response"),
    ("届いたアンケート回答を「満足」「不満」「要望」の3つに分類してください。「満足」ならお礼文をモデルで作成、"
     "「不満」ならお詫び文をモデルで作成、「要望」はモデルを使わず「ご要望を承りました」と固定で返します。"
     "どの分岐でも最終的に reply という一つの出力にまとめてください。",
     ["満足", "不満", "要望"], "ご要望を承りました", "reply"),
]


@pytest.mark.parametrize(("text", "classes", "fixed", "output"), CLASSES)
def test_quoted_classes_route_to_their_own_action_and_join_in_one_output(text, classes, fixed, output, offline_settings,
                                                                         ledger, library):
    r = run(text, offline_settings, ledger, library)
    qc_id, qc = _one(r, "question-classifier")
    names = [c["name"] for c in qc["classes"]]
    assert names == (classes or ["Sales lead", "Support", "Spam"])
    agg_id, agg = _one(r, "variable-aggregator")
    nodes = _nodes(r)
    targets = {handle: target for source, handle, target in _edges(r) if source == qc_id}
    assert len(targets) == 3  # one branch per class
    fixed_nodes = [t for t in targets.values() if nodes[t]["type"] == "template-transform"]
    assert len(fixed_nodes) == 1 and nodes[fixed_nodes[0]]["template"] == fixed  # the fixed reply verbatim, no model
    assert sum(nodes[t]["type"] == "llm" for t in targets.values()) == 2
    joined = {selector[0] for selector in agg["variables"]}
    assert joined == set(targets.values())  # every branch's result flows into the aggregator
    assert all((t, "source", agg_id) in {(s, h, tt) for s, h, tt in _edges(r)} for t in targets.values())
    assert _outputs(r) == {output: [agg_id, "output"]}


# ------------------------------------------------------------------ calculations in code


def test_no_model_bands_are_code_only_with_the_thresholds(offline_settings, ledger, library):
    r = run("Without any language model, take temperature_c (a number) and report a heat level: cold below 10, mild "
            "below 20, warm below 30, hot otherwise. Output level.", offline_settings, ledger, library)
    assert "llm" not in _types(r) and "if-else" not in _types(r)
    code_id, code = _one(r, "code")
    assert _outputs(r) == {"level": [code_id, "level"]}
    assert [_run_code(code, temperature_c=t)["level"] for t in ("4", "15", "25", "33")] == ["cold", "mild", "warm", "hot"]


def test_chinese_no_model_bmi_is_computed_in_code(offline_settings, ledger, library):
    r = run("不需要大模型：根据体重 weight_kg 和身高 height_cm 算出 BMI，低于18.5为偏瘦，低于24为正常，低于28为超重，"
            "否则为肥胖。输出 bmi 和 level。", offline_settings, ledger, library)
    assert "llm" not in _types(r)
    code_id, code = _one(r, "code")
    assert _outputs(r) == {"bmi": [code_id, "bmi"], "level": [code_id, "level"]}
    assert _run_code(code, weight_kg="70", height_cm="175") == {"bmi": 22.9, "level": "正常"}
    assert _run_code(code, weight_kg="50", height_cm="175")["level"] == "偏瘦"


def test_japanese_age_segment_is_code_only(offline_settings, ledger, library):
    r = run("会員の生年月日 birth_date から満年齢をコードで計算し、AIは使わずに、20未満なら「未成年」、それ以外は「成人」"
            "と区分を出してください。出力は age と segment。", offline_settings, ledger, library)
    assert "llm" not in _types(r)
    code_id, code = _one(r, "code")
    assert set(_outputs(r)) == {"age", "segment"}
    assert _run_code(code, birth_date="1990-01-01")["segment"] == "成人"
    assert _run_code(code, birth_date="2020-01-01")["segment"] == "未成年"


@pytest.mark.parametrize(("text", "value", "fixed", "output"), [
    ("Use code to work out how many days have passed since last_login (a date). If more than 14 days, have the model "
     "write a friendly win-back note; otherwise return the fixed text \"No action needed\". Output note.",
     "14", "No action needed", "note"),
    ("用代码算出合同签订日期 sign_date 距今多少天，如果超过90天，就让模型写一段续约提醒，否则直接输出固定文本“暂无需续约”。"
     "输出 notice。", "90", "暂无需续约", "notice"),
])
def test_comparison_on_a_computed_number_branches_and_joins(text, value, fixed, output, offline_settings, ledger, library):
    r = run(text, offline_settings, ledger, library)
    code_id, code = _one(r, "code")
    assert code["outputs"]["days"]["type"] == "number"
    assert _run_code(code, **{v["variable"]: "2000-01-01" for v in code["variables"]})["days"] > 9000
    gate_id, gate = _one(r, "if-else")
    condition = gate["cases"][0]["conditions"][0]
    assert (condition["variable_selector"], condition["comparison_operator"], condition["value"], condition["varType"]) == (
        [code_id, "days"], ">", value, "number")
    _model_or_fixed_text_joined(r, gate_id, fixed, output)


# ------------------------------------------------------------------ loops: the asked body, the asked break


def test_retry_loop_calls_the_asked_url_and_stops_on_a_clean_response(offline_settings, ledger, library):
    r = run("Have the model write a GraphQL query for the user's request and send it as {\"query\": \"...\"} by POST to "
            "https://api.example.org/graphql. When the response contains an \"errors\" field, pass it back to the model and "
            "let it repair the query; give up after 4 attempts.", offline_settings, ledger, library)
    loop_id, loop = _one(r, "loop")
    assert loop["loop_count"] == 4
    inside = {i: d for i, d in _nodes(r).items() if d.get("loop_id") == loop_id}
    http_id = next(i for i, d in inside.items() if d["type"] == "http-request")
    assert inside[http_id]["method"] == "post" and inside[http_id]["url"] == "https://api.example.org/graphql"
    assert {"llm", "code", "assigner"} <= {d["type"] for d in inside.values()}
    [stop] = loop["break_conditions"]
    assert (stop["variable_selector"], stop["comparison_operator"], stop["value"]) == ([http_id, "body"], "not contains", "errors")
    assert "http-request" not in [d["type"] for i, d in _nodes(r).items() if i not in inside]  # only inside the loop


def test_json_repair_loop_checks_the_asked_keys_in_code(offline_settings, ledger, library):
    r = run("Ask the model to turn a recipe description into a JSON object with title, servings and steps, validate it with "
            "code, and when it fails to parse or misses a key, feed the error back and try again, at most 5 tries.",
            offline_settings, ledger, library)
    loop_id, loop = _one(r, "loop")
    assert loop["loop_count"] == 5
    check_id, check = next((i, d) for i, d in _nodes(r).items() if d.get("loop_id") == loop_id and d["type"] == "code")
    [stop] = loop["break_conditions"]
    assert (stop["variable_selector"], stop["comparison_operator"], stop["value"]) == ([check_id, "ok"], "=", "1")
    assert _run_code(check, text='{"title": "Soup", "servings": 2, "steps": []}')["ok"] == 1
    assert "servings" in _run_code(check, text='{"title": "Soup"}')["error"]
    assert _run_code(check, text="not json")["ok"] == 0


@pytest.mark.parametrize(("text", "rounds", "operator", "value"), [
    ("入力された記事 draft をモデルに校正させ、指摘を反映して書き直す作業を繰り返してください。校正結果に「問題なし」が含まれたら"
     "終了、最大3回まで。", 3, "contains", "問題なし"),
    ("根据主题 topic 写一段广告语，写完后让另一个模型给它打分，满分10分；只要达到 7 分及以上就停止，否则参考评语继续修改，最多修改 3 次。",
     3, "≥", "7"),
])
def test_review_loop_breaks_on_the_asked_condition(text, rounds, operator, value, offline_settings, ledger, library):
    r = run(text, offline_settings, ledger, library)
    loop_id, loop = _one(r, "loop")
    assert loop["loop_count"] == rounds
    [stop] = loop["break_conditions"]
    assert (stop["comparison_operator"], stop["value"]) == (operator, value)
    assert _nodes(r)[stop["variable_selector"][0]].get("loop_id") == loop_id  # read from a step inside the loop


# ------------------------------------------------------------------ lists made by the workflow, then iterated


@pytest.mark.parametrize(("text", "made_by"), [
    ("Given a city name, brainstorm four neighbourhood names worth visiting, then for each neighbourhood write a "
     "100-word walking guide.", "llm"),
    ("输入一个产品名，先列出5个营销选题，然后为每个选题写一段小红书文案。", "llm"),
    ("旅行先の都市名を入力すると、まず観光テーマを3つ挙げて、テーマごとに半日のモデルコースを書いてください。", "llm"),
    ("Break the pasted transcript into paragraphs, summarise every paragraph in one sentence, and stitch the summaries "
     "back together in order.", "start"),
    ("把长文按段落拆分，逐段润色后按原顺序拼接回全文。", "start"),
])
def test_list_is_made_then_each_item_is_handled_inside_an_iteration(text, made_by, offline_settings, ledger, library):
    r = run(text, offline_settings, ledger, library)
    nodes = _nodes(r)
    it_id, it = _one(r, "iteration")
    split_id = it["iterator_selector"][0]
    assert nodes[split_id]["type"] == "code" and nodes[split_id]["outputs"]["items"]["type"] == "array[string]"
    source = nodes[split_id]["variables"][0]["value_selector"][0]
    assert (nodes[source]["type"] if source in nodes else source) == made_by  # a model listed them, or the input was split
    inner = [(i, d) for i, d in nodes.items() if d.get("iteration_id") == it_id and d["type"] == "llm"]
    assert len(inner) == 1
    inner_id, llm = inner[0]
    assert f"{{{{#{it_id}.item#}}}}" in " ".join(m["text"] for m in llm["prompt_template"])  # the inner step reads the item
    assert it["output_selector"] == [inner_id, "text"]


def test_joined_paragraphs_come_back_as_one_text(offline_settings, ledger, library):
    r = run("Break the pasted transcript into paragraphs, summarise every paragraph in one sentence, and stitch the "
            "summaries back together in order.", offline_settings, ledger, library)
    it_id, _ = _one(r, "iteration")
    join_id, join = _one(r, "template-transform")
    assert join["variables"][0]["value_selector"] == [it_id, "output"] and "join" in join["template"]
    assert list(_outputs(r).values()) == [[join_id, "output"]]
    split = _nodes(r)[_nodes(r)[it_id]["iterator_selector"][0]]
    assert _run_code(split, text="one\n\ntwo\n\n\nthree") == {"items": ["one", "two", "three"]}


# ------------------------------------------------------------------ parallel views, then a merge


@pytest.mark.parametrize(("text", "views"), [
    ("プレスリリース案（release_text）を、正確性・読みやすさ・話題性の3つの観点で同時にチェックし、最後に3つの結果を踏まえた"
     "修正版を1つ出してください。", 3),
    ("Review the pitch deck text from three angles at the same time: investor appeal, technical feasibility and market "
     "timing, then merge the three reviews into one verdict.", 3),
    ("同时从用户体验、成本和安全三个角度评估这个方案，最后汇总成一份结论。", 3),
])
def test_stated_views_run_side_by_side_and_are_merged(text, views, offline_settings, ledger, library):
    r = run(text, offline_settings, ledger, library)
    llms = _of(r, "llm")
    assert len(llms) == views + 1
    edges = _edges(r)
    merge_id = next(i for i, _ in llms if sum(t == i for _, _, t in edges) == views)
    views_ids = [s for s, _, t in edges if t == merge_id]
    assert all((("start", "source", v) in {(s, h, t) for s, h, t in edges}) for v in views_ids)  # side by side
    prompt = " ".join(m["text"] for m in _nodes(r)[merge_id]["prompt_template"])
    assert all(f"{{{{#{v}.text#}}}}" in prompt for v in views_ids)  # the merge reads every view


# ------------------------------------------------------------------ if-else on what the text contains


def test_reference_shaped_like_an_example_is_found_by_code_then_branched(offline_settings, ledger, library):
    r = run("Support bot input: a customer message (customer_text). If it does not mention an order number (e.g. ORD-20931), "
            "ask the customer for it politely. If it does, write a short status update. Return the outcome as one output, "
            "answer.", offline_settings, ledger, library)
    find_id, find = _one(r, "code")
    assert _run_code(find, text="where is ORD-20931?")["found"] == 1 and _run_code(find, text="where is it?")["found"] == 0
    gate_id, gate = _one(r, "if-else")
    condition = gate["cases"][0]["conditions"][0]
    assert (condition["variable_selector"], condition["comparison_operator"], condition["value"], condition["varType"]) == (
        [find_id, "found"], "=", "1", "number")
    agg_id, agg = _one(r, "variable-aggregator")
    paths = {h: t for s, h, t in _edges(r) if s == gate_id}
    assert {v[0] for v in agg["variables"]} == set(paths.values()) and len(paths) == 2
    assert _outputs(r) == {"answer": [agg_id, "output"]}


@pytest.mark.parametrize(("text", "word", "fixed"), [
    ("如果工单内容 ticket 包含“加急”，就让模型写一段加急处理说明，否则直接回复“已收到，我们会尽快处理”。输出 reply。",
     "加急", "已收到，我们会尽快处理"),
    ("問い合わせ本文 message に「解約」が含まれていれば、引き止めのメッセージをモデルで作成し、それ以外は"
     "「お問い合わせありがとうございます」と固定で返してください。出力は reply です。", "解約", "お問い合わせありがとうございます"),
])
def test_quoted_word_in_the_text_is_an_if_else_contains(text, word, fixed, offline_settings, ledger, library):
    r = run(text, offline_settings, ledger, library)
    gate_id, gate = _one(r, "if-else")
    condition = gate["cases"][0]["conditions"][0]
    assert condition["variable_selector"][0] == "start"
    assert (condition["comparison_operator"], condition["value"]) == ("contains", word)
    _model_or_fixed_text_joined(r, gate_id, fixed, "reply")


def test_working_days_named_only_in_words_are_code_with_the_holiday_variable(offline_settings, ledger, library):
    r = run("Take a project kickoff date and deadline date and tell me how many business days lie between them; public "
            "holidays are listed in the environment variable TEAM_HOLIDAYS.", offline_settings, ledger, library)
    code_id, code = _one(r, "code")
    assert "llm" not in _types(r)
    start = next(d for _, d in _of(r, "start"))
    assert [v["variable"] for v in start["variables"]] == ["kickoff_date", "deadline_date"]
    assert ["env", "TEAM_HOLIDAYS"] in [v["value_selector"] for v in code["variables"]]
    days = _run_code(code, kickoff_date="2026-06-01", deadline_date="2026-06-12", holidays="2026-06-05")
    assert days == {"working_days": 9}


# ------------------------------------------------------------------ if-else on the uploaded file's type


@pytest.mark.parametrize(("text", "upload", "joined", "rejected", "fixed"), [
    ("A single upload field called attachment. Photos get a caption and three hashtags; PDFs get a one-paragraph "
     "summary. Both come back as summary. Any other file ends immediately with a `rejected` message saying we only take "
     "photos and PDFs.", "attachment", "summary", "rejected", None),
    ("用户上传一份附件 file_in。图片就生成一段图片描述；文档就提取文字后总结要点；两种结果都作为 result 输出。其他类型的文件直接结束，"
     "输出 error，内容为“暂不支持该文件类型”。", "file_in", "result", "error", "暂不支持该文件类型"),
    ("ファイル upload_file を1つアップロードします。画像なら内容を説明し、PDFなどの文書なら要約してください。どちらも result として"
     "出力。それ以外の形式は「未対応の形式です」を error として返して終了します。", "upload_file", "result", "error", "未対応の形式です"),
])
def test_upload_is_routed_by_file_type(text, upload, joined, rejected, fixed, offline_settings, ledger, library):
    r = run(text, offline_settings, ledger, library)
    start = next(d for _, d in _of(r, "start"))
    [var] = start["variables"]
    assert var["variable"] == upload and var["type"] == "file" and set(var["allowed_file_types"]) >= {"image", "document"}
    gate_id, gate = _one(r, "if-else")
    assert [(c["conditions"][0]["variable_selector"], c["conditions"][0]["value"]) for c in gate["cases"]] == [
        (["start", upload, "type"], "image"), (["start", upload, "type"], "document")]
    nodes, edges = _nodes(r), _edges(r)
    image, document, other = (next(t for s, h, t in edges if s == gate_id and h == handle)
                              for handle in (gate["cases"][0]["case_id"], gate["cases"][1]["case_id"], "false"))
    assert nodes[image]["type"] == "llm" and nodes[image]["vision"]["enabled"]
    assert nodes[document]["type"] == "document-extractor"
    assert nodes[other]["type"] == "template-transform" and (fixed is None or nodes[other]["template"] == fixed)
    agg_id, _ = _one(r, "variable-aggregator")
    assert _outputs(r) == {joined: [agg_id, "output"], rejected: [other, "output"]}
    assert len(_of(r, "end")) == 2 and "tool" not in _types(r)


def test_each_row_gets_exactly_one_class_inside_the_iteration(offline_settings, ledger, library):
    r = run("Our agents upload a CSV file of support tickets, one ticket per row. Label every row with exactly one of refund, "
            "shipping, account, and give back every row with its label.", offline_settings, ledger, library)
    it_id, it = _one(r, "iteration")
    qc_id, qc = _one(r, "question-classifier")
    assert qc["iteration_id"] == it_id and [c["name"].lower() for c in qc["classes"]] == ["refund", "shipping", "account"]
    assert qc["query_variable_selector"] == [it_id, "item"]
    row_id, row = _one(r, "template-transform")
    assert row["iteration_id"] == it_id and it["output_selector"] == [row_id, "output"]
    assert {h for s, h, t in _edges(r) if s == qc_id and t == row_id} == {c["id"] for c in qc["classes"]}
    assert "llm" not in _types(r)


# ------------------------------------------------------------------ routing by topic to their own knowledge


@pytest.mark.parametrize(("text", "topic"), [
    ("A chatbot for our shop that answers from the product knowledge base. Warranty questions should be answered from "
     "the separate warranty knowledge base; everything else stays on the product one.", "Warranty"),
    ("做一个客服聊天机器人，基于产品知识库回答问题。账单相关的问题用单独的账单知识库回答，其他问题仍然用产品知识库。", "账单"),
    ("社内ヘルプデスクのチャットボット。人事に関する質問は人事規程のナレッジで回答し、それ以外は総務ナレッジで回答してください。", "人事"),
])
def test_topic_questions_are_routed_to_their_own_knowledge_base(text, topic, offline_settings, ledger, library):
    r = run(text, offline_settings, ledger, library)
    assert r.dsl["app"]["mode"] == "advanced-chat"
    qc_id, qc = _one(r, "question-classifier")
    assert [c["name"] for c in qc["classes"]][0] == topic and len(qc["classes"]) == 2
    nodes, edges = _nodes(r), _edges(r)
    first = [t for s, _, t in edges if s == qc_id]
    assert len(first) == 2 and all(nodes[t]["type"] == "knowledge-retrieval" for t in first)  # one knowledge base per path
    assert len(_of(r, "knowledge-retrieval")) == 2


@pytest.mark.parametrize(("text", "intent", "fixed"), [
    ("Chat assistant for a gym. Usually it answers members from the FAQ knowledge base, but when a member says they want "
     "to freeze their membership, do not use the model and send our fixed pause notice with the promo code PAUSE30.",
     "Freeze their membership", "PAUSE30"),
    ("做一个健身房会员客服聊天机器人，平时根据知识库回答问题；当会员说要退卡时，不要调用模型，直接回复“很遗憾听到这个消息，回复 KEEP50 "
     "可享五折续卡优惠”。", "退卡", "很遗憾听到这个消息，回复 KEEP50 可享五折续卡优惠"),
    ("ホテル予約のチャットボットです。普段はFAQナレッジで回答しますが、お客様がキャンセルしたいと言ったら、AIは使わずに"
     "「キャンセル規定はこちらです：https://example.com/cancel」と固定で返してください。", "キャンセル",
     "キャンセル規定はこちらです：https://example.com/cancel"),
])
def test_chat_intent_gets_its_fixed_reply_without_a_model(text, intent, fixed, offline_settings, ledger, library):
    r = run(text, offline_settings, ledger, library)
    assert r.dsl["app"]["mode"] == "advanced-chat"
    qc_id, qc = _one(r, "question-classifier")
    assert [c["name"] for c in qc["classes"]][0] == intent and len(qc["classes"]) == 2
    nodes, edges = _nodes(r), _edges(r)
    handle = qc["classes"][0]["id"]
    [special] = [t for s, h, t in edges if s == qc_id and h == handle]
    assert nodes[special]["type"] == "template-transform" and fixed in nodes[special]["template"]
    [usual] = [t for s, h, t in edges if s == qc_id and h != handle]
    assert nodes[usual]["type"] == "knowledge-retrieval"  # the usual path still answers from the knowledge base
    assert "http-request" not in _types(r)  # a URL inside the fixed reply is text, not a call


@pytest.mark.parametrize("text", [
    "入力した日付 start_date と end_date の間の営業日数を、モデルを使わずにコードで計算して days として出力してください。",
    "不用模型，用代码算出开始日期 start_date 到结束日期 end_date 之间的工作日天数，输出 days。",
])
def test_working_days_without_a_holiday_list_run(text, offline_settings, ledger, library):
    """No holidays environment variable named: the code still takes (an empty) holidays parameter."""
    result = generate(text, settings=offline_settings, ledger=ledger, library=library)
    assert result.test_run is not None and result.test_run.succeeded, result.test_run and result.test_run.summary()
    # the test run's sample dates: 2026-01-15 to 2026-02-13, 22 weekdays
    assert result.test_run.runs[0].outputs == {"days": 22}


@pytest.mark.parametrize("text, value, expected", [
    ("Rate the temperature reading temp (a number) without a model: below 0 is freezing, 0 to 25 is mild, hotter "
     "otherwise. Return the band as level.", 12, "mild"),
    ("成绩 marks（数字）不用模型判定：85分及以上为“A”，70到84分为“B”，其余为“C”，输出 level。", 72, "B"),
    ("成绩 marks（数字）不用模型判定：85分及以上为“A”，70到84分为“B”，其余为“C”，输出 level。", 90, "A"),
    ("点数 points（数値）を AI なしで判定します。50 点以上なら「可」、80 点以上なら「優」、それ以外は「不可」を level に出力。", 85, "優"),
])
def test_value_bands_from_comparisons_and_ranges_run_in_code(text, value, expected, offline_settings, ledger, library):
    result = run(text, offline_settings, ledger, library)
    assert "llm" not in _types(result)
    _, code = _one(result, "code")
    name = next(v["variable"] for v in code["variables"])
    assert _run_code(code, **{name: str(value)})["level"] == expected  # bands checked so the first that holds is right
    assert "level" in _outputs(result)


@pytest.mark.parametrize("text, fixed, other, output", [
    ("库存量 qty（数字）小于 5 时输出“请补货”，否则输出“库存正常”，结果放在 notice 里，不用模型。", "请补货", "库存正常", "notice"),
    ("If the balance (variable balance, a number) is below 0 reply \"Account overdrawn\", otherwise reply \"Balance OK\" "
     "as status, without any model.", "Account overdrawn", "Balance OK", "status"),
])
def test_two_fixed_texts_around_one_threshold_are_an_if_else_into_one_output(text, fixed, other, output, offline_settings,
                                                                                 ledger, library):
    result = run(text, offline_settings, ledger, library)
    gate_id, _ = _one(result, "if-else")
    assert "llm" not in _types(result) and "code" not in _types(result)
    texts = [d.get("template", "") for _, d in _of(result, "template-transform")]
    assert any(fixed in t for t in texts) and any(other in t for t in texts)
    assert set(_outputs(result)) == {output}  # both paths' texts reach the one output, through an aggregator
    assert _of(result, "variable-aggregator")


def test_a_quoted_reply_then_a_written_one_share_their_output(offline_settings, ledger, library):
    text = ("Take the guest count guests as a number. If guests is more than 12, answer \"Please call us for large groups\" "
            "as reply; otherwise write a short booking confirmation, also as reply.")
    result = run(text, offline_settings, ledger, library)
    assert set(_outputs(result)) == {"reply"}
    assert _of(result, "if-else") and _of(result, "llm") and _of(result, "variable-aggregator")
    assert any("Please call us for large groups" in d.get("template", "") for _, d in _of(result, "template-transform"))


def test_a_binary_decision_asked_of_a_classifier_has_its_classes_and_fixed_replies(offline_settings, ledger, library):
    text = ("Check whether an order note (variable note) is urgent or not urgent using a classifier. If it is urgent, "
            "return \"escalate\" as route; if not, return \"queue\" as route.")
    result = run(text, offline_settings, ledger, library)
    _, qc = _one(result, "question-classifier")
    assert [c["name"] for c in qc["classes"]] == ["urgent", "not urgent"]
    assert "llm" not in _types(result)  # each class only returns its word
    texts = [d.get("template", "") for _, d in _of(result, "template-transform")]
    assert any("escalate" in t for t in texts) and any("queue" in t for t in texts)
    assert set(_outputs(result)) == {"route"}


def test_the_exported_file_is_the_named_output(offline_settings, ledger, library):
    result = run("Write a one-page project brief from the idea (input idea) and export it as a Word document. "
                 "Return the document as brief_doc.", offline_settings, ledger, library)
    outputs = _outputs(result)
    assert set(outputs) == {"brief_doc"}
    tool_id, _ = _one(result, "tool")
    assert outputs["brief_doc"][0] == tool_id


# formulas: the arithmetic asked is the code's own, run here as Dify's sandbox would (wordings written for these tests)
@pytest.mark.parametrize("text, output, cases", [
    ("No model needed: take the order amount order_total (number) and give 15% off when it is over 200; "
     "return to_pay from a code step.", "to_pay", [({"order_total": "300"}, 255.0), ({"order_total": "150"}, 150.0)]),
    ("ご注文金額 subtotal（数値）の3%をポイントとし、小数点以下は切り捨てて bonus として返してください。AIは使いません。", "bonus",
     [({"subtotal": "1990"}, 59)]),
    ("不用模型：商品价格 price（数字）和税率 tax_rate（数字）用代码算出含税价，保留两位小数，输出 gross。", "gross",
     [({"price": "99.9", "tax_rate": "13"}, 112.89), ({"price": "100", "tax_rate": "0.06"}, 106.0)]),
    ("Convert a distance in kilometers (km_value, a number) to miles in code, no AI, and output miles.", "miles",
     [({"km_value": "10"}, 6.21371)]),
    ("用代码把会员价 member_price（数字）打九折，四舍五入到整数，输出 final_price，不需要大模型。", "final_price",
     [({"member_price": "199"}, 179)]),
])
def test_the_asked_arithmetic_is_computed_by_the_code(text, output, cases, offline_settings, ledger, library):
    r = run(text, offline_settings, ledger, library)
    assert "llm" not in _types(r) and "if-else" not in _types(r)
    code_id, code = _one(r, "code")
    assert _outputs(r)[output] == [code_id, output]
    for given, expected in cases:
        assert _run_code(code, **given)[output] == pytest.approx(expected), given


@pytest.mark.parametrize("text, key, limit, output", [
    ("不用模型：把订单数据 orders（每条有 id 和 amount 字段）按 amount 从高到低排序，取前3条，输出 top_orders。",
     "amount", 3, "top_orders"),
    ("AIは使わずに、売上データ rows（各要素に name と revenue のキー）を revenue の多い順に並べ替えて上位2件を best に出力。",
     "revenue", 2, "best"),
    ("Without any model, sort the tickets (tickets, a JSON list) by priority and keep the top 2 in code; output urgent.",
     "priority", 2, "urgent"),
])
def test_a_sort_without_a_model_is_one_code_step_whose_records_are_the_output(text, key, limit, output, offline_settings,
                                                                             ledger, library):
    r = run(text, offline_settings, ledger, library)
    assert "llm" not in _types(r)
    code_id, code = _one(r, "code")
    assert _outputs(r) == {output: [code_id, "result"]}
    assert r.spec.list_filter.sort_key == key and r.spec.list_filter.limit == limit
    records = [{key: v, "name": f"r{v}"} for v in (5, 40, 12, 33)]
    import json as _json

    namespace: dict = {}
    exec(code["code"], namespace)  # noqa: S102 - the generated code node, as Dify's sandbox runs it
    top = namespace["main"](_json.dumps(records))["result"]
    assert [x[key] for x in top] == [40, 33, 12][:limit]


def test_a_generated_picture_is_the_named_output(offline_settings, ledger, library):
    r = run("用文生图工具根据活动主题 theme 画一张海报，输出海报 poster。", offline_settings, ledger, library)
    tool_id, _ = _one(r, "tool")
    assert list(_outputs(r)) == ["poster"] and _outputs(r)["poster"][0] == tool_id
