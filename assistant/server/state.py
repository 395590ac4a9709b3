"""What the server holds for its whole life: one engine, knowledge base, store and queue."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from assistant.engine import ChatEngine
from assistant.server.jobs import JobBoard
from assistant.server.limits import RateLimiter
from assistant.server.queue import GenerationQueue
from assistant.settings import Settings
from assistant.store import Store
from assistant.users import Users

DEFAULT_RATE_LIMIT = 30  # answers a minute per token


@dataclass
class ServerState:
    settings: Settings
    engine: ChatEngine
    knowledge_base: object  # retrieval.KnowledgeBase
    registry: object | None = None  # tuning.registry.AdapterRegistry, None without tuning
    rate_limit: int = DEFAULT_RATE_LIMIT
    queue: GenerationQueue = field(init=False)
    limiter: RateLimiter = field(init=False)
    users: Users = field(init=False)
    jobs: JobBoard = field(default_factory=JobBoard, init=False)

    def __post_init__(self) -> None:
        self.queue = GenerationQueue.for_settings(self.settings)
        self.limiter = RateLimiter(self.rate_limit)
        self.users = Users(self.engine.store)

    @property
    def store(self) -> Store:
        return self.engine.store

    def ground(self) -> None:
        """Answer from the knowledge base once it holds something (it may start empty)."""
        if self.engine.retriever is not None or self.knowledge_base.is_empty():
            return
        from assistant.answering.grounder import knowledge_base_grounder
        from assistant.grounding import KnowledgeBaseRetriever

        kb = self.knowledge_base
        self.engine.grounder = knowledge_base_grounder(kb, self.settings.answers)
        self.engine.retriever = KnowledgeBaseRetriever(kb)


def open_state(
    settings: Settings,
    progress: Callable[[str], None] = lambda _: None,
    rate_limit: int = DEFAULT_RATE_LIMIT,
) -> ServerState:
    """Open everything as `deskloop` does (assistant/app.py), keeping the knowledge base."""
    from assistant.app import (
        open_approved_lookup,
        open_knowledge_base,
        open_store,
        quiet_libraries,
    )
    from assistant.backends import open_backend
    from assistant.model_prep import prepare_base_model

    quiet_libraries()
    registry = _registry(settings)
    base = prepare_base_model(settings, progress)
    model = open_backend(settings, base, progress)
    progress("Opening the knowledge base")
    knowledge_base = open_knowledge_base(settings)
    store = open_store(settings)
    engine = ChatEngine(
        model,
        store,
        settings,
        adapter_choice=registry.active_choice if registry is not None else None,
        approved=open_approved_lookup(settings, store),
    )
    state = ServerState(settings, engine, knowledge_base, registry, rate_limit)
    state.ground()
    return state


def _registry(settings: Settings):
    try:
        from tuning.registry import AdapterRegistry
    except ImportError:
        return None
    return AdapterRegistry.for_settings(settings)
