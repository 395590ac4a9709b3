"""Adapter versions: date, data size, metrics, parent; activate one or roll back.

Activating a version the promotion gate rejected asks first, with the gate's reason.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label, Static

from tui.formatting import number
from tui.screens.dialogs import ConfirmDialog
from tui.services import describe_error


class AdaptersScreen(Screen[None]):
    SUB_TITLE = "Adapters"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "activate", "Activate"),
        Binding("r", "rollback", "Roll back"),
        Binding("f6", "refresh", "Refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.versions: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="adapters-body"):
            yield Label("", id="adapters-active")
            yield DataTable(id="adapters-table", cursor_type="row", zebra_stripes=True)
            yield Static("", markup=False, id="adapter-detail")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#adapters-table", DataTable)
        table.add_columns("", "version", "created", "train rows", "rouge_l", "token_f1", "parent")
        self.action_refresh()

    def on_screen_resume(self) -> None:
        self.action_refresh()

    @property
    def registry(self) -> Any:
        return self.app.registry  # type: ignore[attr-defined]

    def action_refresh(self) -> None:
        if self.registry is None:
            self.query_one("#adapters-active", Label).update(
                "The adapter registry is not available in this installation."
            )
            return
        try:
            self.versions = self.registry.list()
            active = self.registry.active()
        except Exception as exc:
            self.notify(describe_error(exc), severity="error")
            return
        table = self.query_one("#adapters-table", DataTable)
        row = table.cursor_row
        table.clear()
        for info in self.versions:
            table.add_row(*_row(info), key=info["version"])
        if self.versions:
            table.move_cursor(row=min(row or 0, len(self.versions) - 1))
        heading = f"In service: {active or 'base model'}"
        if not self.versions:
            heading += " · no adapters yet: start a round on the Training screen (F4)"
        self.query_one("#adapters-active", Label).update(heading)
        self.app.adapter_label = active or "base"  # type: ignore[attr-defined]
        self._show_detail()

    def on_data_table_row_highlighted(self, _: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def _highlighted(self) -> dict[str, Any] | None:
        table = self.query_one("#adapters-table", DataTable)
        if not self.versions or table.cursor_row is None:
            return None
        return self.versions[min(table.cursor_row, len(self.versions) - 1)]

    def _show_detail(self) -> None:
        info = self._highlighted()
        text = ""
        if info is not None:
            decision = info.get("decision", {})
            compared = info.get("compared_with", {})
            training = info.get("training", {})
            text = (
                f"{info['version']}: {decision.get('reason', 'no decision recorded')}\n"
                f"compared with {compared.get('adapter', '–')} · trained "
                f"{training.get('global_step', '–')} steps ({training.get('method', '–')}), "
                f"loss {_loss(training.get('first_loss'))} → {_loss(training.get('last_loss'))} · "
                f"run {info.get('run_id', '–')}"
            )
        self.query_one("#adapter-detail", Static).update(text)

    def action_activate(self) -> None:
        info = self._highlighted()
        if info is None or self.registry is None:
            self.notify("No adapter to activate yet.", severity="warning")
            return
        version = info["version"]
        try:
            rejection = self.registry.rejection(version)
        except Exception as exc:
            self.notify(describe_error(exc), severity="error")
            return
        if rejection is None:
            self._activate(version, force=False)
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._activate(version, force=True)

        question = (
            f"The promotion gate rejected {version}: {rejection}\n\nPut it in service anyway?"
        )
        self.app.push_screen(ConfirmDialog(question), confirmed)

    def _activate(self, version: str, force: bool) -> None:
        try:
            version = self.registry.promote(version, force=force)
        except Exception as exc:
            self.notify(describe_error(exc), severity="error")
            return
        self.notify(f"{version} is in service: the next answer uses it.")
        self.action_refresh()

    def action_rollback(self) -> None:
        if self.registry is None:
            return
        try:
            version = self.registry.rollback()
        except Exception as exc:
            self.notify(describe_error(exc), severity="warning")
            return
        self.notify(f"Rolled back: {version or 'the base model'} is in service again.")
        self.action_refresh()


def _row(info: dict[str, Any]) -> tuple[str, ...]:
    metrics = info.get("metrics", {})
    sizes = info.get("dataset", {}).get("sizes", {})
    return (
        "●" if info.get("active") else "",
        info["version"],
        str(info.get("created_at", ""))[:16].replace("T", " "),
        str(sizes.get("train_sft", "–")),
        number(metrics.get("rouge_l")),
        number(metrics.get("token_f1")),
        info.get("parent") or "base",
    )


def _loss(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) else "–"
