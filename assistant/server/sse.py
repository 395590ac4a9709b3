"""Server-sent events: one `data:` line of JSON per event, optionally named."""

from __future__ import annotations

import json

from fastapi.responses import JSONResponse, StreamingResponse

HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def event(data, name: str | None = None) -> str:
    head = f"event: {name}\n" if name else ""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, default=str)
    return f"{head}data: {text}\n\n"


def comment(text: str) -> str:
    return f": {text}\n\n"


def streamed(events) -> StreamingResponse:
    return StreamingResponse(events, media_type="text/event-stream", headers=HEADERS)


class Json(JSONResponse):
    """JSON as the CLI prints it (anything not JSON by nature written as its str)."""

    def render(self, content) -> bytes:
        return json.dumps(content, ensure_ascii=False, default=str).encode("utf-8")
