"""Progress events: dicts handed to a callback and appended to a run's events.jsonl.

The JSONL file lets another process (the TUI) follow a round it did not start.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

Event = dict[str, Any]
Progress = Callable[[Event], None]


def ignore(_: Event) -> None:
    pass


class EventLog:
    """Calls ``progress`` with each event and appends it, timestamped, to ``path``."""

    def __init__(self, path: Path | None, progress: Progress = ignore):
        self.path = path
        self.progress = progress
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    def __call__(self, event: Event) -> None:
        event = {"time": round(time.time(), 3), **event}
        if self.path is not None:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(event, default=str) + "\n")
        self.progress(event)


def read_events(path: Path) -> list[Event]:
    """Events written so far; a line cut short by a kill is skipped."""
    events = []
    if not path.is_file():
        return events
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return events
