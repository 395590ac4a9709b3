"""Versioned LoRA adapters with an atomically switched active pointer.

Layout under ``root``::

    v0001/  adapter_config.json  adapter_model.safetensors  metadata.json
    v0002/  ...

The active pointer (the version in service, null for the base, and the versions it replaced)
is a row in the database (``adapter_pointer``), so every process sharing the database, a
team's server and its clients alike, sees the same adapter in service; each switch is one
transaction. A pointer left in ``active.json`` by an earlier deskloop is read until the first
switch writes the row. Version folders are written to a temporary name, fsynced and then
renamed into place, so a crash at any moment leaves either the old or the new state.

A version the promotion gate rejected (its metadata's ``decision``) is promoted only when
forced; the forced promotion is added to its metadata.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from assistant.database import connect, opened
from assistant.errors import DeskloopError

ACTIVE_FILE = "active.json"  # where earlier versions kept the pointer
METADATA_FILE = "metadata.json"
PEFT_FILES = ("adapter_config.json", "adapter_model.safetensors")
BASE = "base"
_VERSION = re.compile(r"^v(\d{4,})$")


def normalize_version(name: str) -> str:
    """'v0003', 'v3' and '3' all name version v0003."""
    match = re.fullmatch(r"v?(\d+)", name.strip())
    if not match:
        raise DeskloopError(
            f"'{name}' is not an adapter version: use a name from 'deskloop adapters list' "
            "such as v0001"
        )
    return f"v{int(match.group(1)):04d}"


class RejectedAdapterError(DeskloopError):
    def __init__(self, version: str, reason: str):
        super().__init__(
            f"the promotion gate rejected {version} ({reason}); pass --force to promote it anyway"
        )
        self.version = version
        self.reason = reason


class AdapterRegistry:
    def __init__(self, root: str | Path, database: str | Path | None = None):
        """``database``: the store's database_url; by default the SQLite store of the data
        directory ``root`` lies in (``root/../deskloop.db``, the default layout)."""
        self.root = Path(root)
        self.database = database or self.root.parent / "deskloop.db"
        self._engine: sa.Engine | None = None

    @classmethod
    def for_settings(cls, settings) -> AdapterRegistry:
        return cls(settings.paths.adapters, settings.store_url)

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = connect(self.database)
        return self._engine

    # reading

    def versions(self) -> list[str]:
        if not self.root.is_dir():
            return []
        found = [p.name for p in self.root.iterdir() if p.is_dir() and _VERSION.match(p.name)]
        return sorted(found, key=lambda name: int(name[1:]))

    def path_of(self, version: str) -> Path:
        version = normalize_version(version)
        path = self.root / version
        if not (path / METADATA_FILE).is_file():
            raise DeskloopError(
                f"no adapter {version}: 'deskloop adapters list' shows the versions there are"
            )
        return path

    def show(self, version: str) -> dict[str, Any]:
        path = self.path_of(version)
        metadata = json.loads((path / METADATA_FILE).read_text(encoding="utf-8"))
        return {
            **metadata,
            "version": path.name,
            "path": str(path),
            "active": path.name == self.active(),
        }

    def list(self) -> list[dict[str, Any]]:
        return [self.show(v) for v in self.versions()]

    def rejection(self, version: str) -> str | None:
        """Why the promotion gate rejected ``version``; None if it passed (or predates it)."""
        decision = self.show(version).get("decision") or {}
        if decision.get("promote", True):
            return None
        return str(decision.get("reason") or "no reason recorded")

    def active(self) -> str | None:
        """The version in service, or None for the base model."""
        return self._read_pointer()["version"]

    def history(self) -> list[str | None]:
        return list(self._read_pointer()["history"])

    def active_choice(self) -> tuple[str | None, Path | None]:
        """(version, folder) to serve with, or (None, None) for the base; one indexed read."""
        version = self.active()
        return version, self.root / version if version else None

    def _read_pointer(self, db: sa.Connection | None = None) -> dict[str, Any]:
        if db is None:
            with opened(self.engine) as db:
                return self._read_pointer(db)
        row = db.execute(sa.text("SELECT version, history FROM adapter_pointer")).first()
        if row is not None:
            return {"version": row.version, "history": json.loads(row.history)}
        return self._legacy_pointer()

    def _legacy_pointer(self) -> dict[str, Any]:
        try:
            data = json.loads((self.root / ACTIVE_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"version": None, "history": []}
        except (OSError, ValueError) as exc:
            raise DeskloopError(
                f"cannot read {self.root / ACTIVE_FILE} ({exc}): run 'deskloop adapters promote V' "
                "or 'deskloop adapters rollback' to rewrite it"
            ) from None
        return {"version": data.get("version"), "history": list(data.get("history", []))}

    # writing

    def register(self, candidate_dir: str | Path, metadata: dict[str, Any]) -> str:
        """Copy a PEFT adapter folder in as the next version; returns the version name."""
        candidate_dir = Path(candidate_dir)
        missing = [f for f in PEFT_FILES if not (candidate_dir / f).is_file()]
        if missing:
            raise DeskloopError(
                f"{candidate_dir} is not a PEFT adapter folder (missing {', '.join(missing)})"
            )
        self.root.mkdir(parents=True, exist_ok=True)
        with self._locked():
            self._remove_staging()
            existing = self.versions()
            version = f"v{(int(existing[-1][1:]) + 1 if existing else 1):04d}"
            staging = self.root / f".staging-{uuid.uuid4().hex}"
            staging.mkdir()
            for name in PEFT_FILES:
                shutil.copyfile(candidate_dir / name, staging / name)
                _fsync_file(staging / name)
            record = {
                **metadata,
                "version": version,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            _write_atomic(staging / METADATA_FILE, json.dumps(record, indent=2, default=str))
            _fsync_dir(staging)
            os.replace(staging, self.root / version)
            _fsync_dir(self.root)
        return version

    def promote(self, version: str, force: bool = False, actor: str | None = None) -> str:
        """Make ``version`` the adapter in service; the one it replaces goes on the history.

        A version the gate rejected needs ``force`` (RejectedAdapterError otherwise).
        ``actor``: the server's user who promoted it, kept with the pointer.
        """
        path = self.path_of(version)
        for name in PEFT_FILES:
            if not (path / name).is_file():
                raise DeskloopError(f"adapter {path.name} lacks {name}: it cannot be served")
        rejection = self.rejection(path.name)
        if rejection is not None and not force:
            raise RejectedAdapterError(path.name, rejection)
        with self._pointer() as (db, pointer):
            if pointer["version"] == path.name:
                return path.name
            if rejection is not None:
                with self._locked():
                    self._record_forced(path, rejection)
            history = [*pointer["history"], pointer["version"]]
            self._write_pointer(db, path.name, history, actor)
        return path.name

    def _record_forced(self, path: Path, rejection: str) -> None:
        metadata = json.loads((path / METADATA_FILE).read_text(encoding="utf-8"))
        forced = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "rejection": rejection}
        metadata["forced_promotions"] = [*metadata.get("forced_promotions", []), forced]
        _write_atomic(path / METADATA_FILE, json.dumps(metadata, indent=2, default=str))

    def rollback(self, actor: str | None = None) -> str | None:
        """Serve the previously active adapter again (the base when there was none)."""
        with self._pointer() as (db, pointer):
            if pointer["version"] is None and not pointer["history"]:
                raise DeskloopError("nothing to roll back: the base model is already in service")
            history = pointer["history"]
            previous = history.pop() if history else None
            self._write_pointer(db, previous, history, actor)
        return previous

    @contextmanager
    def _pointer(self) -> Iterator[tuple[sa.Connection, dict[str, Any]]]:
        """The pointer, read and rewritten in one transaction that holds its row locked."""
        with opened(self.engine, write=True) as db, db.begin():
            if db.execute(sa.text("SELECT id FROM adapter_pointer")).first() is None:
                first = self._legacy_pointer()
                db.execute(
                    sa.text(
                        "INSERT INTO adapter_pointer (id, version, history, updated_at)"
                        " VALUES (1, :version, :history, :stamp) ON CONFLICT (id) DO NOTHING"
                    ),
                    {**first, "history": json.dumps(first["history"]), "stamp": _stamp()},
                )
            if db.dialect.name != "sqlite":  # SQLite's BEGIN IMMEDIATE already excludes writers
                db.execute(sa.text("SELECT id FROM adapter_pointer FOR UPDATE"))
            yield db, self._read_pointer(db)

    def _write_pointer(
        self,
        db: sa.Connection,
        version: str | None,
        history: list[str | None],
        actor: str | None = None,
    ) -> None:
        db.execute(
            sa.text(
                "INSERT INTO adapter_pointer (id, version, history, updated_at, actor)"
                " VALUES (1, :version, :history, :stamp, :actor) ON CONFLICT (id) DO UPDATE SET"
                " version = excluded.version, history = excluded.history,"
                " updated_at = excluded.updated_at, actor = excluded.actor"
            ),
            {
                "version": version,
                "history": json.dumps(history),
                "stamp": _stamp(),
                "actor": actor,
            },
        )

    def changed_by(self) -> str | None:
        """The server user who last promoted or rolled back; None: the local command line."""
        with opened(self.engine) as db:
            return db.execute(sa.text("SELECT actor FROM adapter_pointer")).scalar()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer at a time across processes; readers never need the lock."""
        with open(self.root / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _remove_staging(self) -> None:
        """Leftovers of a register that was killed part-way."""
        for leftover in self.root.glob(".staging-*"):
            shutil.rmtree(leftover, ignore_errors=True)


def _stamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
