"""A per-user limit on the expensive endpoints: at most N requests in any 60 seconds."""

from __future__ import annotations

import threading
import time
from collections import deque

WINDOW_S = 60.0


class RateLimiter:
    def __init__(self, per_minute: int, clock=time.monotonic):
        self.per_minute = per_minute
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, who: str) -> float | None:
        """None when ``who`` may go on (and counts the request); else seconds to wait."""
        if self.per_minute <= 0:
            return None
        now = self.clock()
        with self._lock:
            seen = self._seen.setdefault(who, deque())
            while seen and seen[0] <= now - WINDOW_S:
                seen.popleft()
            if len(seen) >= self.per_minute:
                return max(0.0, seen[0] + WINDOW_S - now)
            seen.append(now)
            return None
