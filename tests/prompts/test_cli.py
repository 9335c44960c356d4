"""``python -m core prompts ...`` and ``python -m core compare ...``, and the by-prompt-version analytics."""

from __future__ import annotations

import json

from core.agents.prompt_store import PromptStore
from core.cli import main
from core.comparison import load_comparison, run_comparison
from core.ledger import analytics
from tests.prompts.scripted_model import thorough_prompt


def test_prompts_new_list_show_diff(tmp_path, capsys, model_settings):
    store = PromptStore(model_settings.data_dir)
    prompt = tmp_path / "req.md"
    prompt.write_text(thorough_prompt(store.prompt("requirements")), encoding="utf-8")
    assert main(["prompts", "new", "thorough", "--agent", "requirements", "--file", str(prompt),
                 "--note", "name every step"]) == 0
    assert "saved thorough (requirements prompt, from v1) — name every step" in capsys.readouterr().out
    assert main(["prompts", "list", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [v["label"] for v in listed] == ["v1", "thorough"] and listed[1]["parent"] == "v1"
    assert main(["prompts", "show", "thorough", "--agent", "quality"]) == 0
    assert "## quality @ thorough (inherited from v1)" in capsys.readouterr().out
    assert main(["prompts", "diff", "thorough"]) == 0
    out = capsys.readouterr().out
    assert "## requirements: v1 -> thorough: +1 / -0 lines" in out and "## quality: v1 -> thorough: identical" in out


def test_prompts_new_refuses_a_bad_prompt_with_exit_2(tmp_path, capsys):
    empty = tmp_path / "empty.md"
    empty.write_text("\n", encoding="utf-8")
    assert main(["prompts", "new", "v2", "--agent", "requirements", "--file", str(empty)]) == 2
    assert "The prompt is empty" in capsys.readouterr().err
    assert main(["prompts", "show", "nope"]) == 2
    assert "There is no prompt version 'nope'" in capsys.readouterr().err


def test_compare_cli_json_equals_the_ledger_and_offline_is_refused(fake_openai, model_settings, thorough, eval_file,
                                                                    capsys, ledger):
    assert main(["compare", "--a", "v1", "--b", thorough, str(eval_file), "--provider", "offline"]) == 2
    assert "offline brain does not use the agent prompts" in capsys.readouterr().err
    code = main(["compare", "--a", "v1", "--b", thorough, str(eval_file), "--provider", "openai", "--base-url",
                 fake_openai.base_url, "--model", "gpt-4o-mini", "--concurrency", "2", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["status"] == "completed"
    assert (out["arms"]["A"]["passed"], out["arms"]["B"]["passed"]) == (2, 3)
    assert out["summary"].startswith("B (thorough) passes 1 more case")
    for arm in ("A", "B"):
        tokens = ledger.query("""SELECT sum(r.total_tokens) AS t FROM comparison_runs cr JOIN runs_v r ON r.id = cr.run_id
                                 WHERE cr.comparison_id = ? AND cr.arm = ?""", [out["id"], arm]).iloc[0].t
        assert out["arms"][arm]["tokens"] == int(tokens)
    assert main(["compare", "--show", out["id"]]) == 0
    text = capsys.readouterr().out
    assert "meet every expectation   A 2/3" in text and "B (thorough) passes 1 more case" in text


def test_by_prompt_version_counts_every_run(model_settings, thorough, eval_file, ledger, library):
    from core.pipeline import generate

    cid = run_comparison("v1", thorough, eval_file, settings=model_settings, ledger=ledger, library=library)
    generate("Rewrite the input text in a friendlier tone.", settings=model_settings, ledger=ledger,
             library=library, source="app")  # a v1 run outside any comparison
    c = load_comparison(ledger, cid)
    frame = analytics.by_prompt_version(ledger).set_index("prompt_version")
    assert frame.loc["v1", "runs"] == 4 and frame.loc[thorough, "runs"] == 3
    assert frame.loc["v1", "scored"] == 3 and frame.loc["v1", "expectations_met"] == c.arms["A"].passed
    assert frame.loc[thorough, "expectations_met"] == c.arms["B"].passed == 3
    assert frame.loc[thorough, "pass_rate"] == 1.0
    costs = ledger.query("""SELECT median(cost_usd) AS m FROM runs_v WHERE prompt_version = ? AND status = 'succeeded'""",
                         [thorough]).iloc[0].m
    assert float(frame.loc[thorough, "median_cost_per_workflow"]) == float(costs)
    only_thorough = analytics.by_prompt_version(ledger, analytics.Filters(prompt_version=thorough))
    assert only_thorough["prompt_version"].tolist() == [thorough]
