"""What every serving backend offers the engine, the evaluation gate and the benchmarks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from assistant.prompt import TokenCounter
from assistant.settings import GenerationSettings


@dataclass(frozen=True)
class Adapter:
    """A LoRA adapter to answer with: its registry version and the folder of its PEFT files."""

    version: str
    path: Path | None = None


def adapter_of(version: str | None, path: Path | None = None) -> Adapter | None:
    """The adapter for a (version, folder) choice; None (the base model) without a version."""
    return None if version is None else Adapter(version, Path(path) if path else None)


class Backend(Protocol):
    """Generates answers; holds no adapter in service: each call names the one to use.

    `counter` is the token counter for prompt budgets that fits the backend's model; a
    backend that can score completions (`score(messages, completions, adapter)`: mean
    log-probability per token of each) lets an adapter choose among evidence spans.
    """

    model_id: str
    counter: TokenCounter

    def stream(
        self,
        messages: list[dict],
        options: GenerationSettings,
        adapter: Adapter | None,
        cancel: threading.Event,
    ) -> Iterator[str]:
        """Yield the answer's text in chunks; stop promptly once `cancel` is set."""

    def prepare(self, adapter: Adapter | None) -> None:
        """Be ready to serve `adapter` in the form answers come from (blocks until then)."""

    def describe(self, adapter: Adapter | None) -> str:
        """The form answers with `adapter` come from now (for reports)."""


class AnyEvent:
    """Set once any of its events is set: a caller's cancel or the stream's own stop."""

    def __init__(self, *events: threading.Event):
        self.events = events

    def is_set(self) -> bool:
        return any(event.is_set() for event in self.events)
