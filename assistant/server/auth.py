"""Who is asking: every request carries `Authorization: Bearer <token>`.

The middleware answers 401 to a missing, wrong or revoked token before any route runs (the
body says only that); `admin` answers 403 to an agent on an admin route. Both are logged as
one line, without the token.
"""

from __future__ import annotations

import logging
from typing import Annotated

import anyio
from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from assistant.server.errors import ApiError, error_response
from assistant.users import User, Users

log = logging.getLogger("deskloop.server")
OPEN_PATHS = ("/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc")
UNAUTHORIZED = "missing, wrong or revoked token: send 'Authorization: Bearer <token>'"

# Documents the header in /docs; the middleware does the checking.
bearer = HTTPBearer(auto_error=False, description="A token from 'deskloop users add'.")


class TokenAuth:
    """Pure ASGI middleware, so streamed responses pass through untouched."""

    def __init__(self, app, users: Users):
        self.app = app
        self.users = users

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        token = bearer_token(dict(scope["headers"]).get(b"authorization", b""))
        user = await anyio.to_thread.run_sync(self.users.authenticate, token) if token else None
        if user is None:
            client = scope.get("client") or ("?", 0)
            why = "no token" if not token else "unknown or revoked token"
            log.warning("401 %s %s from %s: %s", scope["method"], scope["path"], client[0], why)
            response = error_response(401, UNAUTHORIZED, {"WWW-Authenticate": "Bearer"})
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["user"] = user
        await self.app(scope, receive, send)


def bearer_token(header: bytes) -> str:
    scheme, _, value = header.decode("latin-1").strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def current_user(request: Request, _: Annotated[object, Depends(bearer)]) -> User:
    return request.state.user


def admin(request: Request, user: Annotated[User, Depends(current_user)]) -> User:
    if not user.is_admin:
        log.warning(
            "403 %s %s by %s (%s): admins only",
            request.method,
            request.url.path,
            user.name,
            user.role,
        )
        raise ApiError(403, f"'{user.name}' is an agent: this needs an admin token")
    return user


def rate_limited(request: Request, user: Annotated[User, Depends(current_user)]) -> User:
    """For the endpoints that run the model: 429 past the per-minute limit."""
    wait = request.app.state.deskloop.limiter.allow(user.name)
    if wait is not None:
        log.warning("429 %s %s by %s: rate limit", request.method, request.url.path, user.name)
        raise ApiError(
            429,
            f"more than {request.app.state.deskloop.limiter.per_minute} answers a minute: "
            f"retry in {wait:.0f} s",
            {"Retry-After": str(max(1, round(wait)))},
        )
    return user


Agent = Annotated[User, Depends(current_user)]  # any user: agents and admins
Admin = Annotated[User, Depends(admin)]
Limited = Annotated[User, Depends(rate_limited)]  # any user, within the rate limit
