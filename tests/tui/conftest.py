"""Fixtures for the TUI tests: the app on a scripted model with a real store, and wait_until."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable

import pytest

from assistant.engine import ChatEngine
from assistant.settings import Settings, load_settings
from assistant.store import SourceRef, Store
from tui.app import DeskloopApp


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run `async def` tests on a fresh event loop (no async plugin needed)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(pyfuncitem.obj(**arguments))
    return True


SOURCES = [
    SourceRef(
        n=1,
        chunk_id="security-0",
        source="/kb/manuals/account-security.md",
        title="Account security",
        section="Resetting a password",
        kind="manual",
        score=0.0328,
        similarity=0.71,
        text="Open Settings, choose Security, then Reset password. A link arrives by e-mail.",
    ),
    SourceRef(
        n=2,
        chunk_id="tickets-17",
        source="/kb/tickets/tickets.csv",
        title="Locked out after reset",
        record_id="T-1017",
        kind="ticket",
        score=0.0161,
        similarity=0.52,
        text="Customer was locked out; the reset link had expired. Sent a new one.",
    ),
]


class FixedRetriever:
    """Stands in for the knowledge base: the same SourceRefs the real retriever returns."""

    def __init__(self, sources: list[SourceRef]):
        self.sources = sources
        self.calls: list[list[dict]] = []

    def retrieve(self, messages: list[dict], k: int) -> list[SourceRef]:
        self.calls.append(messages)
        return [SourceRef(**s.to_dict()) for s in self.sources[:k]]


@pytest.fixture
def settings(isolated_home) -> Settings:
    return load_settings()


@pytest.fixture
def make_app(settings, scripted_model) -> Callable[..., DeskloopApp]:
    """make_app(answers=[...], delay=0.0, sources=SOURCES, adapter_choice=None)."""

    def make(
        answers: list[str] | None = None,
        delay: float = 0.0,
        sources: list[SourceRef] | None = None,
        adapter_choice=None,
    ) -> DeskloopApp:
        if answers is not None:
            scripted_model.answers = answers
        scripted_model.delay = delay
        retriever = FixedRetriever(SOURCES if sources is None else sources)

        def engine_factory(current: Settings, progress) -> ChatEngine:
            progress("Loading the scripted model")
            store = Store(current.paths.database)
            return ChatEngine(scripted_model, store, current, retriever, adapter_choice)

        return DeskloopApp(settings, engine_factory=engine_factory)

    return make


@pytest.fixture
def store(settings) -> Store:
    """A second connection to the app's database, to check what landed there."""
    return Store(settings.paths.database)
