"""Who is running the training round: one at a time for everyone sharing the database.

A round is claimed by inserting its row as 'running'; a unique index admits one such row, so
two admins starting at once get one round and one clear refusal. The holder beats a
heartbeat while it works. A claim whose process is gone (same host, pid not alive) or whose
heartbeat is older than ``stale_after_s`` (any host) is marked 'abandoned' and taken over;
the new round resumes from the killed one's checkpoint as before.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import sqlalchemy as sa

from assistant.approved_store import current_user
from assistant.database import connect, opened
from assistant.errors import DeskloopError

HEARTBEAT_S = 15.0
STALE_AFTER_S = 120.0


@dataclass
class RoundRecord:
    id: int
    status: str
    stage: str | None
    started_by: str
    host: str
    pid: int
    started_at: str
    heartbeat_at: str
    finished_at: str | None = None
    summary: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["summary"] = json.loads(self.summary) if self.summary else None
        return data


class RoundBusyError(DeskloopError):
    def __init__(self, holder: RoundRecord):
        super().__init__(
            f"a training round is already running (round {holder.id}, started by "
            f"{holder.started_by} on {holder.host} at {holder.started_at[:16].replace('T', ' ')}"
            f", stage {holder.stage or 'starting'}): wait for it to finish"
        )
        self.holder = holder


def _now() -> datetime:
    return datetime.now(UTC)


class TrainingRounds:
    def __init__(self, database: str | Path, stale_after_s: float = STALE_AFTER_S):
        self.engine = connect(database)
        self.stale_after_s = stale_after_s

    def running(self) -> RoundRecord | None:
        """The round in progress, as every process sees it; None when there is none."""
        return self._one("SELECT * FROM training_rounds WHERE status = 'running'")

    def get(self, round_id: int) -> RoundRecord | None:
        return self._one("SELECT * FROM training_rounds WHERE id = :id", {"id": round_id})

    def claim(self, stage: str | None = None) -> RoundRecord:
        """Start a round as this process, taking over a stale claim; RoundBusyError if held."""
        for _ in range(3):  # a takeover races another taker at most a couple of times
            holder = self.running()
            if holder is not None:
                if not self.is_stale(holder):
                    raise RoundBusyError(holder)
                self._abandon(holder)
            stamp = _now().isoformat(timespec="milliseconds")
            try:
                with opened(self.engine, write=True) as db, db.begin():
                    round_id = db.execute(
                        sa.text(
                            "INSERT INTO training_rounds (status, stage, started_by, host, pid,"
                            " started_at, heartbeat_at) VALUES ('running', :stage, :by, :host,"
                            " :pid, :stamp, :stamp) RETURNING id"
                        ),
                        {
                            "stage": stage,
                            "by": current_user(),
                            "host": socket.gethostname(),
                            "pid": os.getpid(),
                            "stamp": stamp,
                        },
                    ).scalar_one()
            except sa.exc.IntegrityError:
                continue  # another process claimed it between the look and the insert
            return self.get(round_id)
        holder = self.running()
        raise RoundBusyError(holder) if holder else DeskloopError("could not claim the round")

    def is_stale(self, holder: RoundRecord) -> bool:
        if holder.host == socket.gethostname() and not _alive(holder.pid):
            return True
        beat = datetime.fromisoformat(holder.heartbeat_at)
        return (_now() - beat).total_seconds() > self.stale_after_s

    def beat(self, round_id: int, stage: str | None = None) -> None:
        self._update(
            "UPDATE training_rounds SET heartbeat_at = :stamp, stage = COALESCE(:stage, stage)"
            " WHERE id = :id AND status = 'running'",
            {"stamp": _now().isoformat(timespec="milliseconds"), "stage": stage, "id": round_id},
        )

    def finish(self, round_id: int, status: str, summary: dict[str, Any] | None = None) -> None:
        self._update(
            "UPDATE training_rounds SET status = :status, finished_at = :stamp,"
            " summary = :summary WHERE id = :id AND status = 'running'",
            {
                "status": status,
                "stamp": _now().isoformat(timespec="milliseconds"),
                "summary": json.dumps(summary, default=str) if summary is not None else None,
                "id": round_id,
            },
        )

    @contextmanager
    def held(self, stage: str | None = None) -> Iterator[RoundRecord]:
        """Claim a round for the block, beating its heartbeat; finished or failed at the end."""
        claim = self.claim(stage)
        stop = threading.Event()

        def keep_beating() -> None:
            while not stop.wait(HEARTBEAT_S):
                self.beat(claim.id)

        beater = threading.Thread(target=keep_beating, name="round-heartbeat", daemon=True)
        beater.start()
        status = "failed"
        try:
            yield claim
            status = "finished"
        finally:
            stop.set()
            beater.join()
            self.finish(claim.id, status)

    def _abandon(self, holder: RoundRecord) -> None:
        # compare-and-set on the heartbeat seen: a holder that beat meanwhile keeps its claim
        self._update(
            "UPDATE training_rounds SET status = 'abandoned', finished_at = :stamp"
            " WHERE id = :id AND status = 'running' AND heartbeat_at = :seen",
            {
                "stamp": _now().isoformat(timespec="milliseconds"),
                "id": holder.id,
                "seen": holder.heartbeat_at,
            },
        )

    def _one(self, sql: str, params: dict | None = None) -> RoundRecord | None:
        with opened(self.engine) as db:
            row = db.execute(sa.text(sql), params or {}).mappings().first()
        return RoundRecord(**row) if row else None

    def _update(self, sql: str, params: dict) -> None:
        with opened(self.engine, write=True) as db, db.begin():
            db.execute(sa.text(sql), params)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
