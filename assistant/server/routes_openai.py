"""OpenAI-compatible `/v1`: chat completions (plain or streamed) and the models list.

The last user message is the question and the messages before it its history (system
messages are deskloop's own business and ignored). `"deskloop": {"conversation_id": ...}`
in the request continues a stored conversation instead. The answer carries deskloop's
extras in `"deskloop"` (the last chunk when streamed): sources, turn and conversation ids,
status, grounding with per-sentence support, the approved answer it came from.
"""

from __future__ import annotations

import time
import uuid
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from assistant.engine import AnswerResult
from assistant.server import sse
from assistant.server.answers import ACTIVE, Question, answer, answer_events, extension
from assistant.server.answers import model_names as served_models
from assistant.server.auth import Agent, Limited
from assistant.server.errors import ApiError, error_body
from assistant.users import User

router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"])


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: str | list[dict] | None = None


class DeskloopRequest(BaseModel):
    conversation_id: str | None = None


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, max_tokens...: the settings rule
    model: str = ACTIVE
    messages: list[Message] = Field(min_length=1)
    stream: bool = False
    deskloop: DeskloopRequest | None = None


def text_of(message: Message) -> str:
    if isinstance(message.content, list):
        return "".join(p.get("text", "") for p in message.content if p.get("type") == "text")
    return message.content or ""


def question_of(request: ChatRequest, user: User) -> Question:
    talk = [m for m in request.messages if m.role in ("user", "assistant")]
    if not talk or talk[-1].role != "user" or not text_of(talk[-1]).strip():
        raise ApiError(400, "the last message must be the user's question")
    conversation = request.deskloop.conversation_id if request.deskloop else None
    history = (
        None
        if conversation
        else [{"role": m.role, "content": text_of(m)} for m in talk[:-1] if text_of(m).strip()]
    )
    return Question(text_of(talk[-1]), conversation, history, request.model, user.name)


def usage(result: AnswerResult) -> dict:
    prompt = result.timings.get("prompt_tokens") or 0
    completion = result.timings.get("completion_tokens") or 0
    total = prompt + completion
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}


def finish_reason(result: AnswerResult) -> str:
    return "stop" if result.status != "cancelled" else "length"


@router.get("/models")
def models(request: Request, _: Agent) -> dict:
    """The adapter in service (`deskloop`), the base model and every adapter version."""
    names = served_models(request.app.state.deskloop)
    return {
        "object": "list",
        "data": [{"id": n, "object": "model", "created": 0, "owned_by": "deskloop"} for n in names],
    }


@router.post("/chat/completions")
async def chat_completions(body: ChatRequest, request: Request, user: Limited):
    """A grounded answer to the last user message, as OpenAI's chat completions return one."""
    state = request.app.state.deskloop
    question = question_of(body, user)
    created = int(time.time())
    if not body.stream:
        result = await answer(state, question)
        return sse.Json(
            {
                "id": f"chatcmpl-{result.turn_id}",
                "object": "chat.completion",
                "created": created,
                "model": body.model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": result.answer},
                        "finish_reason": finish_reason(result),
                    }
                ],
                "usage": usage(result),
                "deskloop": extension(result),
            }
        )
    events = answer_events(state, question)
    first = await anext(events)  # fails as an HTTP error (404 conversation) before streaming
    return sse.streamed(chunks(events, first, body.model, created))


async def chunks(events, first, model: str, created: int):
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:12]}"

    def chunk(delta: dict, reason: str | None = None, **extra) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": reason}
        return sse.event(
            {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [choice],
                **extra,
            }
        )

    try:
        kind, data = first
        opened = False
        while True:
            if not opened and kind != "queue":
                yield chunk({"role": "assistant", "content": ""})
                opened = True
            if kind == "queue":
                yield sse.comment(f"queue position {data}")
            elif kind == "delta":
                yield chunk({"content": data})
            elif kind == "done":
                yield chunk({}, finish_reason(data), usage=usage(data), deskloop=extension(data))
            elif kind == "error":
                yield sse.event(error_body(*data))
            try:
                kind, data = await anext(events)
            except StopAsyncIteration:
                break
        yield sse.event("[DONE]")
    finally:
        await events.aclose()
