"""Searching the knowledge base (agents) and changing it (admins)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from assistant.errors import DeskloopError
from assistant.server import sse
from assistant.server.auth import Admin, Agent
from assistant.server.errors import ApiError
from assistant.users import User

router = APIRouter(prefix="/api", tags=["knowledge"])
log = logging.getLogger("deskloop.server")


class IngestRequest(BaseModel):
    paths: list[str] = Field(min_length=1, description="Files or folders on the server.")
    tickets: bool = False
    id_field: str | None = None
    text_field: str | None = None
    title_field: str | None = None


EMPTY = "the knowledge base is empty: add files with 'deskloop ingest PATH'"


@router.get("/search")
def search(
    request: Request,
    _: Agent,
    q: str = Query(min_length=1, description="What to look for."),
    k: int = Query(5, ge=1, le=100),
    kind: Literal["manual", "ticket"] | None = None,
    product: str | None = None,
    headings: bool = Query(False, description="Add each hit's heading, as the CLI prints it."),
):
    """Ranked hits, BM25 and embeddings fused (`deskloop search --json`)."""
    from retrieval.chunking import heading

    kb = request.app.state.deskloop.knowledge_base
    if kb.is_empty():
        raise DeskloopError(EMPTY)
    hits = kb.search(q, k=k, kind=kind, product=product)
    if not headings:
        return sse.Json([hit.to_dict() for hit in hits])
    return sse.Json([{**h.to_dict(), "heading": heading(h.title, h.section or "")} for h in hits])


@router.get("/sources")
def sources(request: Request, _: Agent):
    """What is indexed, with chunk counts (`deskloop sources --json`)."""
    kb = request.app.state.deskloop.knowledge_base
    return sse.Json([s.to_dict() for s in kb.sources()])


@router.delete("/sources")
def remove_source(
    request: Request,
    _: Admin,
    source: str = Query(min_length=1, description="The source as /api/sources names it."),
):
    """Delete a source from the index (admins; `deskloop sources --remove`)."""
    from retrieval import UnknownSourceError

    kb = request.app.state.deskloop.knowledge_base
    try:
        removed = kb.remove(source)
    except UnknownSourceError as exc:
        raise ApiError(404, f"{exc}: GET /api/sources lists what is indexed") from None
    return sse.Json({"removed": source, "chunks": removed})


@router.post("/ingest")
def ingest(body: IngestRequest, request: Request, user: Admin):
    """Index files or folders that the server can read (admins; `deskloop ingest --json`)."""
    paths = [Path(p) for p in body.paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise ApiError(400, f"no such file or folder on the server: {', '.join(missing)}")
    options = body.model_dump(exclude={"paths"})
    return sse.Json(ingest_for(request.app.state.deskloop, paths, options, user).to_dict())


def ingest_for(state, paths: list[Path], options: dict, user: User):
    """Index ``paths`` for ``user``, ground answers from then on, and log who did it."""
    report = state.knowledge_base.ingest(paths, **options)
    state.ground()
    log.info(
        "ingest by %s: %d files indexed, %d failed",
        user.name,
        report.files_indexed,
        len(report.failed),
    )
    return report
