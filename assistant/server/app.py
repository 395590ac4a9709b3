"""The ASGI app: routes per area behind token authentication."""

from __future__ import annotations

from fastapi import FastAPI

from assistant.server import (
    errors,
    routes_adapters,
    routes_approved,
    routes_chat,
    routes_feedback,
    routes_jobs,
    routes_knowledge,
    routes_openai,
    routes_upload,
    routes_users,
)
from assistant.server.auth import TokenAuth
from assistant.server.state import ServerState


def create_app(state: ServerState) -> FastAPI:
    app = FastAPI(
        title="deskloop",
        description=(
            "A grounded support assistant for a team. Every request needs "
            "`Authorization: Bearer <token>` (from `deskloop users add`)."
        ),
        version="1",
    )
    app.state.deskloop = state
    for area in (
        routes_openai,
        routes_chat,
        routes_knowledge,
        routes_upload,
        routes_feedback,
        routes_approved,
        routes_adapters,
        routes_jobs,
        routes_users,
    ):
        app.include_router(area.router)
    errors.install(app)
    app.add_middleware(TokenAuth, users=state.users)
    return app
