"""A scripted stand-in for the chat model, for engine and app tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator


class ScriptedModel:
    """A chat model that streams scripted answers and remembers the messages it was given."""

    model_id = "scripted"

    def __init__(self, answers: list[str] | None = None, delay: float = 0.0):
        self.answers = list(answers or ["Open Settings, then Security [1]."])
        self.delay = delay
        self.adapter_version: str | None = None
        self.calls: list[list[dict]] = []
        self.adapter_swaps: list[str | None] = []

    def count_messages(self, messages: list[dict]) -> int:
        return sum(len(m["content"].split()) + 4 for m in messages) + 2

    def count_text(self, text: str) -> int:
        return len(text.split())

    def truncate(self, text: str, max_tokens: int) -> str:
        return " ".join(text.split()[:max_tokens])

    def use_adapter(self, version, path=None) -> None:
        self.adapter_version = version
        self.adapter_swaps.append(version)

    def stream(self, messages, options, cancel: threading.Event) -> Iterator[str]:
        self.calls.append(messages)
        answer = self.answers[min(len(self.calls) - 1, len(self.answers) - 1)]
        for word in answer.split(" "):
            if cancel.is_set():
                return
            if self.delay:
                cancel.wait(self.delay)
            yield word + " "
