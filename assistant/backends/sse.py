"""The text of an OpenAI chat-completions stream (server-sent events)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

DONE = "[DONE]"


class StreamFormatError(ValueError):
    """An event that is not a chat-completion chunk."""


def event_data(lines: Iterable[str]) -> Iterator[str]:
    """The data of each event, its `data:` lines joined; comments and other fields skipped."""
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith("data:"):
            value = line[5:]
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)


def chat_deltas(lines: Iterable[str]) -> Iterator[str]:
    """The content of each chunk's first choice, until `[DONE]`; an error event raises."""
    for data in event_data(lines):
        if data.strip() == DONE:
            return
        try:
            chunk = json.loads(data)
        except json.JSONDecodeError as exc:
            raise StreamFormatError(f"not JSON: {data[:80]!r}") from exc
        if "error" in chunk:
            error = chunk["error"]
            message = error.get("message") if isinstance(error, dict) else error
            raise StreamFormatError(f"the server reported: {message}")
        for choice in chunk.get("choices") or []:
            content = (choice.get("delta") or {}).get("content")
            if content:
                yield content
