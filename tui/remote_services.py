"""Team mode: the screens' store, adapter registry, knowledge base and engine, all kept by a
deskloop server (DESKLOOP_SERVER and DESKLOOP_TOKEN set) instead of this machine."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from assistant.client import Client, ServerError
from assistant.settings import Settings
from tui.remote_engine import RemoteChatEngine
from tui.remote_knowledge import RemoteKnowledgeBase
from tui.remote_registry import RemoteRegistry
from tui.remote_store import RemoteStore
from tui.services import Progress

ADAPTER_POLL_S = 5.0  # how often the app asks which adapter the server has in service


def check_reachable(client: Client) -> None:
    """One authenticated request: an unreachable server or a refused token raise their line."""
    client.conversations()


def unreachable(exc: BaseException) -> bool:
    """The server did not answer at all (the client's one line replaced httpx's error)."""
    return isinstance(exc, ServerError) and isinstance(exc.__context__, httpx.TransportError)


@dataclass
class TeamServices:
    client: Client
    adapter_poll_s: float = ADAPTER_POLL_S
    store: RemoteStore = field(init=False)
    registry: RemoteRegistry = field(init=False)
    knowledge_base: RemoteKnowledgeBase = field(init=False)

    def __post_init__(self) -> None:
        self.store = RemoteStore(self.client)
        self.registry = RemoteRegistry(self.client)
        self.knowledge_base = RemoteKnowledgeBase(self.client)

    @property
    def url(self) -> str:
        return self.client.url

    def engine_factory(self, _: Settings, progress: Progress) -> RemoteChatEngine:
        progress(f"connecting to {self.url}")
        check_reachable(self.client)
        return RemoteChatEngine(self.client, self.store, self.knowledge_base, progress)
