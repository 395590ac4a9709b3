"""Ingest by upload (admins): files sent from a client, indexed like a local `deskloop ingest`.

Uploads are kept under <home>/uploads/ by the names the client gives (a folder's own name,
then the path inside it), so uploading a changed file again replaces its chunks and an
unchanged one is skipped. The report names files as they were uploaded, not where the server
keeps them; a damaged file is reported failed and the rest are indexed.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile

from assistant.server import sse
from assistant.server.auth import Admin
from assistant.server.errors import ApiError
from assistant.server.routes_knowledge import ingest_for

router = APIRouter(prefix="/api", tags=["knowledge"])
UPLOADS = "uploads"


@router.post("/ingest/upload")
def ingest_upload(
    request: Request,
    user: Admin,
    files: Annotated[list[UploadFile], File(description="The files; their names are kept.")],
    tickets: Annotated[bool, Form()] = False,
    id_field: Annotated[str | None, Form()] = None,
    text_field: Annotated[str | None, Form()] = None,
    title_field: Annotated[str | None, Form()] = None,
):
    """Index uploaded files (admins; `deskloop ingest --json` with DESKLOOP_SERVER set)."""
    state = request.app.state.deskloop
    folder = state.settings.paths.root / UPLOADS
    saved = [_save(folder, upload) for upload in files]
    options = {
        "tickets": tickets,
        "id_field": id_field,
        "text_field": text_field,
        "title_field": title_field,
    }
    report = ingest_for(state, saved, options, user).to_dict()
    return sse.Json(_as_uploaded(report, folder))


def _save(folder: Path, upload: UploadFile) -> Path:
    name = PurePosixPath((upload.filename or "").replace("\\", "/"))
    if not name.parts or name.is_absolute() or any(p in ("", ".", "..") for p in name.parts):
        raise ApiError(400, f"upload name '{upload.filename}' is not a relative file path")
    path = folder.joinpath(*name.parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(upload.file.read())
    return path


def _as_uploaded(report: dict, folder: Path) -> dict:
    prefix = str(folder.resolve()) + "/"
    for key in ("failed", "skipped", "warnings"):
        for issue in report[key]:
            issue["path"] = issue["path"].removeprefix(prefix)
    return report
