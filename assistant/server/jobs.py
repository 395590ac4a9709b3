"""Long work the server runs in the background (a training round, an evaluation).

A job runs in its own thread and keeps every progress event it emits, so a client that
connects late (or reconnects) sees the whole story. Cancelling takes effect at the job's
next progress event: the work is interrupted there by JobCancelled. One job of each kind
runs at a time.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from assistant.errors import DeskloopError, is_user_error

log = logging.getLogger("deskloop.server")
RUNNING, FINISHED, FAILED, CANCELLED = "running", "finished", "failed", "cancelled"
Work = Callable[[Callable[[dict], None]], Any]


class JobCancelled(DeskloopError):
    pass


class JobBusy(DeskloopError):
    def __init__(self, job: Job):
        super().__init__(
            f"a {job.kind} job is already running (job {job.id}, started by {job.started_by} at "
            f"{job.started_at[:16].replace('T', ' ')}): follow it with 'GET /api/jobs/{job.id}/"
            "events', or wait for it to finish"
        )
        self.job = job


@dataclass
class Job:
    id: str
    kind: str
    started_by: str
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    status: str = RUNNING
    result: Any = None
    error: str | None = None
    cancelled_by: str | None = None
    events: list[dict] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition, repr=False)
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "started_by": self.started_by,
            "started_at": self.started_at,
            "cancelled_by": self.cancelled_by,
            "events": len(self.events),
            "error": self.error,
        }

    def progress(self, event: dict) -> None:
        """The work's progress callback; raises JobCancelled once a cancel was asked for."""
        if self._cancel.is_set():
            raise JobCancelled(f"the {self.kind} job {self.id} was cancelled")
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def cancel(self, by: str) -> None:
        if self.status == RUNNING and not self._cancel.is_set():
            self.cancelled_by = by
            self._cancel.set()

    def end(self, status: str, result: Any = None, error: str | None = None) -> None:
        with self._changed:
            self.status, self.result, self.error = status, result, error
            self._changed.notify_all()

    def follow(self, wait_s: float = 5.0) -> Iterator[tuple[str, Any]]:
        """("progress", event)... from the first, then the ending; ("wait", None) while idle."""
        seen = 0
        while True:
            with self._changed:
                if seen == len(self.events) and self.status == RUNNING:
                    self._changed.wait(wait_s)
                fresh, seen = self.events[seen:], len(self.events)
                status = self.status
            for event in fresh:
                yield "progress", event
            if not fresh and status == RUNNING:
                yield "wait", None
            if status != RUNNING and seen == len(self.events):
                yield status, self.result if status == FINISHED else self.error
                return


class JobBoard:
    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def running(self, kind: str) -> Job | None:
        with self._lock:
            return next(
                (j for j in self._jobs.values() if j.kind == kind and j.status == RUNNING), None
            )

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise DeskloopError(f"no job '{job_id}': start one with POST /api/train or /api/eval")
        return job

    def start(self, kind: str, by: str, work: Work) -> Job:
        """Run ``work(progress)`` in a thread; JobBusy while a job of this kind runs."""
        with self._lock:
            busy = next(
                (j for j in self._jobs.values() if j.kind == kind and j.status == RUNNING), None
            )
            if busy is not None:
                raise JobBusy(busy)
            job = Job(f"{kind}-{next(self._ids)}-{int(time.time())}", kind, by)
            self._jobs[job.id] = job
        worker = threading.Thread(target=_run, args=(job, work), name=f"deskloop-{kind}")
        worker.daemon = True
        worker.start()
        log.info("%s job %s started by %s", kind, job.id, by)
        return job


def _run(job: Job, work: Work) -> None:
    try:
        result = work(job.progress)
    except JobCancelled as exc:
        log.info("%s job %s cancelled by %s", job.kind, job.id, job.cancelled_by)
        job.end(CANCELLED, error=f"{exc} by {job.cancelled_by}")
    except Exception as exc:
        if is_user_error(exc):
            job.end(FAILED, error=" ".join(str(exc).split()))
        else:  # a bug: the client gets one line, the log the traceback
            log.exception("%s job %s failed", job.kind, job.id)
            job.end(FAILED, error=f"the {job.kind} job failed ({type(exc).__name__}): see its log")
        log.info("%s job %s failed: %s", job.kind, job.id, job.error)
    else:
        job.end(FINISHED, result)
        log.info("%s job %s finished", job.kind, job.id)
