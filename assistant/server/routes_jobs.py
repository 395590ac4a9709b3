"""Training rounds and evaluations as background jobs (admins start and cancel them).

POST /api/train or /api/eval answers at once with the job; GET /api/jobs/{id}/events streams
its progress events (the ones `deskloop train` draws locally), then `done` with the document
the local command prints with --json, `cancelled`, or `error`. One job of each kind at a time:
a second start gets 409, as does a round while another process on the database runs one.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from assistant.server import sse
from assistant.server.auth import Admin, Agent
from assistant.server.errors import ApiError, error_body
from assistant.server.jobs import CANCELLED, FAILED, FINISHED, JobBusy

router = APIRouter(prefix="/api", tags=["jobs"])
MAX_STEPS = 1_000_000


class TrainRequest(BaseModel):
    method: Literal["qlora", "lora"] | None = None
    max_steps: int | None = Field(None, ge=1, le=MAX_STEPS)
    epochs: float | None = Field(None, ge=0.01, le=1000)
    max_new_tokens: int | None = Field(None, ge=1)
    eval_limit: int | None = Field(None, ge=1)
    no_seeds: bool = Field(False, description="Train on logged feedback only.")
    seeds_name: str | None = Field(None, description="Seed tickets' file name (.csv, .jsonl).")
    seeds_text: str | None = Field(None, description="Its content; default: the shipped seeds.")


class EvalRequest(BaseModel):
    file: str = Field("eval.jsonl", description="The rows' file name, as the result names it.")
    rows: str = Field(min_length=1, description="JSONL: question or messages, reference.")
    adapter: str = "active"
    retrieve: bool = True
    max_new_tokens: int | None = Field(None, ge=1)
    limit: int | None = Field(None, ge=1)


@router.post("/train", status_code=202)
def train(body: TrainRequest, request: Request, user: Admin):
    """Start a learning round (`deskloop train`); follow it at /api/jobs/{id}/events."""
    from tuning.round import run_round
    from tuning.round_claim import RoundBusyError, TrainingRounds

    state = request.app.state.deskloop
    if (busy := state.jobs.running("train")) is not None:
        raise ApiError(409, str(JobBusy(busy)))
    rounds = TrainingRounds(state.settings.store_url)  # a round another process started
    holder = rounds.running()
    if holder is not None and not rounds.is_stale(holder):
        raise ApiError(409, str(RoundBusyError(holder)))
    options = body.model_dump(exclude={"no_seeds", "seeds_name", "seeds_text"})

    def work(progress):
        with _seeds(body) as seeds:
            return run_round(state.settings, seeds_path=seeds, progress=progress, **options)

    return _started(state, "train", user.name, work)


@router.post("/eval", status_code=202)
def evaluate(body: EvalRequest, request: Request, user: Admin):
    """Score answers on rows with reference answers (`deskloop eval`), as a job."""
    from tuning.evaluate import evaluate_file

    state = request.app.state.deskloop

    def work(progress):
        with _as_file(body.rows, Path(body.file).name or "eval.jsonl") as rows:
            result = evaluate_file(
                state.settings,
                rows,
                body.adapter,
                body.retrieve,
                body.max_new_tokens,
                body.limit,
                progress,
            )
        return {**result, "file": body.file}

    return _started(state, "eval", user.name, work)


@router.get("/jobs/{job_id}")
def job(job_id: str, request: Request, _: Agent):
    return sse.Json(request.app.state.deskloop.jobs.get(job_id).to_dict())


@router.post("/jobs/{job_id}/cancel")
def cancel(job_id: str, request: Request, user: Admin):
    """Stop a job at its next progress event (a round resumes from its checkpoint later)."""
    job = request.app.state.deskloop.jobs.get(job_id)
    job.cancel(user.name)
    return sse.Json(job.to_dict())


@router.get(
    "/jobs/{job_id}/events",
    response_class=sse.StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
def job_events(job_id: str, request: Request, _: Agent):
    """Every `progress` event from the first, then `done` (the result), `cancelled` or
    `error`; a comment every few seconds while the job is quiet."""
    job = request.app.state.deskloop.jobs.get(job_id)
    return sse.streamed(_events(job))


def _events(job):
    for kind, data in job.follow():
        if kind == "progress":
            yield sse.event(data, "progress")
        elif kind == "wait":
            yield sse.comment("working")
        elif kind == FINISHED:
            yield sse.event(data, "done")
        elif kind == CANCELLED:
            yield sse.event(error_body(409, data), "cancelled")
        elif kind == FAILED:
            yield sse.event(error_body(400, data), "error")


def _started(state, kind: str, by: str, work) -> sse.Json:
    try:
        job = state.jobs.start(kind, by, work)
    except JobBusy as exc:
        raise ApiError(409, str(exc)) from None
    return sse.Json(job.to_dict(), status_code=202)


@contextmanager
def _as_file(text: str, name: str) -> Iterator[Path]:
    """Text a request carried, as a file in a temporary folder for the block."""
    with tempfile.TemporaryDirectory(prefix="deskloop-job-") as folder:
        path = Path(folder) / Path(name).name
        path.write_text(text, encoding="utf-8")
        yield path


@contextmanager
def _seeds(body: TrainRequest) -> Iterator[Path | None]:
    """The round's seed tickets: none, the ones sent, or the shipped ones (as locally)."""
    from tuning.round import DEFAULT_SEEDS

    if body.no_seeds:
        yield None
    elif body.seeds_text is None:
        yield DEFAULT_SEEDS
    else:
        with _as_file(body.seeds_text, body.seeds_name or "seeds.csv") as seeds:
            yield seeds
