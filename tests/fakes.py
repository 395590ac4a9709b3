"""A scripted stand-in for a serving backend, for engine and app tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator


class WordCounter:
    """A token counter that counts words."""

    def count_messages(self, messages: list[dict]) -> int:
        return sum(len(m["content"].split()) + 4 for m in messages) + 2

    def count_text(self, text: str) -> int:
        return len(text.split())

    def truncate(self, text: str, max_tokens: int) -> str:
        return " ".join(text.split()[:max_tokens])


class ScriptedModel(WordCounter):
    """A backend that streams scripted answers and remembers the messages and adapters it was
    given (`adapter_swaps`: the adapter asked for each time it differed from the last call's)."""

    model_id = "scripted"

    def __init__(self, answers: list[str] | None = None, delay: float = 0.0):
        self.answers = list(answers or ["Open Settings, then Security [1]."])
        self.delay = delay
        self.counter = WordCounter()
        self.adapter_version: str | None = None
        self.calls: list[list[dict]] = []
        self.adapters: list[str | None] = []
        self.adapter_swaps: list[str | None] = []

    def asked_for(self, adapter) -> None:
        version = adapter.version if adapter is not None else None
        self.adapters.append(version)
        if version != self.adapter_version:
            self.adapter_version = version
            self.adapter_swaps.append(version)

    def prepare(self, adapter) -> None:
        self.asked_for(adapter)

    def describe(self, adapter) -> str:
        return "scripted"

    def stream(self, messages, options, adapter, cancel: threading.Event) -> Iterator[str]:
        self.asked_for(adapter)
        self.calls.append(messages)
        answer = self.answers[min(len(self.calls) - 1, len(self.answers) - 1)]
        for word in answer.split(" "):
            if cancel.is_set():
                return
            if self.delay:
                cancel.wait(self.delay)
            yield word + " "
