"""The adapters screen on the real AdapterRegistry with fake adapter files."""

from __future__ import annotations

import pytest
from pilot_helpers import SIZE, ask, ready, wait_until
from textual.widgets import DataTable
from training_fixtures import adapter_metadata, fake_adapter

from tui.screens.adapters import AdaptersScreen
from tui.screens.chat import ChatScreen
from tui.screens.dialogs import ConfirmDialog
from tuning.registry import AdapterRegistry


@pytest.fixture
def registry(settings, tmp_path):
    registry = AdapterRegistry(settings.paths.adapters)
    candidate = fake_adapter(tmp_path / "candidate")
    registry.register(candidate, adapter_metadata(0.25, None, 40))
    registry.register(candidate, adapter_metadata(0.31, "v0001", 52))
    return registry


async def test_versions_are_listed_and_activate_switches_the_chat_at_once(
    make_app, registry, scripted_model, store
):
    app = make_app(answers=["first", "second", "third"], adapter_choice=registry.active_choice)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        before = await ask(pilot, "Which adapter?")
        assert before.turn.adapter_version is None

        await pilot.press("f5")
        await wait_until(pilot, lambda: isinstance(app.screen, AdaptersScreen))
        screen = app.screen
        table = screen.query_one("#adapters-table", DataTable)
        await wait_until(pilot, lambda: table.row_count == 2)
        rows = [table.get_row_at(i) for i in range(2)]
        assert [r[1] for r in rows] == ["v0001", "v0002"]
        assert rows[1][3:] == ["52", "0.310", "0.360", "v0001"]
        assert "base model" in str(screen.query_one("#adapters-active").render())

        table.focus()
        table.move_cursor(row=1)
        await pilot.press("a")
        assert registry.active() == "v0002"
        await wait_until(pilot, lambda: table.get_row_at(1)[0] == "●")
        assert app.adapter_label == "v0002"

        await pilot.press("f2")
        await wait_until(pilot, lambda: isinstance(app.screen, ChatScreen))
        after = await ask(pilot, "And now?")
        assert after.turn.adapter_version == "v0002"
        assert scripted_model.adapter_swaps[-1] == "v0002"

        await pilot.press("f5")
        await wait_until(pilot, lambda: isinstance(app.screen, AdaptersScreen))
        await pilot.press("r")
        assert registry.active() is None
        await wait_until(pilot, lambda: app.adapter_label == "base")

        await pilot.press("f2")
        await wait_until(pilot, lambda: isinstance(app.screen, ChatScreen))
        back = await ask(pilot, "And after the rollback?")
        assert back.turn.adapter_version is None
    assert store.turn(after.turn.id).adapter_version == "v0002"


async def test_rollback_with_nothing_to_roll_back_is_a_warning(make_app, settings):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await wait_until(pilot, lambda: isinstance(app.screen, AdaptersScreen))
        await pilot.press("r")
        assert any("nothing to roll back" in str(n.message) for n in app._notifications)
        assert "no adapters yet" in str(app.screen.query_one("#adapters-active").render())


async def test_activating_a_rejected_version_asks_first_with_the_gate_reason(
    make_app, settings, tmp_path
):
    registry = AdapterRegistry(settings.paths.adapters)
    reason = "worse: support 0.6000 vs 0.8000 of base on the eval split (margin 0.05)"
    metadata = adapter_metadata(0.35, None, 40)
    metadata["decision"] = {"promote": False, "reason": reason}
    registry.register(fake_adapter(tmp_path / "candidate"), metadata)
    app = make_app(adapter_choice=registry.active_choice)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await wait_until(pilot, lambda: isinstance(app.screen, AdaptersScreen))
        screen = app.screen
        table = screen.query_one("#adapters-table", DataTable)
        await wait_until(pilot, lambda: table.row_count == 1)
        table.focus()

        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        question = str(app.screen.query_one(".dialog-title").render())
        assert "rejected v0001" in question and reason in question
        await pilot.press("n")
        await wait_until(pilot, lambda: app.screen is screen)
        assert registry.active() is None

        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_until(pilot, lambda: table.get_row_at(0)[0] == "●")
    assert registry.active() == "v0001"
    assert registry.show("v0001")["forced_promotions"][0]["rejection"] == reason
