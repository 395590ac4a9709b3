"""Screenshots at a fixed size (pytest-textual-snapshot); `--snapshot-update` regenerates them."""

from __future__ import annotations

from pilot_helpers import SIZE, ask, ready, wait_until
from training_fixtures import round_events, write_run

from tui.screens.flag import FlagDialog
from tui.screens.training import TrainingScreen

ANSWER = (
    "To reset the password, open **Settings → Security** and choose *Reset password* [1]. "
    "If the link has expired, send a new one [2]."
)


async def steady(pilot) -> None:
    """Hide what changes from run to run (timings, blinking cursors) before the screenshot."""
    app = pilot.app
    app.last_answer_label = "12.5 tok/s · first token 0.4s · total 2.1s"
    for widget in app.screen.query("TextArea, Input"):
        widget.cursor_blink = False
    app.screen.set_focus(None)  # a cursor caught mid-blink would differ between runs
    await pilot.pause()


def test_chat_with_a_cited_answer(snap_compare, make_app):
    async def run_before(pilot) -> None:
        await ready(pilot)
        await ask(pilot, "Hi, I'm locked out of my account and the reset link does not work.")
        await steady(pilot)

    assert snap_compare(make_app(answers=[ANSWER]), terminal_size=SIZE, run_before=run_before)


def test_flag_dialog(snap_compare, make_app):
    async def run_before(pilot) -> None:
        await ready(pilot)
        await ask(pilot, "How long do refunds take?")
        await pilot.press("ctrl+b")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, FlagDialog))
        await steady(pilot)

    app = make_app(answers=["Refunds take about a year to arrive [1]."])
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_training_screen(snap_compare, make_app, settings):
    write_run(settings.paths.runs, round_events())

    async def run_before(pilot) -> None:
        await pilot.press("f4")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, TrainingScreen))
        await wait_until(pilot, lambda: pilot.app.screen.progress.finished)
        await steady(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)
