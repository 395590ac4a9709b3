"""The "flag bad" dialog: a reason and the answer, pre-filled, for the agent to correct."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, RadioButton, RadioSet, TextArea

from assistant.store import REASONS, Turn


@dataclass
class FlagResult:
    reason: str
    correction: str | None  # None when the agent left the answer as it was


class FlagDialog(ModalScreen[FlagResult | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        # Save is not a priority binding, so text typed just before it is in the editor;
        # clear is one, so text typed just after it is not cleared.
        Binding("ctrl+s", "save", "Save flag"),
        Binding("ctrl+l", "clear", "Clear the editor", priority=True),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, turn: Turn):
        super().__init__()
        self.turn = turn

    def compose(self) -> ComposeResult:
        with Vertical(id="flag-dialog", classes="dialog"):
            yield Label(f"Flag answer #{self.turn.id} as bad", classes="dialog-title")
            with Horizontal(id="flag-body"):
                with RadioSet(id="flag-reason"):
                    for index, reason in enumerate(REASONS):
                        yield RadioButton(reason, value=index == 0)
                with Vertical(id="flag-correction-box"):
                    yield Label("The answer it should have given (edit it):")
                    yield TextArea(self.turn.content, id="flag-correction", soft_wrap=True)
            with Horizontal(classes="dialog-buttons"):
                yield Label("Ctrl+S save · Ctrl+L clear · Esc cancel", classes="dialog-hint")
                yield Button("Save", variant="error", id="flag-save")
                yield Button("Cancel", id="flag-cancel")

    def on_mount(self) -> None:
        self.query_one("#flag-correction", TextArea).focus()

    @property
    def reason(self) -> str:
        pressed = self.query_one("#flag-reason", RadioSet).pressed_index
        return REASONS[pressed if pressed >= 0 else len(REASONS) - 1]

    def action_save(self) -> None:
        text = self.query_one("#flag-correction", TextArea).text.strip()
        unchanged = not text or text == self.turn.content.strip()
        self.dismiss(FlagResult(self.reason, None if unchanged else text))

    def action_clear(self) -> None:
        editor = self.query_one("#flag-correction", TextArea)
        editor.clear()
        editor.focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "flag-save":
            self.action_save()
        else:
            self.action_cancel()
