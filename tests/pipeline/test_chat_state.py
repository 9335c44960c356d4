"""Chat apps that keep state and route (fresh requirements written for these tests, not from the eval files):
conversation variables with the asked names and types, assigner v2 writes with the right operation on the
right variable, a limit on a counter compared as a number with the quoted closing reply verbatim, reset words,
knowledge retrieval and web search in chats, memory that sends the question once, and a graphon test run
that succeeds."""

from __future__ import annotations

import pytest

from core.pipeline import generate


def _nodes(result):
    return [n["data"] for n in result.dsl["workflow"]["graph"]["nodes"]]


def _types(result):
    return [d["type"] for d in _nodes(result)]


def _conv_vars(result):
    return {v["name"]: v["value_type"] for v in result.dsl["workflow"]["conversation_variables"]}


def _writes(result):
    """(variable, operation, input_type, value) of every assigner item."""
    return [(tuple(i["variable_selector"]), i["operation"], i["input_type"], i["value"])
            for d in _nodes(result) if d["type"] == "assigner" for i in d["items"]]


def _conditions(result):
    return [c for d in _nodes(result) if d["type"] == "if-else" for case in d["cases"] for c in case["conditions"]]


def _limit(result, variable: str) -> tuple:
    """(operator, value, varType) of the if-else condition on a conversation variable."""
    c = next(c for c in _conditions(result) if c["variable_selector"] == ["conversation", variable])
    return c["comparison_operator"], c["value"], c["varType"]


def _answers(result):
    return [d["answer"] for d in _nodes(result) if d["type"] == "answer"]


def chat(text, offline_settings, ledger, library):
    result = generate(text, settings=offline_settings, ledger=ledger, library=library)
    assert result.valid, result.report.findings if result.report else result.error_message
    assert result.dsl["app"]["mode"] == "advanced-chat"
    assert result.test_run is not None and result.test_run.succeeded, result.test_run and result.test_run.summary()
    return result


def test_counter_with_a_limit_closes_with_the_quoted_reply(offline_settings, ledger, library):
    r = chat("A support chatbot for our gaming forum. Use a conversation variable to track strikes: whenever someone "
             "posts something offensive, add a strike and remind them of the rules. After 2 strikes, the bot answers "
             "only with \"You have been muted. Please contact a moderator.\"", offline_settings, ledger, library)
    assert _conv_vars(r) == {"strike_count": "number"}
    assert (("conversation", "strike_count"), "+=", "constant", 1) in _writes(r)
    assert _limit(r, "strike_count") == ("≥", "2", "number")
    assert "You have been muted. Please contact a moderator." in _answers(r)
    assert "question-classifier" in _types(r)  # only an offensive message counts
    assert _types(r).count("answer") >= 3  # closed, counted, normal reply


def test_chinese_level_attribute_is_remembered(offline_settings, ledger, library):
    r = chat("做一个英语口语陪练聊天机器人，用会话变量记住用户的英语水平（初级/中级/高级），之后的回复都按这个水平调整难度。",
             offline_settings, ledger, library)
    assert _conv_vars(r) == {"level": "string"}
    writes = _writes(r)
    assert [w[:3] for w in writes] == [(("conversation", "level"), "over-write", "variable")]
    extractor = next(d for d in _nodes(r) if d["type"] == "parameter-extractor")
    assert [p["name"] for p in extractor["parameters"]] == ["level"]
    reply = next(d for d in _nodes(r) if d["type"] == "llm" and "memory" in d)
    assert any("{{#conversation.level#}}" in m.get("text", "") for m in reply["prompt_template"]) or \
        "{{#conversation.level#}}" in reply["memory"]["query_prompt_template"]


def test_chinese_list_with_reset_word(offline_settings, ledger, library):
    r = chat("帮我做一个记账聊天助手：用户每说一笔开销，就把它加入会话变量里的账单列表；用户说“清零”时，列出所有开销并清空列表。",
             offline_settings, ledger, library)
    (name, kind), = _conv_vars(r).items()
    assert kind == "array[string]"
    ops = {w[1] for w in _writes(r) if w[0] == ("conversation", name)}
    assert ops == {"extend", "clear"}
    assert any(c["variable_selector"] == ["sys", "query"] and c["comparison_operator"] == "contains"
               and c["value"] == "清零" for c in _conditions(r))
    assert _types(r).count("answer") == 2


def test_japanese_manual_helpdesk_retrieves_and_remembers_the_conversation(offline_settings, ledger, library):
    r = chat("社内の経理ルールについて答えるチャットボット。経費精算マニュアルのナレッジベースを検索して回答し、会話の流れも覚えておく。",
             offline_settings, ledger, library)
    assert "knowledge-retrieval" in _types(r)
    reply = next(d for d in _nodes(r) if d["type"] == "llm")
    assert reply["memory"]["window"]["enabled"]
    start = next(d for d in _nodes(r) if d["type"] == "start")
    assert start["variables"] == []  # a chat takes the user's message, not a filler input


def test_japanese_web_searching_chat_gets_the_search_tool(offline_settings, ledger, library):
    r = chat("旅行の相談に乗るチャットボットを作ってください。ユーザーの質問ごとにインターネットで調べて、最新の情報をもとに答えます。",
             offline_settings, ledger, library)
    assert "tool" in _types(r) and "iteration" not in _types(r)
    assert r.dsl["dependencies"], "the search plugin is declared"


def test_japanese_named_counter_with_a_fixed_reply(offline_settings, ledger, library):
    r = chat("クイズを出すチャットボット。会話変数 correct_count に正解した数を数えて、5問正解したら「おめでとうございます！全問クリアです」"
             "とだけ返してください。", offline_settings, ledger, library)
    assert _conv_vars(r) == {"correct_count": "number"}
    assert (("conversation", "correct_count"), "+=", "constant", 1) in _writes(r)
    assert _limit(r, "correct_count") == ("≥", "5", "number")
    assert "おめでとうございます！全問クリアです" in _answers(r)


def test_spanish_slots_each_get_their_variable(offline_settings, ledger, library):
    r = chat("Un chatbot para una peluquería: recuerda el nombre del cliente y el servicio que quiere (corte, tinte o "
             "peinado) en variables de conversación, y usa esos datos en cada respuesta.", offline_settings, ledger, library)
    assert _conv_vars(r) == {"name": "string", "service": "string"}
    assert {w[0] for w in _writes(r) if w[1] == "over-write"} == {("conversation", "name"), ("conversation", "service")}


def test_french_question_counter_limit_and_faq(offline_settings, ledger, library):
    r = chat("Un chatbot de FAQ pour une banque : garde dans une variable de conversation le nombre de questions posées, "
             "et après 10 questions réponds uniquement « Merci, un conseiller va vous contacter. »",
             offline_settings, ledger, library)
    assert _conv_vars(r) == {"question_count": "number"}
    assert (("conversation", "question_count"), "+=", "constant", 1) in _writes(r)
    assert any(c["variable_selector"] == ["conversation", "question_count"] and c["value"] == "10"
               and c["varType"] == "number" for c in _conditions(r))
    assert "Merci, un conseiller va vous contacter." in _answers(r)
    assert "knowledge-retrieval" in _types(r)


def test_english_attributes_and_handbook(offline_settings, ledger, library):
    r = chat("An HR policy assistant chat that answers from the employee handbook. Remember the employee's department "
             "and preferred language across the conversation and reply in that language.", offline_settings, ledger, library)
    assert _conv_vars(r) == {"department": "string", "language": "string"}
    assert "knowledge-retrieval" in _types(r)
    # known values survive a turn that does not repeat them: the assigner writes what the keep-known code returns
    code = next(d for d in _nodes(r) if d["type"] == "code")
    assert {v["variable"] for v in code["variables"]} == {"new_department", "old_department", "new_language", "old_language"}


def test_english_list_reset_shows_the_list_first(offline_settings, ledger, library):
    r = chat("Grocery list chatbot: every time the user mentions something they need to buy, append it to a shopping list "
             "kept in a conversation variable, and when they say \"done\" show the whole list and empty it.",
             offline_settings, ledger, library)
    assert _conv_vars(r) == {"shopping_list": "array[string]"}
    assert {w[1] for w in _writes(r)} == {"extend", "clear"}
    template = next(d for d in _nodes(r) if d["type"] == "template-transform")
    assert [v["value_selector"] for v in template["variables"]] == [["conversation", "shopping_list"]]


def test_german_level(offline_settings, ledger, library):
    r = chat("Ein Chatbot für Sprachschüler: Merke dir in einer Gesprächsvariable das Niveau des Lernenden (A1 bis C2) "
             "und passe jede Antwort daran an.", offline_settings, ledger, library)
    assert _conv_vars(r) == {"level": "string"}


def test_chinese_counter_reply_line_carries_the_value(offline_settings, ledger, library):
    r = chat("做一个陪聊机器人，用会话变量统计用户发了多少条消息，每次回复最后都写上“您已经发送了 N 条消息”。",
             offline_settings, ledger, library)
    (name, kind), = _conv_vars(r).items()
    assert kind == "number"
    assert any(f"{{{{#conversation.{name}#}}}}" in a and "您已经发送了" in a for a in _answers(r))


@pytest.mark.parametrize("text", [
    "A cooking assistant chat that remembers the user's diet across the conversation.",
    "用会话变量记住用户的名字，聊天时称呼他。",
])
def test_memory_sends_the_question_once(text, offline_settings, ledger, library):
    r = chat(text, offline_settings, ledger, library)
    for d in _nodes(r):
        if d["type"] == "llm" and d.get("memory"):
            sent = [m["text"] for m in d["prompt_template"] if m["role"] == "user"] + [d["memory"]["query_prompt_template"]]
            assert sum(t.count("{{#sys.query#}}") for t in sent) == 1


def _classes(result):
    return [c["name"] for d in _nodes(result) if d["type"] == "question-classifier" for c in d["classes"]]


@pytest.mark.parametrize(("text", "intent", "fixed"), [
    ("Support chatbot for a bike-rental shop. Normally it answers from the FAQ knowledge base. When a customer says "
     "they want to refund a booking, skip the AI and send our fixed refund notice with the voucher code BIKE15.",
     "refund", "BIKE15"),
    ("客服聊天机器人：平时根据知识库回答；如果顾客说要退订，就直接回复固定文案“已为您转接人工客服，请稍候。”",
     "退订", "已为您转接人工客服，请稍候。"),
    ("ネットショップのサポート用チャットボット。普段はFAQのナレッジベースから答えますが、お客様が「返品したい」と言ったら、"
     "AIを使わずに定型の案内「返品はマイページの注文履歴から受け付けています。」を返してください。",
     "返品", "返品はマイページの注文履歴から受け付けています。"),
])
def test_chat_routes_a_said_intent_to_its_fixed_reply(text, intent, fixed, offline_settings, ledger, library):
    r = chat(text, offline_settings, ledger, library)
    assert any(intent in c.lower() for c in _classes(r)), _classes(r)
    answers = _answers(r)
    assert len(answers) == 2
    templates = [d["template"] for d in _nodes(r) if d["type"] == "template-transform"]
    assert any(fixed in a and "{{#" not in a for a in answers) or any(fixed in t for t in templates)  # text, no model
    assert _types(r).count("llm") == 1  # only the usual path asks the model
    assert "knowledge-retrieval" in _types(r)


def test_branch_with_quoted_fixed_text_in_a_chat_is_answered_verbatim(offline_settings, ledger, library):
    r = chat("Support chatbot for a gym. It answers from the FAQ knowledge base. If the member wants to cancel the "
             "membership, reply with the fixed text \"Sorry to see you go! Use code GYM50 for half price next month.\"; "
             "otherwise answer normally.", offline_settings, ledger, library)
    assert "Sorry to see you go! Use code GYM50 for half price next month." in _answers(r)
    assert _types(r).count("answer") == 2
