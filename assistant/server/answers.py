"""Running one answer for a request: through the queue, in a worker thread, as async events.

Events, in order: ("queue", position) at least once, ("delta", text) per chunk, then
("done", AnswerResult) or ("error", (HTTP status, message)). A client that goes away cancels
the answer (the partial answer is recorded, marked cancelled).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass

from assistant.app import fixed_adapter
from assistant.engine import AnswerResult, ChatEngine
from assistant.errors import DeskloopError
from assistant.server.errors import ApiError
from assistant.server.queue import QueueTimeout
from assistant.server.state import ServerState

log = logging.getLogger("deskloop.server")
ACTIVE = "deskloop"  # the model name of whatever adapter is in service
BASE = "base"


@dataclass
class Question:
    text: str
    conversation_id: str | None = None
    history: list[dict] | None = None
    model: str = ACTIVE
    actor: str | None = None


def engine_for(state: ServerState, model: str) -> ChatEngine:
    """The engine answering as ``model``: the adapter in service, the base, or a version."""
    if model in (ACTIVE, "", None):
        return state.engine
    if model == BASE:
        chosen = fixed_adapter(None, None)
    else:
        if state.registry is None or model not in state.registry.versions():
            raise ApiError(404, f"no model '{model}': GET /v1/models lists them")
        chosen = fixed_adapter(model, state.registry.path_of(model))
    engine = copy.copy(state.engine)
    engine.adapter_choice = chosen
    return engine


def model_names(state: ServerState) -> list[str]:
    versions = state.registry.versions() if state.registry is not None else []
    return [ACTIVE, BASE, *versions]


async def answer_events(state: ServerState, question: Question) -> AsyncIterator[tuple]:
    engine = engine_for(state, question.model)
    if question.conversation_id is not None:
        state.store.conversation(question.conversation_id)  # 404 before the stream starts
    loop = asyncio.get_running_loop()
    events: asyncio.Queue = asyncio.Queue()
    gone = threading.Event()
    running: list = []

    def push(kind: str, data) -> None:
        loop.call_soon_threadsafe(events.put_nowait, (kind, data))

    def work() -> None:
        try:
            with state.queue.turn(lambda position: push("queue", position)):
                if gone.is_set():
                    return
                stream = engine.ask(
                    question.text, question.conversation_id, question.history, question.actor
                )
                running.append(stream)
                for chunk in stream:
                    if gone.is_set():
                        stream.cancel()
                    push("delta", chunk)
                push("done", stream.result)
        except QueueTimeout as exc:
            push("error", (503, f"{exc}: the server is busy, retry later"))
        except DeskloopError as exc:
            push("error", (400, " ".join(str(exc).split())))
        except Exception as exc:  # a bug: the client still gets one line, the log the trace
            log.exception("answer failed")
            push("error", (500, f"the server failed to answer ({type(exc).__name__}): see its log"))
        finally:
            push("end", None)

    threading.Thread(target=work, name="deskloop-answer", daemon=True).start()
    try:
        while True:
            kind, data = await events.get()
            if kind == "end":
                return
            yield kind, data
    finally:
        gone.set()
        for stream in running:
            stream.cancel()


async def answer(state: ServerState, question: Question) -> AnswerResult:
    """Run to the end; a failure is an ApiError."""
    result = None
    async for kind, data in answer_events(state, question):
        if kind == "error":
            raise ApiError(*data)
        if kind == "done":
            result = data
    return result


def extension(result: AnswerResult) -> dict:
    """deskloop's extras beside an OpenAI answer: everything `ask --json` says but the text."""
    document = result.to_dict()
    del document["answer"]
    return document
