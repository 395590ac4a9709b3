"""`deskloop approved list|show|edit|remove` and the flag that makes one, with --json."""

from __future__ import annotations

import json

import pytest

from assistant.app import open_store
from assistant.cli import main
from assistant.settings import load_settings
from assistant.store import AnswerRecord


def deskloop(capsys, *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as stop:
        code = stop.code or 0
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def answer_turn() -> int:
    store = open_store(load_settings())
    _, turn = store.record_exchange(
        "c1", "How do I cancel my plan? I'm ana@example.com", AnswerRecord("Settings > Plan.")
    )
    return turn


def test_flag_then_list_show_edit_remove(capsys, answer_turn):
    code, out, _ = deskloop(capsys, "feedback", "flag", str(answer_turn), "--good", "--json")
    assert code == 0
    approved = json.loads(out)["approved_answer"]
    assert approved["question"] == "How do I cancel my plan? I'm [EMAIL]"
    assert approved["origin"] == "good" and "embedding" not in approved

    code, out, _ = deskloop(capsys, "approved", "list", "--json")
    assert code == 0 and [a["id"] for a in json.loads(out)] == [approved["id"]]
    code, out, _ = deskloop(capsys, "approved", "show", str(approved["id"]), "--json")
    assert json.loads(out)["answer"] == "Settings > Plan."

    code, out, _ = deskloop(
        capsys, "approved", "edit", str(approved["id"]), "--answer", "Tap Plan, then Cancel."
    )
    assert code == 0 and "Tap Plan, then Cancel." in out
    code, out, _ = deskloop(
        capsys, "approved", "edit", str(approved["id"]), "--question", "Cancel plan?", "--json"
    )
    edited = json.loads(out)
    assert (edited["question"], edited["answer"]) == ("Cancel plan?", "Tap Plan, then Cancel.")

    code, out, _ = deskloop(capsys, "approved", "remove", str(approved["id"]), "--json")
    assert code == 0 and json.loads(out)["removed"]["id"] == approved["id"]
    code, out, _ = deskloop(capsys, "approved", "list", "--json")
    assert json.loads(out) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("show", "42"), "no approved answer 42"),
        (("remove", "42", "--json"), "no approved answer 42"),
        (("edit", "42"), "say what to change"),
    ],
)
def test_errors_are_one_line(capsys, args, message):
    code, out, err = deskloop(capsys, "approved", *args)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1 and out == ""
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]


def test_an_empty_edit_is_refused(capsys, answer_turn):
    deskloop(capsys, "feedback", "flag", str(answer_turn), "--good")
    code, _, err = deskloop(capsys, "approved", "edit", "1", "--answer", "  ")
    assert code == 1 and "cannot be empty" in err
