"""Asking through a deskloop server: `ask` as `ChatEngine.ask` has it, answered by the team's
server (its knowledge base, its adapter in service, its queue) and recorded there.

While the answer waits for the model, its place in the queue goes to `on_status`. Stopping
(Esc) closes the connection: the server stops generating and records the partial answer,
marked cancelled, which the stream then reads back.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import httpx

from assistant.cli_remote import result_of
from assistant.client import Client, ServerError
from assistant.engine import AnswerResult
from assistant.store import SourceRef, Turn
from tui.remote_store import RemoteStore

ASK_PATH = "/api/ask"
CANCELLED_WAIT_S = 10.0  # how long the server may take to record a stopped answer


class ServerModel:
    """What the status bar names: the team's server."""

    def __init__(self, url: str):
        self.model_id = f"team {urlsplit(url).netloc or url}"


class OpenAnswers:
    """Remembers each thread's streaming answer response, so another thread can cut it."""

    def __init__(self) -> None:
        self._local = threading.local()

    def __call__(self, response: httpx.Response) -> None:  # an httpx response hook
        if response.request.url.path.endswith(ASK_PATH):
            self._local.response = response

    def current(self) -> httpx.Response | None:
        return getattr(self._local, "response", None)


def cut(response: httpx.Response | None) -> None:
    """End a response another thread is reading: the read returns, the server sees us gone."""
    stream = response.extensions.get("network_stream") if response is not None else None
    sock = stream.get_extra_info("socket") if stream is not None else None
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)


def waiting_text(position: int) -> str:
    if position <= 0:
        return "answering"
    return f"waiting for the model: {position} ahead in the queue"


class RemoteChatEngine:
    def __init__(
        self,
        client: Client,
        store: RemoteStore,
        knowledge_base: object,
        on_status: Callable[[str], None] = lambda _: None,
    ):
        self.client = client
        self.store = store
        self.model = ServerModel(client.url)
        self.retriever = knowledge_base  # the server answers from the team's knowledge base
        self.on_status = on_status
        self.open_answers = OpenAnswers()
        client.http.event_hooks["response"].append(self.open_answers)

    def ask(self, question: str, conversation_id: str | None = None) -> RemoteAnswerStream:
        return RemoteAnswerStream(self, question.strip(), conversation_id)


class RemoteAnswerStream:
    """Iterate for the answer's text chunks; `result` holds the recorded turn afterwards."""

    def __init__(self, engine: RemoteChatEngine, question: str, conversation_id: str | None):
        self.engine = engine
        self.question = question
        self.conversation_id = conversation_id
        self.sources: list[SourceRef] = []
        self.result: AnswerResult | None = None
        self._cancel = threading.Event()
        self._response: httpx.Response | None = None
        self._started = False

    def cancel(self) -> None:
        self._cancel.set()
        cut(self._response)

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def __iter__(self) -> Iterator[str]:
        engine = self.engine
        seen = engine.store.newest_turn_id
        events = engine.client.ask(self.question, self.conversation_id, None)
        try:
            for name, data in events:
                self._response = engine.open_answers.current()
                if self.cancelled:
                    break
                if name == "queue":
                    engine.on_status(waiting_text(data["position"]))
                elif name == "delta":
                    self._started = True
                    yield data["text"]
                elif name == "done":
                    self._finished(result_of(data))
        except ServerError:
            if not self.cancelled:
                raise
        finally:
            events.close()
        if self.result is None and self.cancelled and self._started:
            self._finished(self._recorded_after_cancel(seen))

    def _finished(self, result: AnswerResult | None) -> None:
        if result is None:
            return
        self.result = result
        self.sources = result.sources
        self.engine.store.remember(result.turn_id, result.conversation_id)

    def _recorded_after_cancel(self, seen: int) -> AnswerResult | None:
        """The partial answer the server recorded once it saw us go, newer than `seen`."""
        deadline = time.monotonic() + CANCELLED_WAIT_S
        while time.monotonic() < deadline:
            for conversation_id in self._candidates():
                found = self._exchange_in(conversation_id, seen)
                if found is not None:
                    return found
            time.sleep(0.2)
        return None

    def _candidates(self) -> list[str]:
        if self.conversation_id is not None:
            return [self.conversation_id]
        listed = self.engine.store.conversations(self.question[:80])
        return [c.id for c in listed[:3]]

    def _exchange_in(self, conversation_id: str, seen: int) -> AnswerResult | None:
        turns = self.engine.store.turns(conversation_id)
        for question, answer in itertools.pairwise(turns):
            if (
                answer.id > seen
                and answer.role == "assistant"
                and question.role == "user"
                and question.content.strip() == self.question
            ):
                return result_of_turn(answer, question.id)
        return None


def result_of_turn(turn: Turn, question_turn_id: int) -> AnswerResult:
    return AnswerResult(
        conversation_id=turn.conversation_id,
        turn_id=turn.id,
        question_turn_id=question_turn_id,
        answer=turn.content,
        status=turn.status,
        sources=turn.sources,
        model_id=turn.model_id or "",
        adapter=turn.adapter_version,
        timings={"total_s": round(turn.latency_ms / 1000, 2) if turn.latency_ms else None},
        grounding=turn.grounding,
    )
