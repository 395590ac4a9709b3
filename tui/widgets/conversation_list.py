"""The conversation list: a filter box over the conversations, newest first."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Label, ListItem, ListView

from assistant.store import Conversation


class ConversationList(Vertical):
    class Chosen(Message):
        def __init__(self, conversation_id: str):
            super().__init__()
            self.conversation_id = conversation_id

    class FilterChanged(Message):
        def __init__(self, text: str):
            super().__init__()
            self.text = text

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter conversations", id="conversation-filter")
        yield ListView(id="conversation-items")

    @property
    def filter_text(self) -> str:
        return self.query_one("#conversation-filter", Input).value.strip()

    async def show(self, conversations: list[Conversation], current_id: str | None) -> None:
        items = self.query_one("#conversation-items", ListView)
        await items.clear()
        await items.extend(_item(c, c.id == current_id) for c in conversations)
        for index, conversation in enumerate(conversations):
            if conversation.id == current_id:
                items.index = index

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.FilterChanged(event.value.strip()))

    def on_list_view_selected(self, event: ListView.Selected) -> None:
        event.stop()
        if event.item.name:
            self.post_message(self.Chosen(event.item.name))


def _item(conversation: Conversation, current: bool) -> ListItem:
    mark = "⚑ " if conversation.escalated_at else ""
    label = Label(f"{mark}{conversation.title}", markup=False, classes="conversation-title")
    item = ListItem(label, name=conversation.id, classes="-current" if current else "")
    item.tooltip = f"{conversation.turn_count // 2} exchanges · {conversation.updated_at[:16]}"
    return item
