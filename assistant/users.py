"""The people who may use a deskloop server: a name, a role and the hash of their token.

A token is shown once, when the user is added; the database keeps only its sha256. Agents
chat, flag, correct and search; admins may also change the knowledge base, train, promote,
roll back and manage users.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import text

from assistant.errors import DeskloopError
from assistant.store import Store, now

ROLES = ("agent", "admin")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


@dataclass(frozen=True)
class User:
    name: str
    role: str
    created_at: str
    created_by: str | None = None
    revoked_at: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def may(self, role: str) -> bool:
        """Whether this user holds ``role`` (an admin holds every role)."""
        return self.is_admin or self.role == role

    def to_dict(self) -> dict:
        return {**self.__dict__, "active": self.revoked_at is None}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Users:
    def __init__(self, store: Store):
        self.store = store

    def add(self, name: str, role: str, created_by: str | None = None) -> tuple[User, str]:
        """A new user and their token (the only time it is seen)."""
        if not NAME.match(name):
            raise DeskloopError(
                f"user name {name!r} is not allowed: use letters, digits and . _ @ - (64 at most)"
            )
        if role not in ROLES:
            raise DeskloopError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        existing = self._row(name)
        if existing is not None and existing["revoked_at"] is None:
            raise DeskloopError(
                f"user '{name}' exists: revoke it with 'deskloop users revoke {name}' first"
                " or choose another name"
            )
        token = secrets.token_urlsafe(32)
        with self.store.transaction() as db:
            db.execute(
                text(
                    "INSERT INTO users (name, role, token_hash, created_at, created_by)"
                    " VALUES (:name, :role, :hash, :stamp, :by) ON CONFLICT (name) DO UPDATE"
                    " SET role = excluded.role, token_hash = excluded.token_hash,"
                    " created_at = excluded.created_at, created_by = excluded.created_by,"
                    " revoked_at = NULL"
                ),
                {
                    "name": name,
                    "role": role,
                    "hash": token_hash(token),
                    "stamp": now(),
                    "by": created_by,
                },
            )
        return self.get(name), token

    def get(self, name: str) -> User:
        row = self._row(name)
        if row is None:
            raise DeskloopError(f"no user '{name}': 'deskloop users list' shows them")
        return User(**row)

    def list(self) -> list[User]:
        rows = self.store._fetchall(
            "SELECT name, role, created_at, created_by, revoked_at FROM users ORDER BY name"
        )
        return [User(**row) for row in rows]

    def revoke(self, name: str) -> User:
        user = self.get(name)
        if user.revoked_at is not None:
            return user
        with self.store.transaction() as db:
            # a revoked name is kept (its turns and flags still name it) but its hash goes
            db.execute(
                text("UPDATE users SET revoked_at = :stamp, token_hash = :gone WHERE name = :name"),
                {"stamp": now(), "gone": f"revoked:{name}", "name": name},
            )
        return self.get(name)

    def authenticate(self, token: str) -> User | None:
        """The active user this token belongs to; None for a wrong or revoked token."""
        if not token:
            return None
        wanted = token_hash(token)
        row = self.store._fetchone(
            "SELECT name, role, created_at, created_by, revoked_at, token_hash FROM users"
            " WHERE token_hash = :hash AND revoked_at IS NULL",
            {"hash": wanted},
        )
        if row is None or not hmac.compare_digest(row["token_hash"], wanted):
            return None
        data = dict(row)
        del data["token_hash"]
        return User(**data)

    def _row(self, name: str):
        return self.store._fetchone(
            "SELECT name, role, created_at, created_by, revoked_at FROM users WHERE name = :name",
            {"name": name},
        )
