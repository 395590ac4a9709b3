"""Alembic migrations of deskloop's database, run in code whenever a database is opened.

A SQLite store written before Alembic numbered its schema with ``PRAGMA user_version``
(1 to 5); revisions 0001 to 0005 are those same steps, so such a store is stamped at the
revision its user_version names and upgraded from there, its rows kept. The whole upgrade is
one transaction (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: under an advisory lock), so two
processes opening an old store at once migrate it once.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy.engine import Connection, Engine

from assistant.database import DatabaseError, opened

SCRIPTS = Path(__file__).resolve().parent
LEGACY_VERSIONS = 5  # the last PRAGMA user_version the pre-Alembic store wrote
ADVISORY_LOCK = 0x6465736B  # "desk": serializes migrations on a PostgreSQL server


def config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    cfg.attributes["connection"] = connection
    return cfg


@cache
def head() -> str:
    return ScriptDirectory.from_config(config()).get_current_head()


def revision(connection: Connection) -> str | None:
    """The revision this database is at; None before Alembic ran on it."""
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision (nothing to do, the usual case, costs one query)."""
    with opened(engine) as connection:
        if revision(connection) == head():
            return
    sqlite = engine.dialect.name == "sqlite"
    with opened(engine, write=True) as connection:
        if sqlite:
            # A step may rebuild a table (SQLite cannot alter a CHECK): with foreign keys on,
            # dropping the old table would cascade into the rows that refer to it. The pragma
            # only takes effect outside a transaction.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                if not sqlite:
                    connection.execute(sa.text(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK})"))
                _run(connection, sqlite)
        finally:
            if sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


def _run(connection: Connection, sqlite: bool) -> None:
    cfg = config(connection)
    current = revision(connection)
    if current is None and sqlite:
        legacy = connection.exec_driver_sql("PRAGMA user_version").scalar()
        if legacy > LEGACY_VERSIONS:
            raise _newer(str(legacy))
        if legacy:
            command.stamp(cfg, f"{legacy:04d}")
    try:
        command.upgrade(cfg, "head")
    except CommandError:
        raise _newer(current) from None
    if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
        raise DatabaseError("a schema migration broke a foreign key; the database is unchanged")


def _newer(version: str | None) -> DatabaseError:
    return DatabaseError(
        f"the database was written by a newer deskloop (schema {version}); upgrade deskloop"
    )
