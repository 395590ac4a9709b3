"""`deskloop approved list|show|edit|remove`: the approved answers served at once.

Mounted into `deskloop` by assistant/cli.py. Each command takes --json (one JSON document on
stdout); a failure is a DeskloopError, printed by the command line as one line.
"""

from __future__ import annotations

from typing import Annotated

import typer

from assistant.approved_store import ApprovedAnswer
from assistant.cli_output import err, out, print_json
from assistant.errors import DeskloopError
from assistant.settings import load_settings
from assistant.store import Store

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
IdArgument = Annotated[
    int, typer.Argument(help="The approved answer's id ('approved list').", min=1, max=2**63 - 1)
]

approved_app = typer.Typer(
    help="Approved answers: flagged good or corrected, served at once to matching questions.",
    no_args_is_help=True,
)


def _store() -> Store:
    from assistant.app import open_store

    return open_store(load_settings())


def origin_line(entry: ApprovedAnswer) -> str:
    how = "flagged good" if entry.origin == "good" else "corrected"
    where = f" in conversation {entry.conversation_id}" if entry.conversation_id else ""
    return f"{how} by {entry.created_by} on {entry.created_at[:16].replace('T', ' ')}{where}"


@approved_app.command("list")
def approved_list(as_json: JsonOption = False) -> None:
    """Every approved answer: its question, origin, who approved it and when."""
    entries = _store().approved.entries()
    if as_json:
        print_json([e.to_dict() for e in entries])
        return
    if not entries:
        err.print("No approved answers yet: flag an answer good, or correct it.")
    for entry in entries:
        question = " ".join(entry.question.split())
        question = question if len(question) <= 60 else question[:57] + "..."
        out.print(f"{entry.id:>4}  {origin_line(entry)}\n      {question}", markup=False)


@approved_app.command("show")
def approved_show(approved_id: IdArgument, as_json: JsonOption = False) -> None:
    """One approved answer in full."""
    _print(_store().approved.get(approved_id), as_json)


@approved_app.command("edit")
def approved_edit(
    approved_id: IdArgument,
    answer: Annotated[str | None, typer.Option("--answer", help="The new answer.")] = None,
    question: Annotated[
        str | None, typer.Option("--question", help="The new question it answers.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Change an approved answer's text or question (PII is masked as on approval)."""
    if answer is None and question is None:
        raise DeskloopError("say what to change: --answer TEXT and/or --question TEXT")
    _print(_store().approved.update(approved_id, question=question, answer=answer), as_json)


@approved_app.command("remove")
def approved_remove(approved_id: IdArgument, as_json: JsonOption = False) -> None:
    """Stop serving an approved answer (the flag it came from stays, for training)."""
    removed = _store().approved.remove(approved_id)
    if as_json:
        print_json({"removed": removed.to_dict()})
    else:
        out.print(f"Removed approved answer {removed.id}.")


def _print(entry: ApprovedAnswer, as_json: bool) -> None:
    if as_json:
        print_json(entry.to_dict())
        return
    out.print(f"approved answer {entry.id} · {origin_line(entry)}", markup=False)
    out.print(f"\nquestion:\n{entry.question}\n\nanswer:\n{entry.answer}", markup=False)
