"""How the app gets its engine, store, knowledge base and adapter registry (swappable in tests)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from assistant.engine import AdapterChoice, ChatEngine
from assistant.settings import Settings

Progress = Callable[[str], None]
EngineFactory = Callable[[Settings, Progress], ChatEngine]


def active_adapter_choice(settings: Settings) -> AdapterChoice | None:
    """Serve with whatever the registry says is active, re-checked before every answer."""
    registry = open_registry(settings)
    return registry.active_choice if registry is not None else None


def default_engine_factory(settings: Settings, progress: Progress) -> ChatEngine:
    from assistant.app import open_engine

    index_samples_on_first_run(settings, progress)
    return open_engine(settings, progress, adapter_choice=active_adapter_choice(settings))


def index_samples_on_first_run(settings: Settings, progress: Progress) -> None:
    """Index the sample knowledge base into an empty one, its progress in the status bar."""
    from assistant.app import sample_batches, samples_to_index
    from assistant.cli_knowledge import STAGE_LABELS

    found = samples_to_index(settings)
    if found is None:
        return
    knowledge_base, corpora = found

    def on_event(event) -> None:
        stage = STAGE_LABELS.get(event.stage, event.stage).lower()
        progress(
            f"First run: indexing the sample knowledge base, {stage} {event.done}/{event.total}"
        )

    for folder, options in sample_batches(corpora):
        knowledge_base.ingest([folder], progress=on_event, **options)


def open_registry(settings: Settings) -> Any | None:
    """The adapter registry, or None while the tuning package is not installed."""
    try:
        from tuning.registry import AdapterRegistry
    except ImportError:
        return None
    return AdapterRegistry.for_settings(settings)


def knowledge_base_for(settings: Settings, engine: ChatEngine | None) -> Any:
    """The engine's own knowledge base when it has one, so ingests and answers share it."""
    retriever = getattr(engine, "retriever", None) if engine is not None else None
    knowledge_base = getattr(retriever, "knowledge_base", None)
    if knowledge_base is not None:
        return knowledge_base
    from assistant.app import open_knowledge_base, quiet_libraries

    quiet_libraries()
    return open_knowledge_base(settings)


def ground_engine(engine: ChatEngine | None, knowledge_base: Any) -> None:
    """An engine started on an empty index answers from it once something is ingested."""
    if engine is None or engine.retriever is not None or knowledge_base.is_empty():
        return
    from assistant.grounding import KnowledgeBaseRetriever

    engine.retriever = KnowledgeBaseRetriever(knowledge_base)


def describe_error(exc: BaseException) -> str:
    """A one-line message for a notification: a user error already says what to do."""
    from assistant.errors import is_user_error

    if is_user_error(exc):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
