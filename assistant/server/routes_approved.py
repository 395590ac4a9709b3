"""Approved answers: agents read them; admins edit and remove them (`deskloop approved`)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from pydantic import BaseModel

from assistant.server import sse
from assistant.server.auth import Admin, Agent
from assistant.server.errors import ApiError

router = APIRouter(prefix="/api/approved", tags=["approved answers"])
log = logging.getLogger("deskloop.server")


class ApprovedEdit(BaseModel):
    question: str | None = None
    answer: str | None = None


@router.get("")
def approved_list(request: Request, _: Agent):
    entries = request.app.state.deskloop.store.approved.entries()
    return sse.Json([e.to_dict() for e in entries])


@router.get("/{approved_id}")
def approved_show(approved_id: int, request: Request, _: Agent):
    return sse.Json(request.app.state.deskloop.store.approved.get(approved_id).to_dict())


@router.patch("/{approved_id}")
def approved_edit(approved_id: int, body: ApprovedEdit, request: Request, user: Admin):
    if body.question is None and body.answer is None:
        raise ApiError(400, "say what to change: 'question' and/or 'answer'")
    approved = request.app.state.deskloop.store.approved
    edited = approved.update(approved_id, body.question, body.answer, actor=user.name)
    changed = " and ".join(k for k in ("question", "answer") if getattr(body, k) is not None)
    log.info("approved answer %d: %s edited by %s", approved_id, changed, user.name)
    return sse.Json(edited.to_dict())


@router.delete("/{approved_id}")
def approved_remove(approved_id: int, request: Request, user: Admin):
    removed = request.app.state.deskloop.store.approved.remove(approved_id)
    log.info("approved answer %d removed by %s", approved_id, user.name)
    return sse.Json({"removed": removed.to_dict()})
