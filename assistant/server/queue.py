"""Fair sharing of one model: first come, first served, one generation at a time on a CPU.

With ``serving = "openai"`` the model server batches concurrent requests itself, so every
request goes straight through (position 0). A waiting request is told its place in the queue
(how many are ahead of it) when it joins and whenever that changes.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from assistant.backends.choose import OPENAI
from assistant.settings import Settings

MAX_WAIT_S = 600.0


class QueueTimeout(Exception):
    """Waited longer than the queue allows."""


class GenerationQueue:
    def __init__(self, slots: int | None = 1, max_wait_s: float = MAX_WAIT_S):
        """``slots``: generations at once; None: no limit."""
        self.slots = slots
        self.max_wait_s = max_wait_s
        self._condition = threading.Condition()
        self._waiting: list[int] = []
        self._running = 0
        self._tickets = itertools.count()

    @classmethod
    def for_settings(cls, settings: Settings) -> GenerationQueue:
        return cls(None if settings.serving == OPENAI else 1)

    @property
    def length(self) -> int:
        with self._condition:
            return self._running + len(self._waiting)

    @contextmanager
    def turn(self, on_position: Callable[[int], None] = lambda _: None) -> Iterator[None]:
        """Hold a slot for the block; ``on_position`` hears the place in the queue (0: next)."""
        with self._condition:
            ticket = next(self._tickets)
            self._waiting.append(ticket)
            deadline = time.monotonic() + self.max_wait_s
            told = None
            while True:
                position = self._position(ticket)
                if position != told:
                    on_position(position)
                    told = position
                if self._may_run(ticket):
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    self._waiting.remove(ticket)
                    self._condition.notify_all()
                    raise QueueTimeout(f"waited {self.max_wait_s:.0f} s for the model")
                self._condition.wait(min(left, 1.0))
            self._waiting.remove(ticket)
            self._running += 1
        try:
            yield
        finally:
            with self._condition:
                self._running -= 1
                self._condition.notify_all()

    def _position(self, ticket: int) -> int:
        if self.slots is None:
            return 0
        return max(0, self._running + self._waiting.index(ticket) - self.slots + 1)

    def _may_run(self, ticket: int) -> bool:
        if self.slots is None:
            return True
        return self._waiting[0] == ticket and self._running < self.slots
