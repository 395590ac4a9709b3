"""The knowledge base: what is indexed, ingest with live progress and per-file errors, removal."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import (
    Button,
    Checkbox,
    DataTable,
    Footer,
    Header,
    Input,
    Label,
    ProgressBar,
    Static,
)

from tui.screens.approved_dialogs import ApprovedEdit, ApprovedEditDialog
from tui.screens.dialogs import ConfirmDialog
from tui.services import describe_error, ground_engine, knowledge_base_for

STAGES = {"load": "reading files", "embed": "embedding chunks", "write": "writing the index"}


class KnowledgeScreen(Screen[None]):
    SUB_TITLE = "Knowledge base"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("delete", "remove", "Remove"),
        Binding("ctrl+l", "focus_path", "Path"),
        Binding("f6", "refresh", "Refresh"),
    ]

    class SourcesLoaded(Message):
        def __init__(self, sources: list[Any]):
            super().__init__()
            self.sources = sources

    class IngestProgress(Message):
        def __init__(self, stage: str, done: int, total: int, current: str | None):
            super().__init__()
            self.stage, self.done, self.total, self.current = stage, done, total, current

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, KnowledgeScreen.IngestProgress)

    class IngestDone(Message):
        def __init__(self, report: Any):
            super().__init__()
            self.report = report

    class Failed(Message):
        def __init__(self, what: str, error: str):
            super().__init__()
            self.what, self.error = what, error

    def __init__(self) -> None:
        super().__init__()
        self.sources: list[Any] = []
        self.approved: list[Any] = []
        self.ingesting = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="knowledge-body"):
            with Horizontal(id="ingest-row"):
                yield Input(placeholder="file or folder to ingest, then Enter", id="ingest-path")
                yield Checkbox("tickets", id="ingest-tickets")
                yield Button("Ingest", variant="primary", id="ingest-start")
            with Horizontal(id="ingest-progress-row"):
                yield Label("", id="ingest-stage")
                yield ProgressBar(id="ingest-progress", show_eta=False)
            yield Static("", markup=False, id="ingest-report")
            yield Label("Indexed sources", id="sources-heading")
            yield DataTable(id="knowledge-sources", cursor_type="row", zebra_stripes=True)
            yield Label("Approved answers", id="approved-heading")
            yield DataTable(id="approved-answers", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#knowledge-sources", DataTable)
        table.add_columns("chunks", "kind", "source", "title")
        approved = self.query_one("#approved-answers", DataTable)
        approved.add_columns("id", "question", "origin", "who", "when")
        self.query_one("#ingest-progress-row").display = False
        self.query_one("#ingest-report").display = False
        self.load_sources()
        self.load_approved()

    def on_screen_resume(self) -> None:
        if not self.ingesting:
            self.load_sources()
        self.load_approved()

    def knowledge_base(self) -> Any:
        app = self.app
        if getattr(app, "knowledge_base", None) is None:
            app.knowledge_base = knowledge_base_for(app.settings, app.engine)  # type: ignore[attr-defined]
        return app.knowledge_base  # type: ignore[attr-defined]

    # listing

    def action_refresh(self) -> None:
        self.load_sources()
        self.load_approved()

    @work(thread=True, exclusive=True, group="kb-list", exit_on_error=False)
    def load_sources(self) -> None:
        try:
            sources = self.knowledge_base().sources()
        except Exception as exc:
            self.post_message(self.Failed("list the knowledge base", describe_error(exc)))
            return
        self.post_message(self.SourcesLoaded(sources))

    def on_knowledge_screen_sources_loaded(self, event: SourcesLoaded) -> None:
        self.sources = event.sources
        table = self.query_one("#knowledge-sources", DataTable)
        table.clear()
        for info in self.sources:
            table.add_row(info.chunks, info.kind, _short(info.source), info.title)
        total = sum(info.chunks for info in self.sources)
        heading = f"Indexed sources: {len(self.sources)} files, {total} chunks"
        self.query_one("#sources-heading", Label).update(heading)

    def on_knowledge_screen_failed(self, event: Failed) -> None:
        self.ingesting = False
        self.notify(f"Could not {event.what}: {event.error}", severity="error", timeout=15)

    # ingest

    def action_focus_path(self) -> None:
        self.query_one("#ingest-path", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "ingest-path":
            self.start_ingest()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ingest-start":
            self.start_ingest()

    def start_ingest(self) -> None:
        raw = self.query_one("#ingest-path", Input).value.strip()
        if self.ingesting:
            self.notify("An ingest is already running.")
            return
        if not raw:
            self.notify("Type the path of a file or folder to ingest.", severity="warning")
            return
        path = Path(raw).expanduser()
        on_server = self.app.team is not None  # type: ignore[attr-defined]
        if not on_server and not path.exists():
            self.notify(f"No such file or folder: {path}", severity="error")
            return
        tickets = self.query_one("#ingest-tickets", Checkbox).value
        self.ingesting = True
        self.query_one("#ingest-progress-row").display = True
        starting = "the server is indexing…" if on_server else "starting (loading the embedder)…"
        self.query_one("#ingest-stage", Label).update(starting)
        self.query_one("#ingest-progress", ProgressBar).update(total=None, progress=0)
        report = self.query_one("#ingest-report", Static)
        report.update("")
        report.display = False
        self.ingest(path, tickets)

    @work(thread=True, exclusive=True, group="kb-ingest", exit_on_error=False)
    def ingest(self, path: Path, tickets: bool) -> None:
        def progress(event: Any) -> None:
            self.post_message(
                self.IngestProgress(event.stage, event.done, event.total, event.current)
            )

        try:
            knowledge_base = self.knowledge_base()
            report = knowledge_base.ingest([path], tickets=tickets, progress=progress)
            ground_engine(self.app.engine, knowledge_base)  # type: ignore[attr-defined]
        except Exception as exc:
            self.post_message(self.Failed(f"ingest {path}", describe_error(exc)))
            return
        self.post_message(self.IngestDone(report))

    def on_knowledge_screen_ingest_progress(self, event: IngestProgress) -> None:
        current = f" · {Path(event.current).name}" if event.current else ""
        label = f"{STAGES.get(event.stage, event.stage)} {event.done}/{event.total}{current}"
        self.query_one("#ingest-stage", Label).update(label)
        self.query_one("#ingest-progress", ProgressBar).update(
            total=max(event.total, 1), progress=event.done
        )

    def on_knowledge_screen_ingest_done(self, event: IngestDone) -> None:
        self.ingesting = False
        report = event.report
        bar = self.query_one("#ingest-progress", ProgressBar)
        bar.update(total=1, progress=1)
        self.query_one("#ingest-stage", Label).update("done")
        lines = [
            f"{report.files_seen} files: {report.files_indexed} indexed, "
            f"{report.files_unchanged} unchanged, {len(report.failed)} failed · "
            f"{report.chunks_added} chunks added, {report.chunks_replaced} replaced"
        ]
        lines += [f"✘ {_short(issue.path)}: {issue.reason}" for issue in report.failed]
        lines += [f"– skipped {_short(issue.path)}: {issue.reason}" for issue in report.skipped]
        lines += [f"! {_short(issue.path)}: {issue.reason}" for issue in report.warnings]
        widget = self.query_one("#ingest-report", Static)
        widget.update("\n".join(lines))
        widget.display = True
        widget.set_class(not report.ok, "-failed")
        if report.ok:
            self.notify("Ingest finished.")
        else:
            self.notify(
                f"{len(report.failed)} file(s) could not be indexed; the rest were. "
                "Fix or remove them and ingest again.",
                severity="warning",
                timeout=10,
            )
        self.load_sources()

    # removal

    def action_remove(self) -> None:
        if self.query_one("#approved-answers", DataTable).has_focus:
            self.remove_approved()
            return
        table = self.query_one("#knowledge-sources", DataTable)
        if not self.sources or table.cursor_row is None or table.cursor_row >= len(self.sources):
            self.notify("Highlight a source in the table first.", severity="warning")
            return
        info = self.sources[table.cursor_row]

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.remove_source(info.source)

        question = f"Remove {info.title} ({info.chunks} chunks) from the knowledge base?"
        self.app.push_screen(ConfirmDialog(question), confirmed)

    @work(thread=True, group="kb-remove", exit_on_error=False)
    def remove_source(self, source: str) -> None:
        try:
            removed = self.knowledge_base().remove(source)
        except Exception as exc:
            self.post_message(self.Failed(f"remove {source}", describe_error(exc)))
            return
        self.app.call_from_thread(self.notify, f"Removed {removed} chunks of {_short(source)}.")
        self.app.call_from_thread(self.load_sources)

    # approved answers

    def load_approved(self) -> None:
        try:
            self.approved = self.app.store.approved.entries()  # type: ignore[attr-defined]
        except Exception as exc:
            self.notify(f"Could not list approved answers: {describe_error(exc)}", severity="error")
            return
        table = self.query_one("#approved-answers", DataTable)
        table.clear()
        for entry in self.approved:
            how = "flagged good" if entry.origin == "good" else "correction"
            question = " ".join(entry.question.split())
            question = question if len(question) <= 60 else question[:57] + "..."
            table.add_row(entry.id, question, how, entry.created_by, entry.created_at[:10])
        heading = f"Approved answers: {len(self.approved)} · Enter edit · Delete remove"
        self.query_one("#approved-heading", Label).update(heading)

    def _highlighted_approved(self) -> Any | None:
        table = self.query_one("#approved-answers", DataTable)
        row = table.cursor_row
        if not self.approved or row is None or row >= len(self.approved):
            self.notify("Highlight an approved answer first.", severity="warning")
            return None
        return self.approved[row]

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id != "approved-answers":
            return
        entry = self._highlighted_approved()
        if entry is None:
            return

        def edited(change: ApprovedEdit | None) -> None:
            if change is None:
                return
            try:
                self.app.store.approved.update(  # type: ignore[attr-defined]
                    entry.id, question=change.question, answer=change.answer
                )
            except Exception as exc:
                self.notify(describe_error(exc), severity="error")
                return
            self.notify(f"Approved answer #{entry.id} saved.")
            self.load_approved()

        self.app.push_screen(ApprovedEditDialog(entry.id, entry.question, entry.answer), edited)

    def remove_approved(self) -> None:
        entry = self._highlighted_approved()
        if entry is None:
            return

        def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            try:
                self.app.store.approved.remove(entry.id)  # type: ignore[attr-defined]
            except Exception as exc:
                self.notify(describe_error(exc), severity="error")
                return
            self.notify(f"Approved answer #{entry.id} removed; its flag stays for training.")
            self.load_approved()

        question = f"Stop serving approved answer #{entry.id} ({entry.question[:50]})?"
        self.app.push_screen(ConfirmDialog(question), confirmed)


def _short(path: str) -> str:
    return path.rsplit("/", 1)[-1]
