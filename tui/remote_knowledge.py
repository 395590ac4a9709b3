"""The knowledge base as the knowledge screen uses it, kept by a deskloop server.

Ingest reads paths on the server's machine (admins only); the server reports when it is done,
without per-file progress.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from assistant.client import Client


class RemoteKnowledgeBase:
    def __init__(self, client: Client):
        self.client = client

    def sources(self) -> list[SimpleNamespace]:
        return [SimpleNamespace(**s) for s in self.client.sources()]

    def is_empty(self) -> bool:
        return not self.client.sources()

    def ingest(
        self,
        paths: list[Path],
        tickets: bool = False,
        progress: Callable[[Any], None] | None = None,
    ) -> SimpleNamespace:
        report = self.client.ingest_on_server([str(p) for p in paths], tickets=tickets)
        return report_of(report)

    def remove(self, source: str) -> int:
        return self.client.remove_source(source)["chunks"]


def report_of(document: dict[str, Any]) -> SimpleNamespace:
    """An IngestReport's fields from its JSON, each file issue with .path and .reason."""
    issues = {
        key: [SimpleNamespace(**issue) for issue in document.get(key) or []]
        for key in ("failed", "skipped", "warnings")
    }
    return SimpleNamespace(**{**document, **issues})
