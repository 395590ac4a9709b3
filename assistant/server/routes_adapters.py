"""Adapters: everyone sees them; admins promote and roll back (`deskloop adapters`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from assistant.server import sse
from assistant.server.auth import Admin, Agent
from assistant.server.errors import ApiError

router = APIRouter(prefix="/api/adapters", tags=["adapters"])


class PromoteRequest(BaseModel):
    force: bool = False


def registry_of(request: Request):
    registry = request.app.state.deskloop.registry
    if registry is None:
        raise ApiError(404, "this server has no adapter registry: install deskloop with tuning")
    return registry


@router.get("")
def adapters_list(request: Request, _: Agent):
    registry = registry_of(request)
    return sse.Json(
        {
            "active": registry.active() or "base",
            "changed_by": registry.changed_by(),
            "adapters": registry.list(),
        }
    )


@router.get("/{version}")
def adapters_show(version: str, request: Request, _: Agent):
    return sse.Json(registry_of(request).show(version))


@router.post("/rollback")
def adapters_rollback(request: Request, user: Admin):
    registry = registry_of(request)
    previous = registry.active()
    active = registry.rollback(actor=user.name)
    return sse.Json({"previous": previous or "base", "active": active or "base"})


@router.post("/{version}/promote")
def adapters_promote(
    version: str, request: Request, user: Admin, body: PromoteRequest | None = None
):
    registry = registry_of(request)
    previous = registry.active()
    rejection = registry.rejection(version)
    active = registry.promote(version, force=bool(body and body.force), actor=user.name)
    return sse.Json(
        {
            "previous": previous or "base",
            "active": active or "base",
            "forced": rejection is not None and active != previous,
        }
    )
