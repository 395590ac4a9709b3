"""The knowledge screen on the real knowledge base (MiniLM, Chroma) in a temporary data dir."""

from __future__ import annotations

from pathlib import Path

from pilot_helpers import SIZE, wait_until
from textual.widgets import DataTable, Input, Static

from tui.screens.knowledge import KnowledgeScreen


def small_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "to-ingest"
    folder.mkdir()
    (folder / "warranty.md").write_text(
        "# Warranty\n\nThe Korvo hub has a two-year warranty. Keep the receipt.\n"
    )
    (folder / "pairing.txt").write_text(
        "Pairing: hold the button until the LED blinks blue, then open the app.\n"
    )
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <<< broken")
    return folder


async def test_ingest_a_folder_reports_the_bad_file_and_lists_sources_then_remove_one(
    make_app, tmp_path
):
    folder = small_folder(tmp_path)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, KnowledgeScreen))
        screen = app.screen
        path_box = screen.query_one("#ingest-path", Input)
        path_box.focus()
        path_box.value = str(folder)
        await pilot.press("enter")
        report = screen.query_one("#ingest-report", Static)
        await wait_until(pilot, lambda: report.display and not screen.ingesting, timeout=120)

        text = str(report.render())
        assert "3 files: 2 indexed" in text and "1 failed" in text
        assert "broken.pdf" in text
        table = screen.query_one("#knowledge-sources", DataTable)
        await wait_until(pilot, lambda: table.row_count == 2)
        assert screen.query_one("#ingest-stage").render().plain == "done"

        table.focus()
        table.move_cursor(row=0)
        removed = screen.sources[0].source
        await pilot.press("delete")
        await wait_until(pilot, lambda: app.screen.query("#confirm-dialog"))
        await pilot.press("y")
        await wait_until(pilot, lambda: table.row_count == 1, timeout=30)
        assert removed not in [s.source for s in screen.sources]


async def test_ingest_of_a_missing_path_is_refused_with_a_message(make_app, tmp_path):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, KnowledgeScreen))
        box = app.screen.query_one("#ingest-path", Input)
        box.focus()
        box.value = str(tmp_path / "nope")
        await pilot.press("enter")
        assert any("No such file" in str(n.message) for n in app._notifications)
        assert not app.screen.ingesting
