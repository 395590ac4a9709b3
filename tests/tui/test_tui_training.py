"""The training screen follows a round's events.jsonl; a round it starts outlives the app."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import textwrap

import pytest
from pilot_helpers import SIZE, wait_until
from textual.widgets import Static
from training_fixtures import RUN_ID, round_events, write_run

from tui import training_runs
from tui.screens.chat import ChatScreen
from tui.screens.training import TrainingScreen


def status_text(screen) -> str:
    return str(screen.query_one("#round-status", Static).render())


async def open_training(pilot) -> TrainingScreen:
    await pilot.press("f4")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, TrainingScreen))
    return pilot.app.screen


async def test_a_finished_round_shows_progress_evaluation_and_decision(make_app, settings):
    write_run(settings.paths.runs, round_events())
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_training(pilot)
        status = status_text(screen)
        assert RUN_ID in status and "finished" in status and "step 8/8" in status
        assert "loss 1.380" in status
        evaluation = str(screen.query_one("#round-evaluation", Static).render())
        assert "in service (base): rouge_l 0.211" in evaluation
        assert "candidate: rouge_l 0.287" in evaluation
        assert "decision: v0001 promoted" in evaluation
        assert screen.progress.losses[-1] == (8, 1.38)


async def test_feedback_counts_come_from_the_store(make_app, store):
    from assistant.store import AnswerRecord

    _, good = store.record_exchange("c1", "q1", AnswerRecord("a1"))
    _, bad = store.record_exchange("c2", "q2", AnswerRecord("a2"))
    store.flag(good, "good")
    store.flag(bad, "bad", "incorrect", "better answer")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_training(pilot)
        counts = str(screen.query_one("#feedback-counts", Static).render())
        assert "1 good · 1 corrected · 0 bad without a correction" in counts


FAKE_TRAINER = textwrap.dedent(
    """
    import json, os, pathlib, sys, time
    run = pathlib.Path(os.environ["DESKLOOP_HOME"]) / "runs" / "fake-run"
    run.mkdir(parents=True, exist_ok=True)
    print("training", file=sys.stderr, flush=True)
    with open(run / "events.jsonl", "a") as f:
        f.write(json.dumps({"event": "train_start", "run_id": "fake-run"}) + "\\n")
        for step in range(1, 10000):
            f.write(json.dumps({"event": "train_step", "step": step, "max_steps": 10000,
                                "loss": 3.0 / step, "tokens_per_s": 100.0, "eta_s": 60}) + "\\n")
            f.flush()
            time.sleep(0.1)
    """
)


@pytest.fixture
def fake_trainer(monkeypatch, tmp_path):
    script = tmp_path / "fake_trainer.py"
    script.write_text(FAKE_TRAINER)
    monkeypatch.setattr(training_runs, "train_command", lambda m, s: [sys.executable, str(script)])
    started: list[int] = []
    yield started
    for pid in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)


async def test_a_started_round_keeps_running_while_away_and_after_the_app_quits(
    make_app, settings, fake_trainer
):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_training(pilot)
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: screen.launch is not None)
        fake_trainer.append(screen.launch.pid)
        await wait_until(pilot, lambda: screen.progress.step >= 2, timeout=20)
        assert "running (pid" in status_text(screen)

        await pilot.press("f2")
        await wait_until(pilot, lambda: isinstance(app.screen, ChatScreen))
        left_at = screen.progress.step
        await pilot.pause(0.5)
        await pilot.press("f4")
        await wait_until(pilot, lambda: app.screen is screen)
        await wait_until(pilot, lambda: screen.progress.step > left_at + 2, timeout=10)
        assert f"step {screen.progress.step}/" in status_text(screen)
        await pilot.press("ctrl+t")  # a second round is refused while one runs
        assert any("already running" in str(n.message) for n in app._notifications)
        pid = screen.launch.pid

    assert training_runs.is_running(pid), "quitting the app must not stop the round"

    second = make_app()  # a new app finds the round still running and follows it
    async with second.run_test(size=SIZE) as pilot:
        screen = await open_training(pilot)
        await wait_until(pilot, lambda: "running (pid" in status_text(screen))


async def test_a_round_that_fails_early_shows_why(make_app, settings, monkeypatch, tmp_path):
    script = tmp_path / "failing.py"
    script.write_text(
        "import sys\nprint('error: nothing to train on: flag answers in the chat', "
        "file=sys.stderr)\nsys.exit(1)\n"
    )
    monkeypatch.setattr(training_runs, "train_command", lambda m, s: [sys.executable, str(script)])
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_training(pilot)
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: "nothing to train on" in status_text(screen), timeout=15)
        assert screen.has_class("-failed")


def test_fold_keeps_only_the_newest_round_of_a_file():
    first = round_events()
    second = round_events(finished=False, steps=3)
    progress = training_runs.fold(first + second)
    assert (progress.step, progress.finished, progress.evals) == (3, False, {})
    assert progress.losses == [(1, 2.91), (2, 2.64), (3, 2.40)]
