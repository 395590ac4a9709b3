"""The numbered citations of the selected answer; highlighting one shows its chunk text."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from assistant.store import SourceRef


def source_line(source: SourceRef, cited: bool | None = None) -> str:
    """'✓ [1] Title · file · score', ✓ when the answer cites it, blank when only given."""
    title = source.title or source.source
    score = f" · score {source.score:.3f}" if source.score is not None else ""
    mark = "" if cited is None else ("✓ " if cited else "  ")
    return f"{mark}[{source.n}] {title} · {_short(source.source)}{score}"


def source_heading(source: SourceRef) -> str:
    """The source's line plus the section the chunk comes from."""
    section = f"\n{source.section}" if source.section else ""
    return f"{source_line(source)}{section}"


def _short(path: str) -> str:
    return path.rsplit("/", 1)[-1]


class SourcesPanel(Vertical):
    class Opened(Message):
        """The agent chose a source to read in full."""

        def __init__(self, source: SourceRef):
            super().__init__()
            self.source = source

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.sources: list[SourceRef] = []

    def compose(self) -> ComposeResult:
        yield Label("Sources", id="sources-title")
        yield OptionList(id="sources-list")
        with VerticalScroll(id="source-text-scroll"):
            yield Static("", markup=False, id="source-text")

    def show(self, sources: list[SourceRef], cited: set[int] | None = None) -> None:
        """List ``sources``; with ``cited`` (the numbers the answer cites), mark which are."""
        self.sources = list(sources)
        options = self.query_one("#sources-list", OptionList)
        options.clear_options()
        options.add_options(
            [
                Option(
                    Text(
                        source_line(s, None if cited is None else s.n in cited),
                        no_wrap=True,
                        overflow="ellipsis",
                    )
                )
                for s in self.sources
            ]
        )
        title = f"Sources ({len(self.sources)})" if self.sources else "Sources: none"
        if self.sources and cited is not None:
            title = f"Sources: {len(cited)} cited (✓) of {len(self.sources)} given"
        self.query_one("#sources-title", Label).update(title)
        self._show_text(self.sources[0] if self.sources else None)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self._show_text(self._at(event.option_index))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        source = self._at(event.option_index)
        if source is not None:
            self.post_message(self.Opened(source))

    def _at(self, index: int | None) -> SourceRef | None:
        if index is None or not 0 <= index < len(self.sources):
            return None
        return self.sources[index]

    def _show_text(self, source: SourceRef | None) -> None:
        text = f"{source_heading(source)}\n\n{source.text}" if source else ""
        self.query_one("#source-text", Static).update(text)
