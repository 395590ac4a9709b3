"""Chat on the command line: one streamed answer, an interactive loop, and the main job."""

from __future__ import annotations

from rich.markup import escape

from assistant.cli_output import err, out, status, typed_questions
from assistant.engine import AnswerResult, ChatEngine
from assistant.settings import Settings


def load_engine(settings: Settings, adapter: str | None = None) -> ChatEngine:
    from assistant.app import open_engine

    with status("Starting deskloop") as update:
        engine = open_engine(settings, update, adapter_choice=_adapter_choice(settings, adapter))
    if engine.retriever is None:
        err.print(
            "[yellow]The knowledge base is empty, so answers are not grounded:[/] "
            "add manuals and tickets with 'deskloop ingest PATH'."
        )
    return engine


def _adapter_choice(settings: Settings, adapter: str | None):
    from assistant.app import fixed_adapter

    if adapter in (None, "active"):
        try:
            from tuning.registry import AdapterRegistry
        except ImportError:
            return None
        return AdapterRegistry.for_settings(settings).active_choice
    if adapter == "base":
        return fixed_adapter(None, None)
    from tuning.registry import AdapterRegistry

    registry = AdapterRegistry.for_settings(settings)
    return fixed_adapter(adapter, registry.path_of(adapter))


def answer_once(
    engine: ChatEngine, question: str, conversation_id: str | None, stream_to_terminal: bool
) -> AnswerResult:
    stream = engine.ask(question, conversation_id)
    try:
        for chunk in stream:
            if stream_to_terminal:
                out.print(chunk, end="", markup=False)
    except KeyboardInterrupt:
        stream.cancel()
        for _ in stream:  # let generation stop and the partial answer be recorded
            pass
    result = stream.result
    if stream_to_terminal:
        out.print()
        _print_footer(result)
    return result


def _print_footer(result: AnswerResult) -> None:
    if result.approved is not None:
        origin = result.approved
        where = f" in conversation {origin.conversation_id}" if origin.conversation_id else ""
        err.print(
            f"[dim]approved answer {origin.id}, approved by {origin.created_by} on "
            f"{origin.created_at[:10]}{where} (similarity {origin.similarity:.2f})[/]"
        )
    grounding = result.grounding or {}
    cited = set(grounding.get("cited") or [])
    for source in result.sources:
        mark = "cited" if source.n in cited else "given"
        err.print(f"[dim]  [{source.n}] {mark}: {source.title} ({source.source}) {source.score}[/]")
    for sentence in grounding.get("sentences") or []:
        if not sentence.get("supported", True):
            err.print(f"[yellow]  not in the sources:[/] {escape(sentence['text'])}")
    if grounding.get("declined"):
        err.print(f"[dim]  declined: {grounding['declined'].get('reason')}[/]")
    timings = result.timings
    speed = f", {timings['tokens_per_s']} tokens/s" if timings.get("tokens_per_s") else ""
    err.print(
        f"[dim]turn {result.turn_id} · conversation {result.conversation_id} · "
        f"{result.adapter or 'base'} · {timings['total_s']} s{speed}"
        f"{' · cancelled' if result.status == 'cancelled' else ''}[/]"
    )


def interactive_chat(engine: ChatEngine, conversation_id: str | None = None) -> None:
    for question in typed_questions():
        result = answer_once(engine, question, conversation_id, stream_to_terminal=True)
        conversation_id = result.conversation_id


def ingest_shipped_corpora_if_empty(settings: Settings) -> None:
    """On first run, index the sample knowledge base so the chat answers from something."""
    from assistant.app import sample_batches, samples_to_index
    from assistant.cli_knowledge import print_ingest_summary, run_ingest

    found = samples_to_index(settings)
    if found is None:
        return
    knowledge_base, corpora = found
    err.print(f"First run: indexing the sample knowledge base in {corpora}")
    for folder, options in sample_batches(corpora):
        print_ingest_summary(run_ingest(knowledge_base, [folder], **options))


def run_main_job(settings: Settings) -> None:
    """Bare `deskloop`: the chat app (the terminal UI when it is installed); with
    DESKLOOP_SERVER and DESKLOOP_TOKEN set, on the team's deskloop server."""
    from assistant.client import from_env

    server = from_env()
    if server is not None:
        run_team_job(settings, server)
        return
    try:
        from tui.app import run_app
    except ImportError:
        ingest_shipped_corpora_if_empty(settings)
        interactive_chat(load_engine(settings))
        return
    run_app(settings)  # the app indexes the samples itself, its screen up meanwhile


def run_team_job(settings: Settings, server) -> None:
    """The chat app as a client of `deskloop serve`; a server that cannot be reached or a
    refused token fail here, as one line, before the app starts."""
    from tui.remote_services import check_reachable

    check_reachable(server)
    try:
        from tui.app import run_app
    except ImportError:
        from assistant.cli_remote import chat

        chat(server, None)
        return
    run_app(settings, server)
