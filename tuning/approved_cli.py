"""`deskloop approved list|show|edit|remove`: the approved answers served at once.

Mounted into `deskloop` by assistant/cli.py. Each command takes --json (one JSON document on
stdout); a failure is a DeskloopError, printed by the command line as one line. With
DESKLOOP_SERVER set, each asks the server instead of the local store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from assistant import client
from assistant.cli_output import err, out, print_json
from assistant.errors import DeskloopError

if TYPE_CHECKING:
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
    from assistant.settings import load_settings

    return open_store(load_settings())


def origin_line(entry: dict) -> str:
    """``entry``: an approved answer's to_dict()."""
    how = "flagged good" if entry["origin"] == "good" else "corrected"
    conversation = entry.get("conversation_id")
    where = f" in conversation {conversation}" if conversation else ""
    stamp = entry["created_at"][:16].replace("T", " ")
    edited = f", last edited by {entry['updated_by']}" if entry.get("updated_by") else ""
    return f"{how} by {entry['created_by']} on {stamp}{where}{edited}"


@approved_app.command("list")
def approved_list(as_json: JsonOption = False) -> None:
    """Every approved answer: its question, origin, who approved it and when."""
    if (server := client.from_env()) is not None:
        entries = server.approved()
    else:
        entries = [e.to_dict() for e in _store().approved.entries()]
    if as_json:
        print_json(entries)
        return
    if not entries:
        err.print("No approved answers yet: flag an answer good, or correct it.")
    for entry in entries:
        question = " ".join(entry["question"].split())
        question = question if len(question) <= 60 else question[:57] + "..."
        out.print(f"{entry['id']:>4}  {origin_line(entry)}\n      {question}", markup=False)


@approved_app.command("show")
def approved_show(approved_id: IdArgument, as_json: JsonOption = False) -> None:
    """One approved answer in full."""
    if (server := client.from_env()) is not None:
        _print(server.approved(approved_id), as_json)
    else:
        _print(_store().approved.get(approved_id).to_dict(), as_json)


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
    if (server := client.from_env()) is not None:
        _print(server.approved_edit(approved_id, question, answer), as_json)
    else:
        edited = _store().approved.update(approved_id, question=question, answer=answer)
        _print(edited.to_dict(), as_json)


@approved_app.command("remove")
def approved_remove(approved_id: IdArgument, as_json: JsonOption = False) -> None:
    """Stop serving an approved answer (the flag it came from stays, for training)."""
    if (server := client.from_env()) is not None:
        document = server.approved_remove(approved_id)
    else:
        document = {"removed": _store().approved.remove(approved_id).to_dict()}
    if as_json:
        print_json(document)
    else:
        out.print(f"Removed approved answer {document['removed']['id']}.")


def _print(entry: dict, as_json: bool) -> None:
    if as_json:
        print_json(entry)
        return
    out.print(f"approved answer {entry['id']} · {origin_line(entry)}", markup=False)
    out.print(f"\nquestion:\n{entry['question']}\n\nanswer:\n{entry['answer']}", markup=False)
