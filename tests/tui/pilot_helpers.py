"""Pilot steps shared by the TUI tests: poll for a condition instead of fixed pauses."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.widgets import TextArea

from tui.app import DeskloopApp
from tui.widgets.messages import AnswerView

SIZE = (100, 30)  # the terminal size of pilot and snapshot tests


async def wait_until(pilot, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Let the app run until predicate() holds; fail with a clear message after timeout."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await pilot.pause(0.02)


async def ready(pilot) -> DeskloopApp:
    """Wait for the engine to load and the message box to accept input."""
    app = pilot.app
    await wait_until(
        pilot, lambda: app.engine_ready and not app.screen.query_one("#question").disabled
    )
    return app


async def ask(pilot, question: str, wait: bool = True) -> AnswerView:
    """Type a question, send it with Ctrl+S, and (by default) wait for the recorded answer."""
    screen = pilot.app.screen
    box = screen.query_one("#question", TextArea)
    box.focus()
    box.text = question
    await pilot.press("ctrl+s")
    await wait_until(pilot, lambda: bool(screen.query(AnswerView)))
    view = list(screen.query(AnswerView))[-1]
    if wait:
        await wait_until(pilot, lambda: view.turn is not None)
    return view
