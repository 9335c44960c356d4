"""Names listed together share their list's role, and classes quoted in « », „ “ (French, Spanish, German)
are read like any other quote style. Fresh requirements of our own, through the whole offline pipeline."""

from __future__ import annotations

import pytest

from core.agents.ir import find_named
from core.pipeline import generate


@pytest.mark.parametrize("text, inputs, outputs", [
    ("入力は商品説明 description です。説明を短くした short_text、想定顧客 target、そして価格帯 price_band の3つを出力してください。",
     ["description"], ["short_text", "target", "price_band"]),
    ("输入一段会议记录 notes，用模型整理出决定 decisions 和待办 todos 并输出。", ["notes"], ["decisions", "todos"]),
    ("Take city_name and travel_month and return packing_list.", ["city_name", "travel_month"], ["packing_list"]),
    ("用户输入姓名 name 和职位 title，输出欢迎词 welcome。", ["name", "title"], ["welcome"]),
])
def test_listed_names_share_the_role_of_their_list(text, inputs, outputs):
    roles = {n.name: n.role for n in find_named(text)}
    assert [n for n in inputs if roles.get(n) != "input"] == [], roles
    assert [n for n in outputs if roles.get(n) != "output"] == [], roles


@pytest.mark.parametrize("text, classes, inputs, outputs", [
    ("Classe chaque message (variable message) en « question », « plainte » ou « suggestion » et rédige une réponse "
     "adaptée pour chaque catégorie. Sortie : reponse.", ["question", "plainte", "suggestion"], ["message"], ["reponse"]),
    ("Clasifica cada correo (variable correo) en «factura», «soporte» o «ventas» y escribe una respuesta para cada "
     "categoría. Salida: respuesta.", ["factura", "soporte", "ventas"], ["correo"], ["respuesta"]),
])
def test_guillemet_classes_make_a_classifier(text, classes, inputs, outputs, offline_settings, ledger, library):
    result = generate(text, settings=offline_settings, ledger=ledger, library=library)
    nodes = [n["data"] for n in result.dsl["workflow"]["graph"]["nodes"]]
    classifier = next(d for d in nodes if d["type"] == "question-classifier")
    assert [c["name"] for c in classifier["classes"]] == classes
    start = next(d for d in nodes if d["type"] == "start")
    assert [v["variable"] for v in start["variables"]] == inputs
    assert sorted({o["variable"] for d in nodes if d["type"] == "end" for o in d["outputs"]}) == outputs
    assert result.valid and result.test_run is not None and result.test_run.succeeded


def test_three_outputs_listed_in_japanese_each_reach_the_end(offline_settings, ledger, library):
    text = "入力は商品説明 description です。説明を短くした short_text、想定顧客 target、そして価格帯 price_band の3つを出力してください。"
    result = generate(text, settings=offline_settings, ledger=ledger, library=library)
    nodes = [n["data"] for n in result.dsl["workflow"]["graph"]["nodes"]]
    start = next(d for d in nodes if d["type"] == "start")
    assert [v["variable"] for v in start["variables"]] == ["description"]
    assert {o["variable"] for d in nodes if d["type"] == "end" for o in d["outputs"]} == {"short_text", "target", "price_band"}
    assert result.valid and result.test_run.succeeded


@pytest.mark.parametrize("text, names", [
    # a word of a quoted fixed reply is not a variable; a name also used outside the quote still is
    ('Read message_text. When it asks about refunds, answer with the fixed text "Please fill in the return '
     'form." Output reply.', {"message_text": "input", "reply": "output"}),
    ('Answer with "Your ticket ticket_id is closed" and read ticket_id (variable ticket_id); output notice.',
     {"ticket_id": "input", "notice": "output"}),
    # a type in parentheses is the type of the name before it, unless it is named as a variable
    ("Inputs: weight (number) and height (number); compute the ratio and return ratio.",
     {"weight": "input", "height": "input", "ratio": "output"}),
    ("Count the lines of the text (variable number) and return total.", {"number": None, "total": "output"}),
])
def test_quoted_sentences_and_type_words_are_not_names(text, names):
    roles = {n.name: n.role for n in find_named(text)}
    for name, role in names.items():
        assert name in roles if role is None else roles.get(name) == role, roles
    assert not {"form", "closed", "number", "select"} & (set(roles) - set(names)), roles
