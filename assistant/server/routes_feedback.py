"""Feedback in bulk (admins): import flagged conversations, export the training data.

Flagging one answer is an agent's job (routes_chat); importing a file of them or exporting
everyone's feedback is an admin's. Both are logged with who did it.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, File, Request, UploadFile

from assistant.server import sse
from assistant.server.auth import Admin

router = APIRouter(prefix="/api/feedback", tags=["feedback"])
log = logging.getLogger("deskloop.server")


@router.post("/import")
def feedback_import(request: Request, user: Admin, file: Annotated[UploadFile, File()]):
    """Import a JSONL file of flagged answers (`deskloop feedback import --json`); lines that
    cannot be read are listed in `errors`, the rest imported."""
    from tuning.cli import import_feedback_file

    name = Path(file.filename or "feedback.jsonl").name
    with tempfile.TemporaryDirectory(prefix="deskloop-import-") as folder:
        path = Path(folder) / name
        path.write_bytes(file.file.read())
        result = import_feedback_file(request.app.state.deskloop.store, path, name, user.name)
    log.info(
        "feedback import by %s: %d rows, %d skipped", user.name, result.rows, len(result.errors)
    )
    return sse.Json(result.to_dict())


@router.get("/export")
def feedback_export(request: Request, user: Admin, format: Literal["sft", "dpo", "kto"] = "sft"):
    """Every flagged answer, PII scrubbed and deduplicated, in one of TRL's dataset shapes
    (`deskloop feedback export --json`)."""
    from tuning.export import export_feedback

    records, report = export_feedback(request.app.state.deskloop.settings, format)
    log.info("feedback export by %s: %d %s records", user.name, len(records), format)
    return sse.Json({"format": format, "records": records, "pii_masked": report["pii_masked"]})
