"""`python -m bench serve`: its store check catches a lost, duplicated or half-written turn
or flag on both backends, and its smallest configuration runs end to end."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from assistant.store import AnswerRecord, Store
from bench.serve import LEDGER, parse
from bench.serve import run as run_benchmark
from bench.serve_agents import Answer, Flag, Ledger
from bench.serve_check import check_store

QUESTIONS = ("How do I reset my password?", "Why is my camera offline?")


def acknowledged(store: Store, agent: str, conversation: str) -> list[Answer]:
    """Two exchanges written the way the server writes them, as the agent was told of them."""
    answers = []
    for question in QUESTIONS:
        answer_text = f"An answer to {question}"
        user_id, answer_id = store.record_exchange(
            conversation, question, AnswerRecord(answer_text, actor=agent)
        )
        answers.append(
            Answer(agent, conversation, user_id, answer_id, question, answer_text, "answered",
                   0.0, 0.1, 0.2, 0, "test")
        )  # fmt: skip
    return answers


@pytest.fixture
def written(database):
    """A store holding agent-01's two exchanges and a flag, and the ledger of them."""
    store = Store(database)
    answers = acknowledged(store, "agent-01", "conv-a")
    store.flag(answers[0].turn_id, "bad", "incomplete", "Open Settings > Account.", "agent-01")
    flags = [Flag("agent-01", answers[0].turn_id, "bad", "Open Settings > Account.", "test")]
    yield database, store, answers, flags
    store.close()


def execute(store: Store, sql: str, **params) -> None:
    with store.transaction() as db:
        db.execute(text(sql), params)


def test_a_store_holding_what_was_acknowledged_passes(written):
    database, _, answers, flags = written
    report = check_store(database, answers, flags, ["agent-01"])
    assert report["ok"] and report["turns_checked"] == 4 and report["flags_checked"] == 1
    assert set(report["counts"].values()) == {0}


def test_a_deleted_answer_is_reported_lost_and_half_written(written):
    database, store, answers, flags = written
    execute(store, "DELETE FROM turns WHERE id = :id", id=answers[1].turn_id)
    report = check_store(database, answers, flags, ["agent-01"])
    assert not report["ok"]
    assert report["counts"]["lost"] == 1 and report["counts"]["half_written"] == 1
    assert f"assistant turn {answers[1].turn_id}" in report["problems"]["lost"][0]


def test_a_duplicated_exchange_is_reported(written):
    database, store, answers, flags = written
    store.record_exchange("conv-a", QUESTIONS[1], AnswerRecord("again", actor="agent-01"))
    report = check_store(database, answers, flags, ["agent-01"])
    assert not report["ok"] and report["counts"]["duplicated"] == 1
    assert "2 times, acknowledged 1" in report["problems"]["duplicated"][0]


def test_a_lost_or_changed_flag_is_reported(written):
    database, store, answers, flags = written
    execute(store, "UPDATE feedback SET rating = 'good' WHERE turn_id = :id", id=flags[0].turn_id)
    changed = check_store(database, answers, flags, ["agent-01"])
    assert changed["counts"]["lost"] == 1 and "reads 'good'" in changed["problems"]["lost"][0]
    execute(store, "DELETE FROM feedback WHERE turn_id = :id", id=flags[0].turn_id)
    deleted = check_store(database, answers, flags, ["agent-01"])
    assert deleted["counts"]["lost"] == 1 and "is missing" in deleted["problems"]["lost"][0]


def test_an_exchange_nobody_was_told_of_fails_except_after_a_kill(written):
    database, store, answers, flags = written
    store.record_exchange("conv-b", "Where is my refund?", AnswerRecord("", actor="agent-01"))
    report = check_store(database, answers, flags, ["agent-01"])
    assert not report["ok"] and report["counts"]["unacknowledged"] == 1
    after_kill = check_store(database, answers, flags, ["agent-01"], unacknowledged_allowed=True)
    assert after_kill["ok"] and after_kill["counts"]["unacknowledged"] == 1


def test_agent_counts_that_are_not_numbers_are_one_clear_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse(["--agents", "ten"])
    assert exit_info.value.code == 2
    assert "--agents takes counts separated by commas" in capsys.readouterr().err


@pytest.mark.slow
def test_the_smallest_configuration_runs_and_its_check_sees_a_lost_turn(tmp_path):
    """2 agents, 1 question each, the tiny model: load, training round, SIGKILL, restart."""
    result = run_benchmark(["--quick", "--workdir", str(tmp_path)])
    json.dumps(result)  # one JSON document
    load = result["load"]["2_agents"]
    assert load["answers"] == 2 and load["errors"] == 0 and load["store_check"]["ok"]
    assert load["admin_ingest"]["ok"] and load["training_round"]["ok"]
    assert load["promotion"]["ok"]
    fault = result["fault"]
    assert fault["answers_before_kill"] >= 1 and fault["store_check"]["ok"]
    assert fault["answers_after_restart"] and fault["round_run_again"]["ok"]
    assert result["idle"]["auth"]["ok"] and result["idle"]["cli_search"]["failures"] == 0
    marks = result["targets"]
    assert all(mark["met"] in (True, False) for mark in marks.values())
    assert marks["errors_and_lost_or_duplicated_2_agents"]["met"]
    assert marks["acknowledged_lost_after_sigkill"]["met"]

    ledger = Ledger.load(tmp_path / LEDGER)
    database = f"sqlite:///{tmp_path / 'home' / 'deskloop.db'}"
    agents = {answer.agent for answer in ledger.answers}
    store = Store(database)
    try:
        execute(store, "DELETE FROM turns WHERE id = :id", id=ledger.answers[0].question_turn_id)
    finally:
        store.close()
    report = check_store(database, ledger.answers, ledger.flags, agents, True)
    assert not report["ok"] and report["counts"]["lost"] >= 1
