"""Refinement edits: remove / rename / retype / replace on the parent's own inputs, outputs, tools and
steps, in English, Chinese and Japanese; an edit that names nothing the workflow has says so."""

from __future__ import annotations

import pytest

from core.agents.models import InputVar, OutputVar, RequirementSpec
from core.agents.refine import merge, targets


def parent(language: str = "en") -> RequirementSpec:
    return RequirementSpec(
        requirement="Plan a trip for the city and budget, return the itinerary and read it aloud.",
        goal="Plan a trip", language=language,
        inputs=[InputVar(name="city", label="City", type="text-input", explicit=True),
                InputVar(name="budget", label="Budget", type="text-input", explicit=True),
                InputVar(name="text", label="Notes", type="paragraph", explicit=True)],
        outputs=[OutputVar(name="itinerary", description="the day-by-day plan", source="llm", explicit=True),
                 OutputVar(name="audio", description="the plan read aloud", source="tool:tts", explicit=True)],
        tools=["tts"], sections=["Transport", "Lodging"], capabilities=["tool"])


def names(spec: RequirementSpec) -> tuple[list[str], list[str]]:
    return [i.name for i in spec.inputs], [o.name for o in spec.outputs]


@pytest.mark.parametrize("instruction", ["Drop the text-to-speech part, nobody listens to it.", "不要朗读了，删掉转语音",
                                         "音声合成は外してください"])
def test_remove_a_tool_and_the_output_it_made(instruction):
    child, changed = merge(parent(), instruction)
    assert child.tools == [] and names(child) == (["city", "budget", "text"], ["itinerary"])
    assert changed == ["removed tool tts"]


@pytest.mark.parametrize("instruction", ["Please rename the output itinerary to schedule.", "把输出 itinerary 重命名为 schedule",
                                         "出力 itinerary の名前を schedule に変更して"])
def test_rename_an_output_keeps_everything_else(instruction):
    child, changed = merge(parent(), instruction)
    assert names(child) == (["city", "budget", "text"], ["schedule", "audio"])
    assert child.outputs[0].description == "the day-by-day plan" and child.tools == ["tts"]
    assert changed == ["renamed output itinerary -> schedule"]


@pytest.mark.parametrize("instruction", ["The budget should be a number.", "预算 budget 请改成数值", "budget を数値にしてください"])
def test_retype_an_input(instruction):
    child, changed = merge(parent(), instruction)
    assert {i.name: i.type for i in child.inputs} == {"city": "text-input", "budget": "number", "text": "paragraph"}
    assert changed == ["input budget is now number"]


def test_replace_an_output_keeps_its_name_and_changes_what_it_is():
    child, changed = merge(parent(), "Replace the itinerary with a table of times and places.")
    itinerary = next(o for o in child.outputs if o.name == "itinerary")
    assert itinerary.description == "table of times and places" and "table of times and places" in child.constraints
    assert changed == ["replaced output itinerary"] and names(child)[1] == ["itinerary", "audio"]


def test_remove_and_rename_a_step_section():
    child, _ = merge(parent(), "Remove the Lodging section")
    assert child.sections == ["Transport"]
    child, _ = merge(parent(), "Rename the Transport section to Getting_there")
    assert child.sections == ["Getting_there", "Lodging"]


def test_longest_mention_wins_and_the_named_kind_is_preferred():
    spec = parent()
    assert [(t.kind, t.key) for t in targets("remove the text to speech step", spec)] == [("tool", "tts")]
    both = spec.model_copy(update={"inputs": [*spec.inputs, InputVar(name="itinerary", label="Itinerary")]})
    assert [(t.kind, t.key) for t in targets("rename the output itinerary to plan", both)][0] == ("output", "itinerary")


@pytest.mark.parametrize("instruction", ["Remove the chart step.", "删除图表步骤", "グラフのステップを削除"])
def test_an_edit_that_names_nothing_there_says_so_and_changes_nothing(instruction):
    before = parent()
    child, changed = merge(before, instruction)
    assert changed == []
    assert names(child) == names(before) and child.tools == before.tools
    assert child.notes and "names no input, output, tool or step" in child.notes[-1]


def test_the_requirement_stays_the_original_and_the_instructions_are_logged():
    child, _ = merge(parent(), "Also return packing_list, the things to pack.")
    grand, _ = merge(child, "make budget a number")
    assert grand.requirement == parent().requirement
    assert grand.edits == ["Also return packing_list, the things to pack.", "make budget a number"]
    assert names(grand)[1] == ["itinerary", "audio", "packing_list"]
