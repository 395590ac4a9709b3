"""The chat: conversations, the streamed answers with their sources, and the agent's flags."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, TextArea

from assistant.engine import AnswerResult, AnswerStream
from assistant.errors import DeskloopError
from assistant.store import SourceRef, Turn
from tui.formatting import approved_origin, cited_sources, timing_label
from tui.screens.approved_dialogs import SendEditDialog, SentEdit
from tui.screens.dialogs import EscalateDialog, SourceDialog
from tui.screens.flag import FlagDialog, FlagResult
from tui.services import describe_error
from tui.widgets.conversation_list import ConversationList
from tui.widgets.messages import AnswerView, QuestionView
from tui.widgets.sources_panel import SourcesPanel
from tui.widgets.status_bar import StatusBar

STOPPED_BEFORE_START = "stopped before the answer began, so nothing was recorded"


class ChatScreen(Screen[None]):
    SUB_TITLE = "Chat"
    BINDINGS: ClassVar[list[BindingType]] = [
        # Not priority bindings: keys typed just before them reach the message box first.
        Binding("ctrl+s", "send", "Send"),
        Binding("ctrl+j,ctrl+enter", "send", "Send", show=False),
        Binding("escape", "cancel", "Stop"),
        Binding("ctrl+n", "new_conversation", "New"),
        Binding("ctrl+g", "flag_good", "Good"),
        Binding("ctrl+b", "flag_bad", "Bad"),
        Binding("ctrl+o", "copy_answer", "Copy"),
        Binding("ctrl+t", "edit_answer", "Edit approved", show=False),
        Binding("ctrl+r", "escalate", "Escalate"),
        Binding("ctrl+f", "filter", "Filter", show=False),
        Binding("ctrl+up,alt+up", "select_answer(-1)", "Previous answer", show=False),
        Binding("ctrl+down,alt+down", "select_answer(1)", "Next answer", show=False),
    ]

    class AnswerStarted(Message):
        def __init__(self, sources: list[SourceRef]):
            super().__init__()
            self.sources = sources

    class AnswerChunk(Message):
        def __init__(self, text: str):
            super().__init__()
            self.text = text

    class AnswerFinished(Message):
        def __init__(self, result: AnswerResult):
            super().__init__()
            self.result = result

    class AnswerFailed(Message):
        def __init__(self, error: str, stopped: bool = False):
            super().__init__()
            self.error = error
            self.stopped = stopped  # Esc before the answer began: nothing went wrong

    def __init__(self) -> None:
        super().__init__()
        self.conversation_id: str | None = None
        self.stream: AnswerStream | None = None
        self.pending: AnswerView | None = None
        self.selected: AnswerView | None = None
        self.send_when_ready = False  # Ctrl+S while the model loads: send once it is ready

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="chat-body"):
            yield ConversationList(id="conversations")
            with Vertical(id="chat-main"):
                yield VerticalScroll(id="messages")
                yield SourcesPanel(id="sources")
                yield TextArea(id="question", soft_wrap=True, tab_behavior="focus")
        yield StatusBar(markup=False, id="status-bar")
        yield Footer()

    async def on_mount(self) -> None:
        self.app.chat_screen = self  # type: ignore[attr-defined]
        question = self.query_one("#question", TextArea)
        question.border_title = "Customer message · Ctrl+S send"
        # open while the model loads, so the customer's message can be pasted and queued
        question.disabled = self.app.engine_failed  # type: ignore[attr-defined]
        self.watch(self.app, "engine_ready", self._engine_ready_changed, init=False)
        self.watch(self.app, "engine_failed", self._engine_failed_changed, init=False)
        self.query_one("#messages", VerticalScroll).anchor()
        self.query_one("#sources", SourcesPanel).show([])
        await self.reload_conversations()
        question.focus()

    def on_resize(self) -> None:
        self.set_class(self.size.width >= 120, "-wide")

    def _engine_ready_changed(self, ready: bool) -> None:
        if ready and self.send_when_ready:
            self.send_when_ready = False
            self.call_later(self.action_send)

    def _engine_failed_changed(self, failed: bool) -> None:
        self.query_one("#question", TextArea).disabled = failed
        self.send_when_ready = False

    @property
    def store(self):
        return self.app.store  # type: ignore[attr-defined]

    # conversations

    async def reload_conversations(self) -> None:
        panel = self.query_one(ConversationList)
        try:
            conversations = self.store.conversations(panel.filter_text)
        except Exception as exc:
            self.notify(describe_error(exc), severity="error")
            return
        await panel.show(conversations, self.conversation_id)

    async def on_conversation_list_filter_changed(self, _: ConversationList.FilterChanged) -> None:
        await self.reload_conversations()

    async def on_conversation_list_chosen(self, event: ConversationList.Chosen) -> None:
        if self.generating:
            self.notify("An answer is still streaming: wait, or press Esc to stop it.")
            return
        await self.open_conversation(event.conversation_id)

    async def open_conversation(self, conversation_id: str | None) -> None:
        turns: list[Turn] = []
        if conversation_id is not None:
            try:
                turns = self.store.turns(conversation_id)
            except Exception as exc:
                self.notify(describe_error(exc), severity="error")
                return
        self.conversation_id = conversation_id
        messages = self.query_one("#messages", VerticalScroll)
        await messages.remove_children()
        views = [
            AnswerView(turn) if turn.role == "assistant" else QuestionView(turn.content)
            for turn in turns
        ]
        await messages.mount_all(views)
        answers = [v for v in views if isinstance(v, AnswerView)]
        for answer in answers:
            self._mark_if_approved(answer)
        self.select(answers[-1] if answers else None)
        messages.scroll_end(animate=False)
        messages.anchor()

    async def action_new_conversation(self) -> None:
        if self.generating:
            self.notify("An answer is still streaming: wait, or press Esc to stop it.")
            return
        await self.open_conversation(None)
        await self.reload_conversations()
        self.query_one("#question", TextArea).focus()
        self.notify("New conversation: paste or type the customer's message.")

    def action_filter(self) -> None:
        self.query_one("#conversation-filter").focus()

    # asking

    @property
    def generating(self) -> bool:
        return self.stream is not None

    async def action_send(self) -> None:
        question_box = self.query_one("#question", TextArea)
        question = question_box.text.strip()
        engine = self.app.engine  # type: ignore[attr-defined]
        if not question:
            self.notify("Type or paste the customer's message first.", severity="warning")
            return
        if engine is None:
            self.send_when_ready = True
            self.notify("The model is still loading: this message goes out once it is ready.")
            return
        if self.generating:
            self.notify("An answer is still streaming: wait, or press Esc to stop it.")
            return
        try:
            stream = engine.ask(question, self.conversation_id)
        except Exception as exc:
            self.notify(describe_error(exc), severity="error")
            return
        self.stream = stream
        question_box.clear()
        messages = self.query_one("#messages", VerticalScroll)
        self.pending = AnswerView()
        await messages.mount_all([QuestionView(question), self.pending])
        messages.anchor()
        self.select(self.pending)
        self.app.engine_status = "answering…"  # type: ignore[attr-defined]
        self.generate(stream)

    @work(thread=True, group="answer", exit_on_error=False)
    def generate(self, stream: AnswerStream) -> None:
        """Runs in a thread: iterating the stream retrieves, then generates token by token."""
        try:
            started = False
            for chunk in stream:
                if not started:
                    self.post_message(self.AnswerStarted(list(stream.sources)))
                    started = True
                self.post_message(self.AnswerChunk(chunk))
            if stream.result is None and stream.cancelled:
                self.post_message(self.AnswerFailed(STOPPED_BEFORE_START, stopped=True))
                return
            if stream.result is None:
                raise RuntimeError("the answer ended without being recorded")
            self.post_message(self.AnswerFinished(stream.result))
        except Exception as exc:
            self.post_message(self.AnswerFailed(describe_error(exc)))

    def on_chat_screen_answer_started(self, event: AnswerStarted) -> None:
        if self.pending is not None:
            self.pending.live_sources = event.sources
            if self.selected is self.pending:
                self.query_one("#sources", SourcesPanel).show(event.sources)

    async def on_chat_screen_answer_chunk(self, event: AnswerChunk) -> None:
        if self.pending is not None:
            await self.pending.append(event.text)

    async def on_chat_screen_answer_finished(self, event: AnswerFinished) -> None:
        result = event.result
        view, self.pending, self.stream = self.pending, None, None
        self.conversation_id = result.conversation_id
        self.app.engine_status = "ready"  # type: ignore[attr-defined]
        self.app.last_answer_label = timing_label(result.timings)  # type: ignore[attr-defined]
        self.app.adapter_label = result.adapter or "base"  # type: ignore[attr-defined]
        if view is not None:
            try:
                await view.finish(self.store.turn(result.turn_id))
                self._mark_if_approved(view)
            except Exception as exc:
                self.notify(describe_error(exc), severity="error")
            if self.selected is view:
                self._show_sources(view)
        if result.status == "cancelled":
            self.notify("Stopped. The partial answer is kept and marked cancelled.")
        await self.reload_conversations()

    async def on_chat_screen_answer_failed(self, event: AnswerFailed) -> None:
        view, self.pending, self.stream = self.pending, None, None
        self.app.engine_status = "ready"  # type: ignore[attr-defined]
        if view is not None:
            await view.fail(event.error)
        if event.stopped:
            self.notify(f"Stopped: {event.error}.")
            return
        check = (
            "ask an admin to look at the server's log"
            if self.app.team is not None  # type: ignore[attr-defined]
            else "check 'deskloop model info'"
        )
        self.notify(
            f"{event.error}\nTry again; if it keeps failing, {check}.",
            title="The answer failed",
            severity="error",
            timeout=15,
        )

    def cancel_generation(self) -> bool:
        if self.stream is None:
            return False
        self.stream.cancel()
        return True

    def action_cancel(self) -> None:
        if self.send_when_ready:
            self.send_when_ready = False
            self.notify("Held: the message stays in the box; Ctrl+S sends it.")
        elif self.cancel_generation():
            self.app.engine_status = "stopping…"  # type: ignore[attr-defined]

    # the selected answer and its sources

    def select(self, view: AnswerView | None) -> None:
        if self.selected is not None:
            self.selected.remove_class("-selected")
        self.selected = view
        if view is not None:
            view.add_class("-selected")
        self._show_sources(view)

    def _show_sources(self, view: AnswerView | None) -> None:
        """The answer's sources, those it cites marked (once it is recorded)."""
        turn = view.turn if view is not None else None
        cited = cited_sources(turn) if turn is not None and turn.grounding else None
        self.query_one("#sources", SourcesPanel).show(view.sources if view else [], cited)

    def on_answer_view_selected(self, event: AnswerView.Selected) -> None:
        self.select(event.view)

    def action_select_answer(self, step: int) -> None:
        answers = list(self.query(AnswerView))
        if not answers:
            return
        index = answers.index(self.selected) if self.selected in answers else len(answers)
        target = answers[max(0, min(len(answers) - 1, index + step))]
        self.select(target)
        target.scroll_visible(animate=False)

    def on_sources_panel_opened(self, event: SourcesPanel.Opened) -> None:
        self.app.push_screen(SourceDialog(event.source))

    # feedback

    def _answer_to_flag(self) -> AnswerView | None:
        view = self.selected
        if view is None:
            self.notify("No answer to act on yet.", severity="warning")
            return None
        if view.turn is None:
            self.notify("Wait for the answer to finish (or press Esc) before flagging it.")
            return None
        return view

    def action_flag_good(self) -> None:
        view = self._answer_to_flag()
        if view is not None:
            self._flag(view, "good", None, None)

    def action_flag_bad(self) -> None:
        view = self._answer_to_flag()
        if view is None or view.turn is None:
            return

        def flagged(result: FlagResult | None) -> None:
            if result is not None:
                self._flag(view, "bad", result.reason, result.correction)

        self.app.push_screen(FlagDialog(view.turn), flagged)

    def _flag(
        self, view: AnswerView, rating: str, reason: str | None, correction: str | None
    ) -> None:
        assert view.turn is not None
        try:
            turn = self.store.flag(view.turn.id, rating, reason, correction)
        except Exception as exc:
            self.notify(describe_error(exc), severity="error")
            return
        view.show_turn(turn)
        self._mark_if_approved(view)
        view.scroll_visible(animate=False)
        detail = " with a correction" if turn.correction else ""
        self.notify(f"Answer #{turn.id} flagged {rating}{detail}.")

    # approved answers

    def _mark_if_approved(self, view: AnswerView) -> None:
        turn = view.turn
        if turn is None or turn.status != "approved":
            return
        try:
            entry = self.store.approved.get(turn.approved_id) if turn.approved_id else None
        except DeskloopError:
            entry = None
        view.mark_approved(approved_origin(entry, turn.approved_id))

    def action_edit_answer(self) -> None:
        view = self._answer_to_flag()
        if view is None or view.turn is None:
            return
        turn = view.turn
        if turn.status != "approved":
            self.notify(
                "Ctrl+T edits an approved answer; correct a generated one with Ctrl+B.",
                severity="warning",
            )
            return

        async def edited(change: SentEdit | None) -> None:
            if change is None:
                return
            try:
                if change.update_approved and turn.approved_id is not None:
                    self.store.approved.update(turn.approved_id, answer=change.text)
                updated = self.store.edit_answer(turn.id, change.text)
            except Exception as exc:
                self.notify(describe_error(exc), severity="error")
                return
            await view.finish(updated)
            self._mark_if_approved(view)
            self.app.copy_to_clipboard(updated.content)
            also = (
                f"; approved answer #{turn.approved_id} changed too"
                if change.update_approved
                else ""
            )
            self.notify(f"Edited answer recorded and copied to the clipboard{also}.")

        self.app.push_screen(SendEditDialog(turn.content, turn.approved_id), edited)

    def action_copy_answer(self) -> None:
        view = self.selected
        if view is None or not view.text:
            self.notify("No answer to copy yet.", severity="warning")
            return
        self.app.copy_to_clipboard(view.text)
        self.notify("Answer copied to the clipboard.")

    def action_escalate(self) -> None:
        if self.conversation_id is None:
            self.notify("Nothing to escalate: ask something first.", severity="warning")
            return
        conversation_id = self.conversation_id
        try:
            title = self.store.conversation(conversation_id).title
        except Exception as exc:
            self.notify(describe_error(exc), severity="error")
            return

        async def escalated(note: str | None) -> None:
            if note is None:
                return
            try:
                self.store.escalate(conversation_id, note)
            except Exception as exc:
                self.notify(describe_error(exc), severity="error")
                return
            self.notify("Conversation escalated ⚑", severity="warning")
            await self.reload_conversations()

        self.app.push_screen(EscalateDialog(title), escalated)
