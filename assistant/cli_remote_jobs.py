"""`deskloop train` and `eval` as jobs on a deskloop server.

The server's progress events are the local ones, drawn by the same view; the job's result is
the document the local command prints. Ctrl-C asks whether to cancel the job on the server
(without a terminal to ask at, it cancels it) and says what became of it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from assistant.cli_output import err
from assistant.client import Client, ServerError
from assistant.errors import DeskloopError


def train_on_server(client: Client, view, no_seeds: bool, seeds: Path | None, **options) -> dict:
    """A training round on the server; ``seeds``, a file here, travels with the request."""
    body = {**options, "no_seeds": no_seeds}
    if seeds is not None and not no_seeds:
        body |= {"seeds_name": seeds.name, "seeds_text": _text_of(seeds)}
    return follow(client, client.start_train(**body), view)


def eval_on_server(
    client: Client,
    view,
    file: Path,
    adapter: str,
    retrieve: bool,
    max_new_tokens: int | None,
    limit: int | None,
) -> dict:
    job = client.start_eval(
        file=str(file),
        rows=_text_of(file),
        adapter=adapter,
        retrieve=retrieve,
        max_new_tokens=max_new_tokens,
        limit=limit,
    )
    return follow(client, job, view)


def follow(client: Client, job: dict, view) -> dict:
    """Draw the job's progress until it ends; its result, or its failure as one line."""
    try:
        for name, data in client.job_events(job["id"]):
            if name == "progress":
                view(data)
            elif name == "done":
                return data
            elif name == "cancelled":
                message = data.get("error", {}).get("message") or "the job was cancelled"
                raise ServerError(f"{message}: nothing was registered")
    except KeyboardInterrupt:
        _stop(client, job)
        raise
    raise ServerError(
        f"the deskloop server at {client.url} ended job {job['id']} early: see the server's log"
    )


def _stop(client: Client, job: dict) -> None:
    what = f"the {job['kind']} job {job['id']}"
    if sys.stdin.isatty():
        try:
            answer = input(f"\nCancel {what} on the server? [y/N] ").strip().lower()
        except (EOFError, KeyboardInterrupt):
            answer = "y"
    else:
        answer = "y"
    if answer not in ("y", "yes"):
        err.print(
            f"{what.capitalize()} goes on on the server; 'deskloop adapters list' shows "
            "what it registered when it ends."
        )
        return
    client.cancel_job(job["id"])
    err.print(f"Cancelled {what} on the server (a training round resumes from its checkpoint).")


def _text_of(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DeskloopError(f"{path} is not UTF-8 text: save it as UTF-8") from None
    except OSError as exc:
        raise DeskloopError(f"cannot read {path} ({exc.strerror}): check the path") from None
