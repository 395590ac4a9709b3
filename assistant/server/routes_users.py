"""Managing the people who may use the server (admins; `deskloop users`)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel

from assistant.server import sse
from assistant.server.auth import Admin

router = APIRouter(prefix="/api/users", tags=["users"])


class NewUser(BaseModel):
    name: str
    role: Literal["agent", "admin"] = "agent"


@router.get("")
def users_list(request: Request, _: Admin):
    return sse.Json([u.to_dict() for u in request.app.state.deskloop.users.list()])


@router.post("", status_code=201)
def users_add(body: NewUser, request: Request, user: Admin):
    """The new user, with their token: shown this once, only its hash is kept."""
    added, token = request.app.state.deskloop.users.add(body.name, body.role, user.name)
    return sse.Json({**added.to_dict(), "token": token}, status_code=201)


@router.delete("/{name}")
def users_revoke(name: str, request: Request, _: Admin):
    return sse.Json(request.app.state.deskloop.users.revoke(name).to_dict())
