"""Small modal dialogs: escalate with a note, confirm, read a source in full."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from assistant.store import SourceRef
from tui.widgets.sources_panel import source_heading


class EscalateDialog(ModalScreen[str | None]):
    """Returns the note (possibly empty), or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str):
        super().__init__()
        self.conversation_title = title

    def compose(self) -> ComposeResult:
        with Vertical(id="escalate-dialog", classes="dialog"):
            yield Label("Escalate this conversation", classes="dialog-title")
            yield Label(self.conversation_title, markup=False)
            yield Input(
                placeholder="note for the next tier (Enter to escalate)", id="escalate-note"
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Escalate", variant="warning", id="escalate-save")
                yield Button("Cancel", id="escalate-cancel")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "escalate-save":
            self.dismiss(self.query_one(Input).value.strip())
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmDialog(ModalScreen[bool]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str):
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog", classes="dialog"):
            yield Label(self.question, markup=False, classes="dialog-title")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Yes (y)", variant="error", id="confirm-yes")
                yield Button("No (n)", id="confirm-no")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")


class SourceDialog(ModalScreen[None]):
    """A cited chunk in full."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,enter,q", "close", "Close")]

    def __init__(self, source: SourceRef):
        super().__init__()
        self.source = source

    def compose(self) -> ComposeResult:
        with Vertical(id="source-dialog", classes="dialog"):
            yield Label(source_heading(self.source), markup=False, classes="dialog-title")
            yield Label(self.source.source, markup=False, classes="dim")
            with VerticalScroll():
                yield Static(self.source.text, markup=False)
            yield Label("Esc close", classes="dialog-hint")

    def action_close(self) -> None:
        self.dismiss(None)
