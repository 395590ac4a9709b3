"""Opening the database: a SQLite file on one machine, PostgreSQL for a team.

``connect(target)`` takes a ``database_url`` (``sqlite:///path``, ``postgresql://...``) or a
plain file path, returns a SQLAlchemy engine with a connection pool and brings its schema up
to date (assistant/migrations). Every failure to reach or open the database is a
``DatabaseError``: one line that says what to do.

SQLite: WAL, foreign keys on, a 30 s busy timeout; a read runs in a deferred transaction
(never blocks on a writer), a write in ``BEGIN IMMEDIATE`` (takes the write lock up front,
so two writers queue instead of failing on a lock upgrade).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.pool import StaticPool

from assistant.errors import DeskloopError

BUSY_TIMEOUT_S = 30
WRITE = "deskloop_write"  # execution option: begin this connection's transaction as a writer
FIX = "fix database_url (DESKLOOP_DATABASE_URL)"
UNREACHABLE = (
    "refused",
    "timeout",
    "timed out",
    "could not translate",
    "no route",
    "unreachable",
    "name or service",
)


class DatabaseError(DeskloopError):
    """The database cannot be reached, opened or used; the message says what to do."""


def normalize_url(target: str | Path) -> str:
    """A database URL for ``target``: a file path becomes a SQLite URL, postgresql:// psycopg 3."""
    text = str(target)
    if "://" not in text:
        return "sqlite://" if text in ("", ":memory:") else f"sqlite:///{Path(text).expanduser()}"
    scheme, rest = text.split("://", 1)
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    return text


def connect(target: str | Path) -> Engine:
    """An engine for ``target`` whose schema is current; DatabaseError when it cannot be used."""
    from assistant.migrations import upgrade

    engine = create_engine(target)
    upgrade(engine)
    return engine


def create_engine(target: str | Path) -> Engine:
    try:
        url = sa.make_url(normalize_url(target))
    except (sa.exc.ArgumentError, ValueError):
        raise DatabaseError(
            f"database_url '{target}' is not a database URL: use sqlite:///PATH or "
            "postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
        ) from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url)
    if backend == "postgresql":
        if url.get_driver_name() != "psycopg":
            url = url.set(drivername="postgresql+psycopg")
        return sa.create_engine(
            url,
            pool_size=8,
            max_overflow=16,
            pool_pre_ping=True,
            connect_args={"connect_timeout": 10},
        )
    raise DatabaseError(
        f"database_url {_shown(url)}: deskloop keeps its data in SQLite or PostgreSQL, "
        f"not {backend}; use sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
    )


def _sqlite_engine(url: URL) -> Engine:
    memory = url.database in (None, "", ":memory:")
    if not memory:
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url,
        connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
        # one in-memory database only exists on its one connection
        **({"poolclass": StaticPool} if memory else {"pool_size": 8, "max_overflow": 16}),
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # transactions are begun below, not by sqlite3
        if not memory:
            _use_wal(dbapi_connection)
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")
        dbapi_connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(WRITE)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _use_wal(dbapi_connection: sqlite3.Connection) -> None:
    """Switch the file to WAL (kept in the file, so a no-op after the first connection).

    The switch takes an exclusive lock that SQLite's busy timeout does not wait for: a
    connection racing another's first switch retries until the timeout.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


@contextmanager
def opened(engine: Engine, write: bool = False) -> Iterator[Connection]:
    """A pooled connection; a failure to connect is a DatabaseError that says what to do."""
    try:
        connection = engine.connect()
    except sa.exc.DBAPIError as exc:
        raise DatabaseError(describe(engine.url, exc)) from None
    with connection:
        if write:
            connection.execution_options(**{WRITE: True})
        yield connection


def describe(url: URL, exc: BaseException) -> str:
    """One line for a failure to connect: what went wrong, and what to do about it."""
    message = str(getattr(exc, "orig", None) or exc).strip()
    detail = message.splitlines()[0] if message else type(exc).__name__
    if url.get_backend_name() == "sqlite":
        return (
            f"cannot open the SQLite database {url.database} ({detail}): "
            f"check the path and its permissions, or {FIX}"
        )
    where = f"PostgreSQL server at {url.host or 'localhost'}:{url.port or 5432}"
    lowered = " ".join(message.lower().split())
    unknown_role = "role" in lowered and "does not exist" in lowered
    if unknown_role or "password authentication failed" in lowered or "no password" in lowered:
        return f"the {where} refused user '{url.username}': {FIX} with the right user and password"
    if "database" in lowered and "does not exist" in lowered:
        return (
            f"there is no database '{url.database}' on the {where}: "
            f"create it (createdb {url.database}) or {FIX}"
        )
    if any(sign in lowered for sign in UNREACHABLE):
        return f"cannot reach the {where} ({detail}): start it, or {FIX}"
    return f"cannot use the database {_shown(url)} ({detail}): {FIX}"


def _shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)
