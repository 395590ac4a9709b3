"""Editing approved answers: in the Knowledge screen, and an approved answer before it is sent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, TextArea


@dataclass
class ApprovedEdit:
    question: str
    answer: str


class ApprovedEditDialog(ModalScreen[ApprovedEdit | None]):
    """An approved answer's question and text; returns both, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, approved_id: int, question: str, answer: str):
        super().__init__()
        self.approved_id, self.question, self.answer = approved_id, question, answer

    def compose(self) -> ComposeResult:
        with Vertical(id="approved-edit-dialog", classes="dialog"):
            yield Label(f"Edit approved answer #{self.approved_id}", classes="dialog-title")
            yield Label("Question it answers:")
            yield Input(self.question, id="approved-question")
            yield Label("Answer:")
            yield TextArea(self.answer, id="approved-answer", soft_wrap=True)
            with Horizontal(classes="dialog-buttons"):
                yield Label("Ctrl+S save · Esc cancel", classes="dialog-hint")
                yield Button("Save", variant="primary", id="approved-save")
                yield Button("Cancel", id="approved-cancel")

    def on_mount(self) -> None:
        self.query_one("#approved-answer", TextArea).focus()

    def action_save(self) -> None:
        question = self.query_one("#approved-question", Input).value.strip()
        answer = self.query_one("#approved-answer", TextArea).text.strip()
        if not question or not answer:
            self.notify("Neither the question nor the answer can be empty.", severity="warning")
            return
        self.dismiss(ApprovedEdit(question, answer))

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "approved-save":
            self.action_save()
        else:
            self.action_cancel()


@dataclass
class SentEdit:
    text: str
    update_approved: bool  # also change the approved answer it was served from


class SendEditDialog(ModalScreen[SentEdit | None]):
    """An approved answer, edited before it goes to the customer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, text: str, approved_id: int | None):
        super().__init__()
        self.text, self.approved_id = text, approved_id

    def compose(self) -> ComposeResult:
        with Vertical(id="send-edit-dialog", classes="dialog"):
            yield Label("Edit the answer before sending it", classes="dialog-title")
            yield TextArea(self.text, id="send-edit-text", soft_wrap=True)
            yield Checkbox(
                f"Also change approved answer #{self.approved_id} for later questions",
                id="send-edit-update",
                disabled=self.approved_id is None,
            )
            with Horizontal(classes="dialog-buttons"):
                yield Label("Ctrl+S save and copy · Esc cancel", classes="dialog-hint")
                yield Button("Save", variant="primary", id="send-edit-save")
                yield Button("Cancel", id="send-edit-cancel")

    def on_mount(self) -> None:
        self.query_one("#send-edit-text", TextArea).focus()

    def action_save(self) -> None:
        text = self.query_one("#send-edit-text", TextArea).text.strip()
        if not text:
            self.notify("The answer cannot be empty.", severity="warning")
            return
        update = self.query_one("#send-edit-update", Checkbox).value
        self.dismiss(SentEdit(text, update and self.approved_id is not None))

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "send-edit-save":
            self.action_save()
        else:
            self.action_cancel()
