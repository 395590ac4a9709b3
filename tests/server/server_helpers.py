"""What the server tests share besides fixtures: a gated scripted model, a running server."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from fakes import ScriptedModel

from assistant.server import ServerState

REPO = Path(__file__).resolve().parents[2]


class GatedModel(ScriptedModel):
    """A scripted backend that holds each generation until `gate` is set (bounded wait)."""

    def __init__(self, answers: list[str] | None = None):
        super().__init__(answers)
        self.gate = threading.Event()
        self.gate.set()
        self.started = threading.Semaphore(0)
        self.active = 0
        self.most_at_once = 0
        self._lock = threading.Lock()

    def stream(self, messages, options, adapter, cancel):
        with self._lock:
            self.active += 1
            self.most_at_once = max(self.most_at_once, self.active)
        self.started.release()
        try:
            self.gate.wait(timeout=30)
            yield from super().stream(messages, options, adapter, cancel)
        finally:
            with self._lock:
                self.active -= 1


@dataclass
class Running:
    url: str
    state: ServerState
    model: GatedModel
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, who: str) -> dict:
        return {"Authorization": f"Bearer {self.tokens[who]}"}
