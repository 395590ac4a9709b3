"""The tuning commands mounted into a typer app the way assistant/cli.py mounts them."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from tuning.cli import (
    adapters_app,
    eval_command,
    feedback_export_command,
    feedback_import_command,
    train_command,
)

app = typer.Typer()
feedback = typer.Typer()
feedback.command("import")(feedback_import_command)
feedback.command("export")(feedback_export_command)
app.add_typer(feedback, name="feedback")
app.add_typer(adapters_app, name="adapters")
app.command("train")(train_command)
app.command("eval")(eval_command)


def run(*args: str) -> dict | list:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_import_then_export_in_trl_shapes(tiny_settings, feedback_file, tmp_path):
    imported = run("feedback", "import", str(feedback_file), "--json")
    assert imported["rows"] == 12 and imported["errors"] == []

    sft = run("feedback", "export", "--format", "sft", "--json")["records"]
    dpo = run("feedback", "export", "--format", "dpo", "--json")["records"]
    out_file = tmp_path / "kto.jsonl"
    kto_doc = run("feedback", "export", "--format", "kto", "--output", str(out_file), "--json")

    assert len(sft) == 8 and sft[0]["messages"][-1]["role"] == "assistant"
    assert len(dpo) == 4
    assert set(dpo[0]) >= {"prompt", "chosen", "rejected"}
    assert dpo[0]["chosen"][0]["content"].startswith("Restart camera")
    kto = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert kto_doc["records"] == len(kto) == 16  # 4 good + 4 x (correction, original) + 4 bad
    assert sum(not r["label"] for r in kto) == 8


def test_train_then_list_rollback_and_eval(tiny_settings, feedback_file, tmp_path):
    run("feedback", "import", str(feedback_file), "--json")

    summary = run("train", "--method", "lora", "--max-steps", "2", "--no-seeds", "--json")

    listed = run("adapters", "list", "--json")
    assert [a["version"] for a in listed["adapters"]] == [summary["version"]] == ["v0001"]
    assert listed["adapters"][0]["training"]["global_step"] == 2
    # 12 imported rows leave fewer eval rows than training.min_eval_rows: the gate rejects
    assert not summary["promoted"] and "too few eval rows" in summary["decision"]["reason"]

    refused = CliRunner().invoke(app, ["adapters", "promote", "v0001", "--json"])
    assert refused.exit_code != 0 and refused.stdout == ""
    message = str(refused.exception)
    assert "\n" not in message and "too few eval rows" in message and "--force" in message
    assert run("adapters", "list", "--json")["active"] == "base"

    forced = run("adapters", "promote", "v0001", "--force", "--json")
    assert forced == {"previous": "base", "active": "v0001", "forced": True}
    shown = run("adapters", "show", "v0001", "--json")
    assert shown["decision"]["promote"] is False and shown["active"] is True
    assert shown["forced_promotions"][0]["rejection"] == summary["decision"]["reason"]
    assert run("adapters", "rollback", "--json") == {"previous": "v0001", "active": "base"}

    questions = tmp_path / "eval.jsonl"
    questions.write_text(
        json.dumps({"question": "Why is my camera offline?", "reference": "Restart it."})
        + "\n"
        + json.dumps({"question": "Gift cards?", "reference": "x", "answerable": False})
        + "\n"
    )
    result = run("eval", str(questions), "--adapter", "v0001", "--no-retrieve", "--json")
    assert result["adapter"] == "v0001" and result["metrics"]["examples"] == 2
    assert result["metrics"]["unanswerable"] == 1 and len(result["rows"]) == 2
    assert {"support", "citations_all_valid", "declined_answerable"} <= set(result["metrics"])
    assert result["served_form"] and result["retrieval"] is False


def test_errors_say_what_to_do(tiny_settings, tmp_path):
    from assistant.errors import DeskloopError

    for args in (["adapters", "show", "v0009"], ["feedback", "import", str(tmp_path / "no")]):
        result = CliRunner().invoke(app, args)
        assert isinstance(result.exception, DeskloopError)
        assert "deskloop" in str(result.exception) or "give a JSONL" in str(result.exception)
