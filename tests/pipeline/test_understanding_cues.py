"""Understanding by mechanism, not by phrase: negated model words, output names after a verb and its
object, input types from the name and its own clause. Wordings written for these tests (en/zh/ja)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.agents import lexicon as lx
from core.agents.rules import analyse
from core.pipeline import generate


@pytest.mark.parametrize("text", [
    "Please skip any LLM here: no AI needed, the math is simple.",
    "Compute it without calling a model.",
    "An LLM is not required for this step.",
    "全程无需调用任何大模型，直接算。",
    "这里别用 AI，用模板拼出来就行。",
    "LLM は一切使いません。",
    "AI に頼らず、計算だけで出してください。",
    "モデル不要です。",
])
def test_negated_model_word_means_no_model(text):
    assert lx.no_model(text)


@pytest.mark.parametrize("text", [
    "Do not let the model invent prices.",
    "The reply must not mention the model name.",
    "Use the LLM to draft it.",
    "如果模型不确定，就如实说明。",
    "モデルが判断できない場合は「不明」と返す。",
    "We sell without a business model.",
])
def test_model_word_without_negation_is_not_no_model(text):
    assert not lx.no_model(text)


@pytest.mark.parametrize("text, name", [
    ("Take the complaint (input complaint) and write an apology, then output it as apology_text.", "apology_text"),
    ("Summarise the ticket (input ticket) and return the digest as digest.", "digest"),
    ("Read the brief (input brief) and save the outline into outline.", "outline"),
    ("会議メモ memo を要約して、結果を overview に出力してください。", "overview"),
    ("把输入的文章 article 压缩成三句话，输出到 short_version。", "short_version"),
    ("读取 report，把要点保存到 highlights 里。", "highlights"),
])
def test_output_name_after_verb_and_object(text, name):
    spec = analyse(text)
    assert name in [o.name for o in spec.outputs]
    assert name not in [i.name for i in spec.inputs]


def test_output_as_a_form_or_language_is_not_a_name():
    spec = analyse("Summarise the memo (input memo) and output it as bullets. Return it in english.")
    assert {o.name for o in spec.outputs} <= {"result"}


@pytest.mark.parametrize("text, name, kind", [
    ("会議の録音書き起こしファイル（変数 talk_file）を読み、要点を出力 points に入れる。", "talk_file", "file"),
    ("Read the essay upload (input essay_pdf) and grade it; output grade.", "essay_pdf", "file"),
    ("Given the variable title, count its characters with code and output length_info.", "title", "text-input"),
    ("Take the parcel weight (input parcel_kg) and the address (input address); output label.", "parcel_kg", "number"),
])
def test_input_type_from_name_suffix_and_own_clause(text, name, kind):
    spec = analyse(text)
    assert next(i.type for i in spec.inputs if i.name == name) == kind


@pytest.mark.parametrize("text, name, options", [
    ("Answer the question (input question) for a reader level chosen from a dropdown called level with the options "
     "Beginner, Expert and Child. Output answer.", "level", ["Beginner", "Expert", "Child"]),
    ("Write a caption (input photo_topic) in a style picked from a drop-down called style, options: witty, calm. "
     "Output caption.", "style", ["witty", "calm"]),
])
def test_select_options_anywhere_in_the_variables_clause(text, name, options):
    spec = analyse(text)
    var = next(i for i in spec.inputs if i.name == name)
    assert (var.type, var.options) == ("select", options)
    assert all(i.type != "select" for i in spec.inputs if i.name != name)


def _types(result):
    return [n["data"]["type"] for n in result.dsl["workflow"]["graph"]["nodes"]]


@pytest.mark.parametrize("text", [
    "No AI needed. From the inputs price_usd and quantity (both numbers) use code to work out the order total and "
    "the tax; output total and tax.",
    "全程无需调用任何大模型：输入 length_cm 和 width_cm（都是数字），用代码算出面积和周长，输出 area 和 perimeter。",
    "LLM は一切使いません。数値 distance_km と数値 minutes から、コードで平均速度を計算し、出力 speed と出力 pace に入れてください。",
])
def test_no_model_is_a_hard_constraint(text, offline_settings, ledger, library):
    r = generate(text, settings=offline_settings, ledger=ledger, library=library)
    assert r.valid, r.report.findings if r.report else r.error_message
    types = _types(r)
    assert "llm" not in types
    assert "code" in types


@pytest.mark.parametrize("text, subject, op, value, fixed", [
    ("在庫 stock が 10 未満なら、出力 warning に「発注が必要です」と出して終了。それ以外はコメントを書く。", "stock", "<", "10",
     "発注が必要です"),
    ("気温 temp が 35 度を超えたら「熱中症に注意」と固定で返し、それ以外は天気の説明を書く。", "temp", ">", "35", "熱中症に注意"),
    ("点数が 80 点以上なら合格メールを書く。", "点数", "≥", "80", ""),
    ("年龄 age 未满 18 岁的，直接回复“未成年人无法注册”，否则生成欢迎词。", "age", "<", "18", "未成年人无法注册"),
])
def test_number_first_comparisons_make_a_gate(text, subject, op, value, fixed):
    from core.agents.conditions import find_gate

    gate = find_gate(text, [])
    assert (gate.subject, gate.operator, gate.value, gate.fixed_text) == (subject, op, value, fixed)
    assert gate.no_model == bool(fixed)
    assert not gate.then_text.startswith(("なら", "たら", "时"))


def test_length_limit_is_not_a_gate():
    from core.agents.conditions import find_gate

    assert find_gate("用模型写出 300 字以内的中文摘要，放在输出 abstract 里。", []) is None


@pytest.mark.parametrize("text, name", [
    ("用户上传多张发票照片（变量 invoices），逐张识别金额，最后汇总成表格，输出 table。", "invoices"),
    ("一次上传多篇周报（变量 reports），每篇提炼三条要点，最后合成一份月报，输出 monthly。", "reports"),
    ("請求書の画像 bills を複数アップロードし、一枚ずつ金額を読み取って、出力 totals にまとめてください。", "bills"),
])
def test_counter_morphemes_make_a_file_list(text, name):
    spec = analyse(text)
    assert next(i.type for i in spec.inputs if i.name == name) == "file-list"


@pytest.mark.parametrize("text, word", [
    ("Each evening, feed the cat and then send me a short message that it is done.", "physical"),
    ("每天早上自动给阳台上的植物浇水，然后拍张照片发给我。", "physical"),
    ("Transfer my salary from my bank account to savings on the first of every month.", "money"),
    ("毎月、私の口座から送金して、家賃を支払ってください。", "money"),
    ("把审批结果打成纸质信件，邮寄给客户。", "paper mail"),
    ("Send the signed contract on paper to our lawyer by post.", "paper mail"),
    # devices and appliances, and sensing who is in a room
    ("At 7 pm shut off the office heater and lock the garage.", "physical"),
    ("下班以后帮我关闭会议室的电灯和窗帘。", "physical"),
    ("夜10時になったらリビングの照明を自動で消してください。", "physical"),
    ("Switch the coffee machine on as soon as the first person arrives.", "physical"),
    ("办公室没人的时候自动关掉所有显示器。", "stay running"),
    ("人感センサーで誰もいなくなったら会議室を予約解除して。", "stay running"),
])
def test_impossible_effects_are_declined_with_a_reason(text, word):
    spec = analyse(text)
    assert any(word in reason for reason in spec.unsupported), spec.unsupported


@pytest.mark.parametrize("text", [
    "Summarise the research paper (input paper_text) and send it to me by email.",
    "Summarise the bank statement (input statement) and list what I pay in fees.",
    "Write a cover letter (input job_ad); output letter.",
    "把合同 contract 整理成要点，发邮件给我。",
    "Adjust the model's temperature to 0.3 and summarise the text (input text).",
    "把模型温度调到0.2，总结输入的文章 article。",
    "Write a product description for a coffee machine (input features); output description.",
    "エアコンの取扱説明書 manual を要約して summary を出力してください。",
])
def test_data_work_about_money_or_letters_is_not_declined(text):
    assert analyse(text).unsupported == []


@pytest.mark.parametrize("text, classes", [
    ("Read the message (input message) and determine whether it is a bug report, a feature request or praise, then "
     "reply accordingly.", ["bug report", "feature request", "praise"]),
    ('Work out whether the email (input email) is "urgent", "normal" or "spam" and draft a reply.', ["urgent", "normal", "spam"]),
    ("判定用户反馈 feedback 是表扬、投诉还是建议，并分别回复。", ["表扬", "投诉", "建议"]),
    ("問い合わせ inquiry が 請求・技術・その他 のどれに当たるかを判断し、それぞれ返信を書く。", ["請求", "技術", "その他"]),
    ("レビュー review が肯定、否定、中立のいずれかを判別して、出力 label に入れる。", ["肯定", "否定", "中立"]),
])
def test_classes_enumerated_after_a_decide_verb(text, classes):
    spec = analyse(text)
    assert spec.classes == classes
    assert "classification" in spec.capabilities


def test_a_yes_no_check_is_not_a_classifier():
    assert analyse("Check whether the text (input text) is safe and output verdict.").classes == []


@pytest.mark.parametrize("text, retrieval", [
    ("Write five FAQs about our new product (input product_info) and output faq.", False),
    ("商品情報 product からよくある質問と回答を五つ作って出力 faq に入れてください。", False),
    ("Answer customer questions from our FAQ and the product manual.", True),
])
def test_retrieval_needs_a_source_to_read(text, retrieval):
    assert ("retrieval" in analyse(text).capabilities) == retrieval


def test_top_n_in_the_writing_is_not_a_list_filter():
    spec = analyse("Read each CV (input cvs) and list the top three skills of the candidate; output it as shortlist.")
    assert spec.list_filter is None
    assert analyse("Given a JSON array of orders (input orders), keep only the top 5 by amount.").list_filter is not None


@pytest.mark.parametrize("text", [
    "Draft a tagline for a bakery; a critic model reviews it and you revise with the review until it says OK, at most 3 times.",
    "Write a limerick, have another model rate it from 1 to 5 and rewrite using the feedback until it scores 5, at most 4 rounds.",
])
def test_artefacts_a_step_makes_are_not_inputs(text):
    names = {i.name for i in analyse(text).inputs}
    assert not names & {"feedback", "review"}


@pytest.mark.parametrize("text, fixed", [
    ("判断工单 ticket 是咨询、投诉还是表扬。咨询用模型写解答，投诉用模型写道歉，表扬不用模型，直接回复“感谢您的支持”。输出 reply。",
     "感谢您的支持"),
    ('Read the review (input review) and decide whether it is "positive", "negative" or "mixed". For positive ones thank '
     'the customer, for negative ones apologise and offer help, for mixed ones reply with the fixed text "Thanks, we are '
     'looking into it" without a model. Output reply.', "Thanks, we are looking into it"),
    ("問い合わせ inquiry を「注文」「返品」「雑談」に分類し、注文と返品にはモデルで返信を書き、雑談はモデルを使わず「ありがとうございます」と返す。"
     "出力 reply にまとめる。", "ありがとうございます"),
])
def test_fixed_reply_inside_a_class_branch_is_a_template(text, fixed, offline_settings, ledger, library):
    r = generate(text, settings=offline_settings, ledger=ledger, library=library)
    assert r.valid, r.report.findings if r.report else r.error_message
    nodes = [n["data"] for n in r.dsl["workflow"]["graph"]["nodes"]]
    assert any(n["type"] == "question-classifier" for n in nodes)
    templates = [n for n in nodes if n["type"] == "template-transform"]
    assert any(fixed in n["template"] for n in templates)
    assert [n["type"] for n in nodes].count("llm") == 2


@pytest.mark.parametrize("text, name", [
    ("チャットボット：ユーザーが好きな色を言ったら会話変数 fav_color に覚えて、以後の返事で使う。", "fav_color"),
    ("A chatbot that keeps the user's city in a conversation variable home_city and uses it for weather small talk.",
     "home_city"),
    ("做一个聊天机器人：把用户说的预算存到会话变量 budget_limit，之后推荐商品时参考它。", "budget_limit"),
])
def test_named_conversation_variable_is_remembered_not_an_input(text, name, offline_settings, ledger, library):
    spec = analyse(text)
    assert name in [c.name for c in spec.conversation_vars]
    assert name not in [i.name for i in spec.inputs]
    r = generate(text, settings=offline_settings, ledger=ledger, library=library)
    assert r.valid, r.report.findings if r.report else r.error_message
    assert name in [v["name"] for v in r.dsl["workflow"]["conversation_variables"]]
    assert any(n["data"]["type"] == "assigner" for n in r.dsl["workflow"]["graph"]["nodes"])


@pytest.mark.parametrize(("text", "mode"), [
    ("摘要助手：输入文章 article，写一段不超过 80 字的摘要，输出 summary。", "workflow"),
    ("メール作成アシスタント：要点 points を受け取り、丁寧な文面を作って出力 email に入れてください。", "workflow"),
    ("做一个售后助手，回答用户关于退换货政策的各种问题。", "advanced-chat"),
    ("社内ヘルプデスク用のアシスタントを作って、社員の質問に答えてください。", "advanced-chat"),
    ("做一个聊天助手，输出 reply 之前先检查礼貌用语。", "advanced-chat"),  # a chat word outweighs a named output
])
def test_a_bot_or_assistant_word_alone_is_a_chat_app_unless_outputs_are_named(text, mode):
    assert analyse(text).app_mode == mode


@pytest.mark.parametrize("text, mode", [
    # a chat word before a data noun names what the workflow reads, not the app's mode
    ("把客服对话记录 transcript 总结成三条要点 summary，输出 summary。", "workflow"),
    ("Summarise the chat logs (variable logs) and list the open questions; output questions.", "workflow"),
    ("会話の書き起こし text から決定事項を抜き出して decisions として出力してください。", "workflow"),
    # a chat word on its own still asks for a chat app
    ("做一个能和用户聊天的旅游顾问机器人。", "advanced-chat"),
    ("A chat assistant that remembers the conversation history and answers in French.", "advanced-chat"),
    ("社内規程について答えるチャットボットを作ってください。", "advanced-chat"),
])
def test_a_chat_word_naming_data_is_not_a_chat_app(text, mode):
    assert analyse(text).app_mode == mode


@pytest.mark.parametrize("text, inputs, outputs", [
    ("把会议记录 notes 总结成五条要点 points。", ["notes"], ["points"]),
    ("把用户输入的句子 sentence 翻译成日语 japanese。", ["sentence"], ["japanese"]),
    ("把长文 article 提炼出三个关键词 keywords。", ["article"], ["keywords"]),
])
def test_chinese_resultative_verbs_make_outputs(text, inputs, outputs):
    spec = analyse(text)
    assert [i.name for i in spec.inputs] == inputs and [o.name for o in spec.outputs] == outputs


@pytest.mark.parametrize("raw, value", [("三", 3), ("十", 10), ("十二", 12), ("二十", 20), ("二十三", 23), ("两", 2),
                                        ("12", 12), ("百", None)])
def test_chinese_numerals_read_as_numbers(raw, value):
    from core.agents.conditions import cjk_number

    assert cjk_number(raw) == value


@pytest.mark.parametrize("text, retrieval", [
    ("社内のFAQを検索して質問 question に答えてください。", True),  # a Latin cue right after CJK
    ("根据知识库回答用户问题 question，输出 answer。", True),
    ("Beantworte Fragen anhand der Wissensdatenbank.", True),
    ("用户上传一份产品说明书 manual（PDF），生成五条常见问题 faq。", False),  # names standing in CJK text
    ("Write five FAQs about our product (variable product); output faqs.", False),
])
def test_a_knowledge_source_is_read_not_named(text, retrieval):
    assert ("retrieval" in analyse(text).capabilities) is retrieval


@pytest.mark.parametrize("text, export", [
    ("用户上传一份合同 contract（PDF），总结要点输出 summary。", False),
    ("Upload a contract (PDF) and summarise it; output summary.", False),
    ("Write the weekly report from notes (variable notes) and export it as a PDF file.", True),
])
def test_a_file_type_said_of_an_upload_is_not_an_export(text, export):
    assert any(t.startswith("md_exporter") for t in analyse(text).tools) is export


@pytest.mark.parametrize("text, inputs, outputs", [
    ("Paste the meeting minutes into the field minutes. Give me back decisions and a short subject line as subject.",
     {"minutes"}, {"decisions", "subject"}),
    ("Fill the parameter city, then send back forecast_text.", {"city"}, {"forecast_text"}),
])
def test_field_and_give_me_back_name_inputs_and_outputs(text, inputs, outputs):
    from core.agents.rules import analyse

    spec = analyse(text)
    assert {i.name for i in spec.inputs} == inputs
    assert {o.name for o in spec.outputs if o.explicit} == outputs


def test_a_follow_up_question_in_a_named_output_workflow_is_not_a_chat():
    from core.agents.rules import analyse

    spec = analyse("Sort a support note (input note) into billing or technical. For technical notes ask a follow-up "
                   "question, for billing notes write a short answer. Return what was written as reply.")
    assert spec.app_mode == "workflow"
    assert {o.name for o in spec.outputs if o.explicit} == {"reply"}
    technical = next(b for b in spec.branches if b.condition.lower() == "technical")
    assert technical.action.startswith("ask a follow-up")  # "notes" is the items sorted, not the action
    assert analyse("A helpdesk chat that answers follow-up questions about invoices.").app_mode == "advanced-chat"


@pytest.mark.parametrize("text, name", [
    ("Classify a bug report (input report) as crash, slowness or cosmetic.", "Classify Bug Report"),
    ("I want a workflow that translates product_title into French.", "Translates Into French"),
    ("Summarize the customer call (variable call_notes) in three bullets.", "Summarize Customer Call"),
])
def test_english_app_names_are_the_goal_not_its_variables(text, name):
    from core.agents.rules import analyse

    assert analyse(text).name == name


@pytest.mark.parametrize("text, numbers", [
    ("Convert currency with code: `amount` and `rate` are numbers, and the input currency is a code like EUR. Output converted.",
     {"amount", "rate"}),
    ("用代码计算：width 和 height 都是数字，输出 area。", {"width", "height"}),
    ("Work out the tip from bill (a number) and percent (a number); return tip.", {"bill", "percent"}),
])
def test_a_type_said_of_names_listed_together(text, numbers):
    from core.agents.rules import analyse

    spec = analyse(text)
    assert {i.name for i in spec.inputs if i.type == "number"} == numbers


def test_two_names_joined_by_and_at_the_end_of_a_clause_are_both_inputs():
    from core.agents.rules import analyse

    spec = analyse("Draft a cover letter from job_title and skills. Return letter.")
    assert {i.name for i in spec.inputs} == {"job_title", "skills"}


@pytest.mark.parametrize("text, classes", [
    ("把客户反馈 feedback 进行归类：价格、服务、功能、其他，然后分别回复，输出 reply。", ["价格", "服务", "功能", "其他"]),
    ("把邮件分为询价、下单和售后三类，分别起草回复。", ["询价", "下单", "售后"]),
    ("メッセージを予約・キャンセル・その他に振り分けて返信してください。", ["予約", "キャンセル", "その他"]),
])
def test_cjk_classes_listed_after_a_classify_verb_without_quotes(text, classes):
    from core.agents.rules import analyse

    assert analyse(text).classes == classes


def test_a_band_sentence_is_not_a_class_list():
    from core.agents.rules import analyse

    assert analyse("分数 score（数字）判定：90分及以上为“优”，60到89分为“中”，其余为“差”，输出 level。").classes == []


@pytest.mark.parametrize("text, facets, output", [
    ("输入一篇文章 draft。同时从逻辑、文采、事实准确性三个维度分别点评，最后把意见整合成一份总评 verdict。",
     ["逻辑", "文采", "事实准确性"], "verdict"),
])
def test_parallel_views_with_fenbie_and_a_merged_output(text, facets, output):
    from core.agents.rules import analyse

    spec = analyse(text)
    assert spec.facets == facets
    assert [o.name for o in spec.outputs if o.explicit] == [output] and [i.name for i in spec.inputs] == ["draft"]


@pytest.mark.parametrize("text, labels", [
    ("料理の相談ができるチャットボット。ユーザーのアレルギーと好きな食材を覚えておいて提案してください。", ["アレルギー", "好きな食材"]),
    ("做一个健身教练聊天机器人，记住用户的体重和训练目标，每次对话给出建议。", ["体重", "训练目标"]),
    ("A gardening chatbot that remembers the user's climate zone and soil type, then gives planting tips.",
     ["climate zone", "soil type"]),
])
def test_a_chat_remembers_things_the_lexicon_has_no_name_for(text, labels):
    from core.agents.rules import analyse

    spec = analyse(text)
    assert spec.app_mode == "advanced-chat"
    assert sorted(c.label for c in spec.conversation_vars) == sorted(labels)
    assert all(re.fullmatch(r"[a-z_][a-z0-9_]*", c.name) for c in spec.conversation_vars)  # Dify names


@pytest.mark.parametrize("text, inputs, outputs, lang", [
    ("Übersetze den Text (Variable text) ins Englische und gib das Ergebnis als uebersetzung aus.", {"text"}, {"uebersetzung"}, "de"),
    ("Escribe un resumen del artículo (variable articulo). La salida se llama resumen.", {"articulo"}, {"resumen"}, "es"),
    ("Rédige une réponse au message (variable message) ; la sortie est appelée reponse.", {"message"}, {"reponse"}, "fr"),
])
def test_inputs_outputs_and_language_in_german_spanish_and_french(text, inputs, outputs, lang):
    from core.agents.rules import analyse

    spec = analyse(text)
    assert {i.name for i in spec.inputs} == inputs
    assert {o.name for o in spec.outputs if o.explicit} == outputs
    assert spec.language == lang


def test_an_input_variables_list_names_only_the_variables():
    from core.agents.rules import analyse

    spec = analyse("Make a workflow. Input variables: question (string), context (string). Output variable: answer. "
                   "It answers the question from the context.")
    assert [i.name for i in spec.inputs] == ["question", "context"]
    assert [o.name for o in spec.outputs if o.explicit] == ["answer"]


def test_a_type_inside_the_parenthesis_that_names_the_variable():
    from core.agents.rules import analyse

    spec = analyse("Read the signed contract (PDF file, variable contract) and list its deadlines as deadlines.")
    assert [(i.name, i.type) for i in spec.inputs] == [("contract", "file")]


def test_a_japanese_condition_subject_is_an_input():
    from core.agents.rules import analyse

    spec = analyse("湿度 humidity（数値）が 70 を超える場合はカビ対策のアドバイスをモデルで作成し、それ以外は「問題ありません」と返してください。出力は advice です。")
    assert [(i.name, i.type) for i in spec.inputs] == [("humidity", "number")]
    assert [o.name for o in spec.outputs if o.explicit] == ["advice"]


def test_refining_with_rather_than_keeps_the_inputs():
    from core.agents import refine
    from core.agents.rules import analyse

    spec = analyse("Summarize a long essay (input: essay) and output summary.")
    changed, _ = refine.merge(spec, "Add char_count, the number of characters of the summary, computed with code rather than by the model.")
    assert [i.name for i in changed.inputs] == ["essay"]
    assert {o.name for o in changed.outputs} == {"summary", "char_count"}


@pytest.mark.parametrize("text", [
    "Every evening, walk into the garage and keep opening the garage door when my car arrives.",
    "Keep switching the office heater on and off to hold 21 degrees.",
])
def test_acting_on_devices_in_ing_form_is_declined(text):
    from core.agents.ir import impossible

    assert impossible(text)


def test_an_assistant_that_chats_is_a_chat():
    from core.agents.rules import analyse

    assert analyse("A booking assistant that chats with guests and answers from the hotel FAQ.").app_mode == "advanced-chat"


@pytest.mark.parametrize("text, name", [
    ("The input city_list has one city name per line. For every city, write a two-line travel tip. Return tips.", "city_list"),
    ("输入 titles，每行一个标题。为每个标题写一句推荐语，输出 lines。", "titles"),
])
def test_one_item_per_line_with_each_is_an_iteration(text, name):
    from core.agents.rules import analyse

    spec = analyse(text)
    assert spec.iteration_target and next(i for i in spec.inputs if i.name == name).type == "paragraph"


@pytest.mark.parametrize("text, op, value", [
    ("把摘要 summary 改写得更通俗，再让模型打分（1-10分），低于7分就重新改写，最多4轮。输出 plain。", "≥", "7"),
    ("Write a limerick about the topic (input topic); a second model scores it. If the score is below 6, "
     "write it again. At most 3 tries. Return limerick.", "≥", "6"),
    ("Keep polishing the pitch until the score is at least 9, up to 5 rounds.", "≥", "9"),
])
def test_a_loop_stops_when_its_go_on_condition_no_longer_holds(text, op, value):
    from core.agents.conditions import loop_rule

    rule = loop_rule(text)
    assert (rule.stop_operator, rule.stop_value) == (op, value)


def test_a_described_common_word_in_a_list_of_outputs_is_a_name():
    from core.agents.rules import analyse

    spec = analyse("One input, bio (a short biography). Three outputs: name (the person's name), title (their job "
                   "title) and summary (one sentence).")
    assert [o.name for o in spec.outputs if o.explicit] == ["name", "title", "summary"]


@pytest.mark.parametrize("text, inputs", [
    ("Translate the customer emails in inbox_text into English and output translated.", ["inbox_text"]),
    ("把周报 report 发到 https://hooks.example.com/hook ，app_secret 从环境变量 HOOK_SECRET 读取。", ["report"]),
])
def test_where_the_source_is_and_secrets_from_the_environment(text, inputs):
    from core.agents.rules import analyse

    assert [i.name for i in analyse(text).inputs] == inputs


def test_a_range_is_not_where_a_value_comes_from():
    from core.agents import refine
    from core.agents.rules import analyse

    spec = analyse("Summarize the complaint (input complaint) as summary.")
    changed, _ = refine.merge(spec, "Also output an urgency score from 1 to 10 as urgency.")
    assert [i.name for i in changed.inputs] == ["complaint"]
    assert {o.name for o in changed.outputs} == {"summary", "urgency"}


def test_parallel_reviewers_one_for_each_view():
    from core.agents.ir import facets

    assert facets("At the same time, have three editors read it: one for tone, one for grammar, one for facts.") == [
        "tone", "grammar", "facts"]


def test_quoted_views_run_side_by_side():
    from core.agents.rules import analyse

    spec = analyse("論文 paper を「新規性」「妥当性」「読みやすさ」の3つの観点で同時に査読し、最後に判定 decision をまとめてください。")
    assert spec.facets == ["新規性", "妥当性", "読みやすさ"]
    assert [o.name for o in spec.outputs if o.explicit] == ["decision"]


def test_japanese_outputs_listed_with_ni_share_the_later_output_verb():
    from core.agents.rules import analyse

    spec = analyse("商品説明 text から特徴を3つ抜き出して features に、キャッチコピーを copy に出力してください。")
    assert [i.name for i in spec.inputs] == ["text"]
    assert [o.name for o in spec.outputs if o.explicit] == ["features", "copy"]


@pytest.mark.parametrize("text, inputs", [
    ("ニュース記事 post を3行で要約して summary に出力してください。", ["post"]),  # a variable named like an HTTP verb
    ("把工单 ticket 分为“app崩溃”“其他”两类，app崩溃的要写给开发的说明，统一输出 reply。", ["ticket"]),  # “app崩溃” is a class
])
def test_cjk_names_and_terms(text, inputs):
    from core.agents.rules import analyse

    assert [i.name for i in analyse(text).inputs] == inputs


def test_a_chinese_give_verb_makes_an_output():
    from core.agents.rules import analyse

    spec = analyse("输入股票代码 symbol，调用 GET https://quotes.example.com/q?s={symbol} 获取行情，再让模型给出投资提示 tip。")
    assert [i.name for i in spec.inputs] == ["symbol"] and [o.name for o in spec.outputs if o.explicit] == ["tip"]


@pytest.mark.parametrize("text", ["每天晚上让扫地机器人打扫卧室。", "Have the robot vacuum clean the living room every Monday."])
def test_household_robots_are_declined(text):
    from core.agents.ir import impossible

    assert impossible(text)


def test_detecting_which_of_two_is_a_classification_with_each_ones_action():
    from core.agents.rules import analyse

    spec = analyse("Detect whether the review (input review) is about shipping or about quality. Shipping reviews get a "
                   "note to logistics, quality ones a note to the factory. Output the note as note.")
    assert [c.lower() for c in spec.classes] == ["shipping", "quality"]
    actions = {b.condition.lower(): b.action for b in spec.branches}
    assert "logistics" in actions["shipping"] and "factory" in actions["quality"]


# classes: after any classify cue of the sentence, a label's own action, the list sentence says nothing of one class
@pytest.mark.parametrize("text, classes", [
    ("请对工单 ticket 做优先级判断，分为紧急、普通、低三档，紧急的要写升级说明，其余写常规回复，输出 reply。", ["紧急", "普通", "低"]),
    ("Tell me whether the lead (lead) is hot, warm or cold, and write a follow-up email for it; output email.",
     ["hot", "warm", "cold"]),
    ("Check whether the comment (comment) is spam, abuse or fine; output verdict.", ["spam", "abuse", "fine"]),
    ("問い合わせ text を「注文」「返品」「その他」に分類し、カテゴリごとに返信文を書いて reply に出力。", ["注文", "返品", "その他"]),
])
def test_classes_are_read_after_any_classify_cue_of_the_sentence(text, classes):
    spec = analyse(text)
    assert spec.classes == classes and not spec.iteration_target, spec


def test_a_per_class_cue_is_each_class_s_work_not_an_iteration():
    spec = analyse("把留言 message 分成“售前”“售后”两类，每一类分别写一段给对应团队的摘要，输出 digest。")
    assert spec.classes == ["售前", "售后"] and not spec.iteration_target
    spec = analyse("問い合わせ text を「注文」「返品」に分類し、分類ごとに担当者向けのメモを作成して memo に出力。")
    assert spec.classes == ["注文", "返品"] and "iteration" not in spec.capabilities
    assert all("メモを作成" in b.action for b in spec.branches)  # the work said once for every class


def test_a_label_colon_gives_its_class_its_own_action():
    spec = analyse("Decide if the incident (incident) is an outage, a slowdown or noise. Outage: page the on-call lead "
                   "with a summary. Slowdown: open a ticket text. Noise: write one line for the log. Output note.")
    actions = {b.condition: b.action for b in spec.branches}
    assert spec.classes == ["outage", "slowdown", "noise"]
    assert actions["outage"].startswith("page the on-call lead") and actions["noise"].startswith("write one line")


def test_the_sentence_listing_the_classes_is_not_one_class_s_action():
    spec = analyse("Work out whether the message (message) is praise, a question or a complaint; for complaints "
                   "write an apology, otherwise write a short thank-you. Output reply.")
    actions = {b.condition: b.action for b in spec.branches}
    assert actions["complaint"] == "write an apology"
    assert actions["praise"] == "write a short thank-you" and "whether" not in actions["question"]


# names: a type said after a comma in the naming parenthesis, the noun the parenthesis names, acronyms glued to CJK
@pytest.mark.parametrize("text, name, kind", [
    ("If the humidity (hum, a number) is over 70, suggest opening a window; output tip.", "hum", "number"),
    ("Review the signed contract (contract, a PDF) and list the risks as risks.", "contract", "file"),
    ("Caption the product shots (shots, a list of images) one by one and return captions.", "shots", "file-list"),
    ("Count the sentences in the abstract (abstract) and output total_sentences.", "abstract", "text-input"),
    ("用户上传合同PDF contract，找出风险条款，输出 risks。", "contract", "file"),
    ("取扱説明書PDF guide と質問 q を受け取り、guide の内容で回答 answer を返す。", "guide", "file"),
])
def test_the_name_and_type_in_or_before_a_naming_parenthesis(text, name, kind):
    spec = analyse(text)
    given = {i.name: i.type for i in spec.inputs}
    assert given.get(name) == kind, given


def test_a_compared_name_in_a_parenthesis_is_the_gate_subject():
    spec = analyse("If the humidity (hum, a number) is over 70, suggest opening a window; output tip.")
    assert spec.gate is not None and spec.gate.subject == "hum" and spec.gate.value == "70"


def test_an_argument_named_in_a_parenthesis_is_an_input_and_the_named_result_an_output():
    spec = analyse("Compute the median of the prices (prices) as median_price.")
    assert [i.name for i in spec.inputs] == ["prices"]
    assert [o.name for o in spec.outputs if o.explicit] == ["median_price"]
    spec = analyse("Fetch GET https://api.example.com/stock?ticker={{ticker}} for the ticker the user enters (ticker), "
                   "then turn the JSON into a plain-language update named update.")
    assert [i.name for i in spec.inputs] == ["ticker"] and [o.name for o in spec.outputs] == ["update"]


def test_an_uploaded_manual_is_a_file_not_a_knowledge_base_nor_an_export():
    spec = analyse("取扱説明書PDF guide と質問 q を受け取り、マニュアルの内容だけに基づいて回答 answer を返す。")
    assert "retrieval" not in spec.capabilities
    assert all(not o.source.startswith("tool:") for o in spec.outputs)
    spec = analyse("根据上传的产品手册 handbook 回答员工的问题 question，输出 answer。")
    assert "retrieval" not in spec.capabilities
    assert "retrieval" in analyse("Answer staff questions (question) from our HR handbook knowledge base.").capabilities


@pytest.mark.parametrize("text, name", [
    ("Paste the product codes (codes, comma separated) and check each for a typo; output report.", "codes"),
    ("Enter the meeting attendees (attendees, one name per line) and write a seating plan as plan.", "attendees"),
])
def test_a_name_that_echoes_its_noun_is_a_name_whatever_follows_its_comma(text, name):
    assert name in [i.name for i in analyse(text).inputs]


def test_examples_in_a_parenthesis_are_not_names():
    spec = analyse("Suggest desserts with seasonal fruit (plums, figs) for the menu text (menu) and output ideas.")
    assert [i.name for i in spec.inputs] == ["menu"]


def test_what_is_merged_into_a_named_thing_is_an_output():
    spec = analyse("Ask two models for a tagline for the brand brief (brief) at the same time, then combine them "
                   "into one final line called tagline.")
    assert [i.name for i in spec.inputs] == ["brief"] and [o.name for o in spec.outputs] == ["tagline"]


@pytest.mark.parametrize("text, names", [
    ("上传两份简历：候选人甲 resume_a 和候选人乙 resume_b，比较两人的优劣，输出 comparison。", ["resume_a", "resume_b"]),
    ("Upload two documents: the draft (draft) and the style guide (guide); check the draft against the guide, output notes.",
     ["draft", "guide"]),
])
def test_names_listed_after_an_upload_and_a_colon_are_files(text, names):
    given = {i.name: i.type for i in analyse(text).inputs}
    assert all(given.get(n) == "file" for n in names), given


def test_a_pasted_text_after_a_colon_is_not_a_file():
    spec = analyse("文档助手：用户粘贴一段英文 passage，改写成更正式的文风，输出 formal。")
    assert {i.name: i.type for i in spec.inputs}["passage"] in ("paragraph", "text-input")


def test_a_select_said_in_the_naming_parenthesis_has_its_options_and_not_the_type_word():
    spec = analyse("Inputs: plan (basic / pro / team, a select) and question. Answer the question for that plan as answer.")
    plan = next(i for i in spec.inputs if i.name == "plan")
    assert plan.type == "select" and plan.options == ["basic", "pro", "team"]


def test_an_extract_verb_makes_its_whole_named_list_outputs_and_a_node_name_is_no_variable():
    spec = analyse("Pick out customer_name, order_id and refund_amount from the email (email) with a parameter "
                   "extractor and return them.")
    assert [i.name for i in spec.inputs] == ["email"]
    assert [o.name for o in spec.outputs] == ["customer_name", "order_id", "refund_amount"]
    assert spec.extraction_fields == ["customer_name", "order_id", "refund_amount"]
    assert analyse("Pull out plan names and monthly prices from the page text (page).").extraction_fields == []


@pytest.mark.parametrize("text, given", [
    ("会員ランク rank と購入金額 total（数値）の3%をポイントとして計算し、points に出力します。", ["rank", "total"]),
    ("記事 article の要点を3つにまとめて points に出力してください。", ["article"]),
])
def test_a_japanese_name_followed_by_no_is_what_the_next_noun_is_of(text, given):
    spec = analyse(text)
    assert [i.name for i in spec.inputs] == given and [o.name for o in spec.outputs] == ["points"]


@pytest.mark.parametrize("text, then_text", [
    ("気温 temp（数値）が30以上なら「暑い」、それ未満なら「快適」を result に出力します。", "「暑い」"),
    ("If the score (score, a number) is 50 or more, say \"pass\"; below that, say \"retry\". Output verdict.", "say \"pass\""),
])
def test_the_complement_of_a_threshold_is_the_other_path(text, then_text):
    gate = analyse(text).gate
    assert gate is not None and gate.then_text == then_text


def test_a_phrase_with_nothing_to_say_of_its_slot_does_not_start_with_a_particle():
    assert lx.say("ja", "check", "") == "判定" and lx.say("ja", "check", "score") == "scoreを判定"
    assert lx.say("zh", "knowledge", "") == "检索"


@pytest.mark.parametrize("text, labels", [
    ("报名表：输入学员姓名 student_name 和报名课程 course，生成确认短信 sms。", {"student_name": "学员姓名", "course": "报名课程"}),
    ("体重 weight_kg と身長 height_cm から BMI を計算して bmi に出力。", {"weight_kg": "体重", "height_cm": "身長"}),
])
def test_a_cjk_form_field_is_labelled_with_the_users_own_noun(text, labels):
    assert {i.name: i.label for i in analyse(text).inputs if i.name in labels} == labels


def test_a_word_cut_by_the_window_is_not_a_data_field_cue():
    spec = analyse("输入评论 review，输出：一句话总结 one_line、关键词列表 keywords。")
    assert [o.name for o in spec.outputs] == ["one_line", "keywords"]


def test_spanish_return_with_a_clitic_names_the_output():
    spec = analyse("Resume la noticia (variable noticia) y devuélvela como resumen.")
    assert [o.name for o in spec.outputs] == ["resumen"]


def test_every_cue_in_every_lexicon_is_text():
    """YAML reads a bare no/off/on/yes as a boolean: a cue must stay the word it is (``negation: [no, ...]``
    once held False and never matched "no")."""
    import yaml

    for path in (Path(lx.__file__).parent).glob("*.yaml"):
        cues = yaml.safe_load(path.read_text(encoding="utf-8")).get("cues") or {}
        odd = [(name, w) for name, words in cues.items() for w in words or [] if not isinstance(w, str)]
        assert not odd, (path.name, odd)
    assert lx.negated("There is no model step here.", "model_word")


@pytest.mark.parametrize("text, name", [
    ("No LLM: given the price (price, a number), apply 10% off and return total.", "Apply 10% Off"),
    ("不用模型：根据商品价格 price（数字）算出折后价 sale，输出 sale。", "根据商品价格算出折后价"),
    ("問い合わせ inquiry を「注文」「返品」に分類し、返信を作る。", "問い合わせを注文・返品に分類し"),
])
def test_the_app_name_leaves_out_a_no_model_lead_in_and_names_glued_to_cjk(text, name):
    from core.agents.rules import _app_name

    assert _app_name(text) == name


@pytest.mark.parametrize("text", [
    "最新のニュースをネットで検索して、トピック topic の要点を summary にまとめてください。",
    "先上网搜索 topic 的最新消息，再写成一份简报 brief。",
    "Search the web for the company (company) and write a profile as profile.",
])
def test_a_web_search_is_asked_in_any_language(text):
    assert analyse(text).tool == "web search"


def test_a_search_of_the_knowledge_base_is_not_a_web_search():
    assert analyse("在知识库中搜索员工的问题 question，给出回答 answer。").tool is None


def test_a_japanese_name_given_as_an_input_is_an_input():
    spec = analyse("ユーザー名は user_name として入力し、歓迎メッセージ welcome を作成して出力します。")
    assert [i.name for i in spec.inputs] == ["user_name"] and [o.name for o in spec.outputs] == ["welcome"]


def test_a_list_of_outputs_says_nothing_of_what_each_is():
    spec = analyse("Write a limerick about the city (city) and draw it with DALL-E; return limerick and picture.")
    assert all("return" not in o.description for o in spec.outputs)
    assert {o.name: o.source for o in spec.outputs}["picture"] == "tool:text2image"


def test_a_name_whose_parenthesis_says_the_list_shape_is_that_list():
    spec = analyse("For every product in the list (items, one per line), write a tagline and return them as taglines.")
    assert [(i.name, i.type) for i in spec.inputs] == [("items", "paragraph")]
