"""Conversations, asking and flagging: what every agent does all day.

An agent sees the conversations they started; an admin sees every one.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from assistant.server import sse
from assistant.server.answers import ACTIVE, Question, answer_events
from assistant.server.auth import Agent, Limited
from assistant.server.errors import ApiError, error_body
from assistant.store import REASONS, Conversation, Store
from assistant.users import User

router = APIRouter(prefix="/api", tags=["chat"])


class AskRequest(BaseModel):
    question: str = Field(min_length=1)
    conversation_id: str | None = None
    adapter: str | None = Field(None, description="A version, 'base', or 'active' (default).")


class EscalateRequest(BaseModel):
    note: str = ""


class EditRequest(BaseModel):
    content: str = Field(min_length=1, description="The answer as the agent actually sent it.")


class FlagRequest(BaseModel):
    rating: Literal["good", "bad"]
    reason: str | None = Field(None, description=f"One of: {', '.join(REASONS)}.")
    correction: str | None = None


def visible(store: Store, conversation_id: str, user: User) -> Conversation:
    conversation = store.conversation(conversation_id)
    if not user.is_admin and conversation.actor != user.name:
        raise ApiError(
            404, f"no conversation '{conversation_id}': GET /api/conversations lists yours"
        )
    return conversation


@router.get("/conversations")
def conversations(request: Request, user: Agent, search: str = "", limit: int = 200) -> sse.Json:
    """Conversations, newest first (`deskloop history --json`)."""
    store = request.app.state.deskloop.store
    mine = None if user.is_admin else user.name
    listed = store.conversations(search, min(max(limit, 1), 1000), actor=mine)
    return sse.Json([c.to_dict() for c in listed])


@router.get("/conversations/{conversation_id}")
def conversation(conversation_id: str, request: Request, user: Agent):
    """One conversation with its turns, sources and feedback (`deskloop history ID --json`)."""
    store = request.app.state.deskloop.store
    chat = visible(store, conversation_id, user)
    turns = store.turns(conversation_id)
    return sse.Json({**chat.to_dict(), "turns": [t.to_dict() for t in turns]})


@router.post(
    "/ask",
    response_class=sse.StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def ask(body: AskRequest, request: Request, user: Limited):
    """A grounded answer as server-sent events: `queue` {position} (how many are ahead),
    `delta` {text}..., then `done` (the `deskloop ask --json` document) or `error`."""
    state = request.app.state.deskloop
    if body.conversation_id is not None:
        visible(state.store, body.conversation_id, user)
    model = ACTIVE if body.adapter in (None, "active") else body.adapter
    question = Question(body.question, body.conversation_id, None, model, user.name)
    events = answer_events(state, question)
    first = await anext(events)
    return sse.streamed(_ask_events(first, events))


async def _ask_events(first, events):
    try:
        kind, data = first
        while True:
            if kind == "queue":
                yield sse.event({"position": data}, "queue")
            elif kind == "delta":
                yield sse.event({"text": data}, "delta")
            elif kind == "done":
                yield sse.event(data.to_dict(), "done")
            elif kind == "error":
                yield sse.event(error_body(*data), "error")
            try:
                kind, data = await anext(events)
            except StopAsyncIteration:
                return
    finally:
        await events.aclose()


@router.post("/turns/{turn_id}/feedback")
def flag(turn_id: int, body: FlagRequest, request: Request, user: Agent):
    """Flag an answer good or bad, with a reason and a correction (`deskloop feedback flag`)."""
    store = request.app.state.deskloop.store
    flagged = store.flag(turn_id, body.rating, body.reason, body.correction, actor=user.name)
    approved = store.approved.for_turn(turn_id)
    return sse.Json({**flagged.to_dict(), "approved_answer": approved and approved.to_dict()})


@router.post("/conversations/{conversation_id}/escalate")
def escalate(conversation_id: str, body: EscalateRequest, request: Request, user: Agent):
    """Hand a conversation to a senior agent or the product team, with a note."""
    store = request.app.state.deskloop.store
    visible(store, conversation_id, user)
    return sse.Json(store.escalate(conversation_id, body.note).to_dict())


@router.put("/turns/{turn_id}")
def edit_answer(turn_id: int, body: EditRequest, request: Request, user: Agent):
    """Replace an answer's text with what the agent actually sent (their own conversations)."""
    store = request.app.state.deskloop.store
    visible(store, store.turn(turn_id).conversation_id, user)
    return sse.Json(store.edit_answer(turn_id, body.content).to_dict())


@router.get("/feedback/counts")
def feedback_counts(request: Request, user: Agent):
    """The team's flags so far: good, bad with a correction, bad without one."""
    return sse.Json(request.app.state.deskloop.store.feedback_counts())
