"""The adapter registry as the adapters screen uses it, kept by a deskloop server.

Everyone lists the versions; promoting and rolling back are for admins (an agent gets the
server's one-line refusal).
"""

from __future__ import annotations

from typing import Any

from assistant.client import Client

BASE = "base"


def version_or_none(name: str | None) -> str | None:
    """The server names the base model 'base'; the local registry says None."""
    return None if name in (None, BASE) else name


class RemoteRegistry:
    def __init__(self, client: Client):
        self.client = client

    def list(self) -> list[dict[str, Any]]:
        return self.client.adapters()["adapters"]

    def active(self) -> str | None:
        return version_or_none(self.client.adapters()["active"])

    def pointer(self) -> tuple[str | None, str | None]:
        """(the version in service or None for the base, who put it there)."""
        listed = self.client.adapters()
        return version_or_none(listed["active"]), listed.get("changed_by")

    def show(self, version: str) -> dict[str, Any]:
        return self.client.adapters(version)

    def rejection(self, version: str) -> str | None:
        """Why the promotion gate rejected ``version``; None if it passed."""
        decision = self.show(version).get("decision") or {}
        if decision.get("promote", True):
            return None
        return str(decision.get("reason") or "no reason recorded")

    def promote(self, version: str, force: bool = False) -> str | None:
        return version_or_none(self.client.promote(version, force)["active"])

    def rollback(self) -> str | None:
        return version_or_none(self.client.rollback()["active"])
