"""The command line as a client of `deskloop serve`: DESKLOOP_SERVER and DESKLOOP_TOKEN set.

Each call returns what the local command would have printed with --json; every failure is
a DeskloopError whose one line says what to do (a server that cannot be reached, a refused
token, the server's own message).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from assistant.errors import DeskloopError

# httpx's own command line (httpx._main) imports click, pygments and rich's table, syntax and
# progress modules: a quarter of httpx's import time, which every deskloop command against a
# server pays. Nothing here uses it; a None entry makes httpx skip it (a no-op once loaded).
sys.modules.setdefault("httpx._main", None)
import httpx  # noqa: E402

SERVER_ENV = "DESKLOOP_SERVER"
TOKEN_ENV = "DESKLOOP_TOKEN"
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 600.0  # an answer may wait its turn in the queue


class ServerError(DeskloopError):
    """The server cannot be reached, refused the request, or failed it."""


def server_set() -> bool:
    """Whether DESKLOOP_SERVER names a server (commands then ask it, not local state)."""
    return bool(os.environ.get(SERVER_ENV, "").strip())


def from_env() -> Client | None:
    """A client for DESKLOOP_SERVER, or None when it is unset (everything stays local)."""
    url = os.environ.get(SERVER_ENV, "").strip()
    if not url:
        return None
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise ServerError(
            f"{SERVER_ENV} is set but {TOKEN_ENV} is not: set {TOKEN_ENV} to your token from "
            f"'deskloop users add' (ask an admin), or unset {SERVER_ENV} to work locally"
        )
    return Client(url, token)


class Client:
    def __init__(self, url: str, token: str, transport: httpx.BaseTransport | None = None):
        self.url = url.rstrip("/")
        if not self.url.startswith(("http://", "https://")):
            raise ServerError(f"{SERVER_ENV} '{url}' is not a URL: use http://HOST:PORT")
        self.http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
            transport=transport,
            # Plain http:// never negotiates TLS (requests go to base_url only, redirects are
            # not followed), so skip loading the CA bundle: ~60 ms of every command's start-up.
            verify=self.url.startswith("https://"),
        )

    # the verbs

    def search(
        self, query: str, k: int, kind: str | None, product: str | None, headings: bool = False
    ) -> list[dict]:
        """Hits as `search --json` prints them; ``headings``: each with the heading it prints."""
        params = {"q": query, "k": k, "kind": kind, "product": product}
        if headings:
            params["headings"] = "true"
        return self._json("GET", "/api/search", params=_present(params))

    def flag(self, turn_id: int, rating: str, reason: str | None, correction: str | None) -> dict:
        body = {"rating": rating, "reason": reason, "correction": correction}
        return self._json("POST", f"/api/turns/{turn_id}/feedback", json=body)

    def escalate(self, conversation_id: str, note: str) -> dict:
        return self._json(
            "POST", f"/api/conversations/{conversation_id}/escalate", json={"note": note}
        )

    def edit_answer(self, turn_id: int, text: str) -> dict:
        return self._json("PUT", f"/api/turns/{turn_id}", json={"content": text})

    def feedback_counts(self) -> dict[str, int]:
        return self._json("GET", "/api/feedback/counts")

    def conversation(self, conversation_id: str) -> dict:
        return self._json("GET", f"/api/conversations/{conversation_id}")

    def conversations(self, search: str = "") -> list[dict]:
        return self._json("GET", "/api/conversations", params={"search": search})

    def sources(self) -> list[dict]:
        return self._json("GET", "/api/sources")

    def remove_source(self, source: str) -> dict:
        return self._json("DELETE", "/api/sources", params={"source": source})

    def ingest_on_server(self, paths: list[str], **options) -> dict:
        return self._json("POST", "/api/ingest", json={"paths": paths, **_present(options)})

    def ingest_upload(self, files: list[tuple[str, bytes]], **options) -> dict:
        """``files``: (name relative to what was given, content); indexed under those names."""
        parts = [("files", (name, content, "application/octet-stream")) for name, content in files]
        form = {key: str(value) for key, value in _present(options).items()}
        return self._json("POST", "/api/ingest/upload", files=parts, data=form)

    def feedback_import(self, name: str, content: bytes) -> dict:
        upload = {"file": (name, content, "application/jsonl")}
        return self._json("POST", "/api/feedback/import", files=upload)

    def feedback_export(self, format: str) -> dict:
        return self._json("GET", "/api/feedback/export", params={"format": format})

    def approved(self, approved_id: int | None = None):
        return self._json("GET", "/api/approved" + (f"/{approved_id}" if approved_id else ""))

    def approved_edit(self, approved_id: int, question: str | None, answer: str | None) -> dict:
        body = _present({"question": question, "answer": answer})
        return self._json("PATCH", f"/api/approved/{approved_id}", json=body)

    def approved_remove(self, approved_id: int) -> dict:
        return self._json("DELETE", f"/api/approved/{approved_id}")

    def adapters(self, version: str | None = None) -> dict:
        return self._json("GET", "/api/adapters" + (f"/{version}" if version else ""))

    def promote(self, version: str, force: bool) -> dict:
        return self._json("POST", f"/api/adapters/{version}/promote", json={"force": force})

    def rollback(self) -> dict:
        return self._json("POST", "/api/adapters/rollback")

    def start_train(self, **options) -> dict:
        """A training round as a server job: {"id", "kind", "status", ...}."""
        return self._json("POST", "/api/train", json=_present(options))

    def start_eval(self, **options) -> dict:
        return self._json("POST", "/api/eval", json=_present(options))

    def job(self, job_id: str) -> dict:
        return self._json("GET", f"/api/jobs/{job_id}")

    def cancel_job(self, job_id: str) -> dict:
        return self._json("POST", f"/api/jobs/{job_id}/cancel")

    def job_events(self, job_id: str) -> Iterator[tuple[str, dict]]:
        """("progress", event)... then ("done", result) or ("cancelled", {error}); a failed
        job raises its one line."""
        yield from self._stream("GET", f"/api/jobs/{job_id}/events", "the job failed")

    def ask(
        self, question: str, conversation_id: str | None, adapter: str | None
    ) -> Iterator[tuple[str, dict]]:
        """Server-sent events: ("queue", {position}), ("delta", {text})..., ("done", result)."""
        body = _present(
            {"question": question, "conversation_id": conversation_id, "adapter": adapter}
        )
        yield from self._stream("POST", "/api/ask", "the server failed the answer", json=body)

    # plumbing

    def _stream(self, method: str, path: str, failed: str, **options):
        with self._calling(), self.http.stream(method, path, **options) as response:
            if response.status_code != 200:
                response.read()
                raise self._failure(response)
            for name, data in _events(response.iter_lines()):
                if name == "error":
                    raise ServerError(_message(data, failed))
                yield name, data

    def _json(self, method: str, path: str, **options):
        with self._calling():
            response = self.http.request(method, path, **options)
        if response.status_code >= 400:
            raise self._failure(response)
        return response.json()

    def _calling(self):
        return _translated(self.url)

    def _failure(self, response: httpx.Response) -> ServerError:
        if response.status_code == 401:
            return ServerError(
                f"the deskloop server at {self.url} refused the token: set {TOKEN_ENV} to a "
                "token from 'deskloop users add' (ask an admin for a new one if it was revoked)"
            )
        try:
            document = response.json()
        except ValueError:
            document = None
        fallback = f"the deskloop server at {self.url} answered HTTP {response.status_code}"
        return ServerError(_message(document, fallback))


@contextmanager
def _translated(url: str) -> Iterator[None]:
    """Transport failures as one line that says what to do."""
    try:
        yield
    except httpx.HTTPError as exc:
        detail = " ".join(str(exc).split()) or type(exc).__name__
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            raise ServerError(
                f"cannot reach the deskloop server at {url} ({detail}): start it with "
                f"'deskloop serve', fix {SERVER_ENV}, or unset it to work locally"
            ) from None
        if isinstance(exc, httpx.TimeoutException):
            raise ServerError(
                f"the deskloop server at {url} did not answer in time ({detail}): "
                "check it is running and not overloaded, then retry"
            ) from None
        raise ServerError(
            f"the connection to the deskloop server at {url} failed ({detail}): retry, "
            f"or check the server and {SERVER_ENV}"
        ) from None


def _events(lines: Iterator[str]) -> Iterator[tuple[str, dict]]:
    name, data = "message", []
    for line in lines:
        if not line:
            if data:
                yield name, json.loads("\n".join(data))
            name, data = "message", []
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
    if data:
        yield name, json.loads("\n".join(data))


def _message(document, fallback: str) -> str:
    if isinstance(document, dict) and isinstance(document.get("error"), dict):
        message = document["error"].get("message")
        if message:
            return " ".join(str(message).split())
    return fallback


def _present(values: dict) -> dict:
    return {key: value for key, value in values.items() if value is not None}
