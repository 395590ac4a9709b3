"""One question or answer in the message pane."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Label, Markdown, Static
from textual.widgets.markdown import MarkdownStream

from assistant.store import SourceRef, Turn
from tui.formatting import answer_header, answer_markdown


class QuestionView(Vertical):
    """The customer's message, shown as typed (no markup)."""

    def __init__(self, text: str):
        super().__init__(classes="message question")
        self.text = text

    def compose(self) -> ComposeResult:
        yield Label("customer", classes="message-header")
        yield Static(self.text, markup=False, classes="message-body")


class AnswerView(Vertical, can_focus=True):
    """An answer: streamed in as Markdown, then tied to its stored turn (flags, sources)."""

    class Selected(Message):
        def __init__(self, view: AnswerView):
            super().__init__()
            self.view = view

    def __init__(self, turn: Turn | None = None):
        super().__init__(classes="message answer")
        self.turn = turn
        self.live_sources: list[SourceRef] = []
        self._stream: MarkdownStream | None = None
        self._streamed: list[str] = []

    def compose(self) -> ComposeResult:
        yield Label(answer_header(self.turn, streaming=self.turn is None), classes="message-header")
        yield Markdown(answer_markdown(self.turn) if self.turn else "", classes="message-body")
        yield Static("", markup=False, classes="correction")

    def on_mount(self) -> None:
        self._show_correction()

    @property
    def sources(self) -> list[SourceRef]:
        return self.turn.sources if self.turn is not None else self.live_sources

    @property
    def text(self) -> str:
        return self.turn.content if self.turn is not None else "".join(self._streamed)

    @property
    def streaming(self) -> bool:
        return self.turn is None

    async def append(self, chunk: str) -> None:
        if self._stream is None:
            self._stream = Markdown.get_stream(self.query_one(Markdown))
        self._streamed.append(chunk)
        await self._stream.write(chunk)

    async def finish(self, turn: Turn) -> None:
        """The answer is recorded: show it as stored, with its status."""
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
        self.turn = turn
        await self.query_one(Markdown).update(answer_markdown(turn))
        self.show_turn(turn)

    async def fail(self, message: str) -> None:
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
        self.query_one(".message-header", Label).update(f"deskloop · failed: {message}")
        self.add_class("-failed")

    def show_turn(self, turn: Turn) -> None:
        """Refresh the header and correction after a flag."""
        self.turn = turn
        self.query_one(".message-header", Label).update(answer_header(turn))
        self.set_class(turn.rating == "good", "-good")
        self.set_class(turn.rating == "bad", "-bad")
        self.set_class(turn.status == "cancelled", "-cancelled")
        self._show_correction()

    def _show_correction(self) -> None:
        correction = self.turn.correction if self.turn is not None else None
        widget = self.query_one(".correction", Static)
        widget.update(f"correction: {correction}" if correction else "")
        widget.display = bool(correction)

    def mark_approved(self, origin: str) -> None:
        """Served from an approved answer: the header says so, and where it came from."""
        self.add_class("-approved")
        self.query_one(".message-header", Label).update(f"{answer_header(self.turn)} · {origin}")

    def on_focus(self) -> None:
        self.post_message(self.Selected(self))

    def on_click(self) -> None:
        self.focus()
