"""The requirement model read from text: named variables, their types, outputs, typed conditions,
tools and the writing language, in English, Chinese and Japanese phrasings written for these tests."""

from __future__ import annotations

from core.agents import lexicon as lx
from core.agents.refine import merge
from core.agents.rules import analyse


def _io(spec):
    return {i.name: i.type for i in spec.inputs}, [o.name for o in spec.outputs]


def test_cjk_cues_match_without_spaces_where_ascii_word_boundaries_fail():
    assert lx.has("用户上传一份简历文件并粘贴岗位说明", "file")
    assert lx.has("请逐条处理", "each")
    assert lx.detect("用一段话总结会议") == "zh"
    assert lx.detect("会議の議事録をまとめてください") == "ja"
    assert lx.detect("Fasse die Rechnung kurz zusammen und gib sie aus, wenn sie fertig ist") == "de"


def test_chinese_named_inputs_and_outputs_with_implied_types():
    spec = analyse("做一个租房合同检查工具：上传租赁合同文件（变量名 lease_doc），再输入月租金 rent（数字），"
                   "检查押金条款是否合理，输出变量 check_report。")
    inputs, outputs = _io(spec)
    assert inputs == {"lease_doc": "file", "rent": "number"}
    assert outputs == ["check_report"]
    assert spec.language == "zh"


def test_japanese_named_variables_and_a_choice_list():
    spec = analyse("商品レビュー（review_text）を要約します。口調（tone：カジュアル／ビジネス／丁寧 の3択）を選べるようにし、"
                   "要約は summary_text として出力してください。")
    inputs, outputs = _io(spec)
    assert set(inputs) == {"review_text", "tone"}
    assert inputs["tone"] == "select"
    assert next(i for i in spec.inputs if i.name == "tone").options == ["カジュアル", "ビジネス", "丁寧"]
    assert outputs == ["summary_text"]
    assert spec.language == "ja"


def test_english_backticked_and_listed_names_and_a_dropdown():
    spec = analyse("Quote builder. Inputs: hours (a number), seniority, a dropdown with junior, mid and senior, "
                   "and `client_name`. Return quote and cover_letter.")
    inputs, outputs = _io(spec)
    assert inputs["hours"] == "number"
    assert inputs["seniority"] == "select"
    assert "client_name" in inputs
    assert outputs == ["quote", "cover_letter"]


def test_env_vars_and_json_keys_are_not_inputs():
    spec = analyse("把 order_blob（JSON 字符串，形如 {\"id\": 1, \"amount\": 3}）发到 https://x.example.com/api ，"
                   "令牌在环境变量 ORDER_TOKEN 里，输出 status_text。")
    inputs, outputs = _io(spec)
    assert set(inputs) == {"order_blob"}
    assert outputs == ["status_text"]


def test_typed_condition_with_its_own_outputs():
    spec = analyse("Visa helper: the traveller enters stay_days (a number). Stays longer than 90 days get a fixed notice "
                   "in `long_stay_notice` saying a visa is required; otherwise write packing tips as `tips`.")
    assert spec.gate is not None
    assert (spec.gate.operator, spec.gate.value) == (">", "90")
    assert spec.gate.then_outputs == ["long_stay_notice"]
    assert spec.gate.no_model


def test_impossible_asks_say_why():
    assert analyse("每天早上自动用打印机把日报打出来放到我桌上").unsupported
    assert analyse("Keep a microphone open all day and transcribe it live onto the wall display").unsupported


def test_refinement_adds_to_the_parent_model_and_keeps_what_was_there():
    parent = analyse("Turn meeting notes (input notes) into a summary, output summary.")
    child, changed = merge(parent, "Also return action_items, the list of tasks with owners.")
    assert [i.name for i in child.inputs] == ["notes"]
    assert [o.name for o in child.outputs] == ["summary", "action_items"]
    assert changed
    same, nothing = merge(parent, "please")
    assert not nothing and [o.name for o in same.outputs] == ["summary"]
