"""One-line, actionable errors for what an OpenAI-compatible server answers."""

from __future__ import annotations

import json

from assistant.errors import ServingError

URL_HINT = "start the server or fix openai.base_url (DESKLOOP_OPENAI__BASE_URL)"


def unreachable(base_url: str, exc: Exception) -> ServingError:
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return ServingError(f"cannot reach the model server at {base_url} ({reason}): {URL_HINT}")


def silent(base_url: str, timeout_s: float) -> ServingError:
    return ServingError(
        f"the model server at {base_url} sent nothing for {timeout_s:g} s: check that it is "
        "up and not overloaded, or raise openai.timeout_s"
    )


def refused(status: int, body: str, what: str) -> ServingError:
    """The error for an HTTP status >= 400 answering ``what`` (e.g. 'a chat completion')."""
    detail = server_message(body)
    if status in (401, 403):
        return ServingError(
            f"the model server refused the key ({status}): set openai.api_key "
            "(DESKLOOP_OPENAI__API_KEY)"
        )
    if status >= 500:
        return ServingError(
            f"the model server failed on {what} ({status}: {detail}): see the server's log"
        )
    return ServingError(f"the model server rejected {what} ({status}: {detail})")


def server_message(body: str) -> str:
    """The message of an OpenAI-style error body, on one line and short."""
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        error = parsed.get("error", parsed)
        if isinstance(error, dict):
            body = str(error.get("message") or error.get("detail") or error)
        else:
            body = str(parsed.get("message") or parsed.get("detail") or error)
    line = " ".join(body.split())
    return line[:200] or "no message"
