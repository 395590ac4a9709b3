"""Every key, on one screen."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Markdown

HELP = """\
| key | chat |
|---|---|
| Ctrl+S (or Ctrl+J, Ctrl+Enter) | send the customer's message (waits for the model to load) |
| Esc | stop the answer being written (the partial answer is kept, marked cancelled) |
| Ctrl+N | new conversation |
| Ctrl+F | filter conversations by text; Enter on one opens it |
| Ctrl+G | flag the selected answer good |
| Ctrl+B | flag it bad: pick a reason, correct the answer (Ctrl+L clears it), Ctrl+S saves |
| Ctrl+O | copy the selected answer |
| Ctrl+T | edit an approved answer before sending (ticked: the approved one too); copies it |
| Ctrl+R | escalate the conversation (with a note) |
| Tab / click, Alt+↑ / Alt+↓ | select an answer; its sources show below, Enter on one reads it |

| key | anywhere |
|---|---|
| F1 | this help |
| F2 / F3 / F4 / F5 | chat / knowledge base / training / adapters |
| Ctrl+P | command palette (themes, screenshots) |
| Ctrl+Q | quit (a training round keeps running) |

| key | knowledge, training, adapters |
|---|---|
| Ctrl+L, path, Enter | ingest that file or folder (tick *tickets* for ticket exports) |
| Delete | remove the highlighted source or approved answer (asks first) |
| Enter on an approved answer | edit its question and answer |
| F6 | reload the list (knowledge base, adapters) |
| Ctrl+T | start a training round (method and steps as set) |
| A / R | activate the highlighted adapter / roll back to the previous one |
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,f1,q", "close", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog", classes="dialog"):
            yield Label("deskloop keys", classes="dialog-title")
            with VerticalScroll():
                yield Markdown(HELP)
            yield Label("Esc close", classes="dialog-hint")

    def action_close(self) -> None:
        self.dismiss(None)
