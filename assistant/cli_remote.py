"""`ask`, `search`, `history`, `feedback flag` and `ingest` against a deskloop server: the
local commands' output."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from assistant.cli_output import err, out, print_json, status, typed_questions
from assistant.client import Client


def ask(
    client: Client, question: str, conversation: str | None, adapter: str | None, as_json: bool
):
    """One answer, streamed to the terminal (or --json); returns its document."""
    document = None
    for name, data in client.ask(question, conversation, adapter):
        if name == "queue" and data.get("position") and not as_json:
            err.print(f"[dim]waiting for the model: {data['position']} ahead in the queue[/]")
        elif name == "delta" and not as_json:
            out.print(data["text"], end="", markup=False)
        elif name == "done":
            document = data
    if document is None:
        raise_incomplete(client)
    if as_json:
        print_json(document)
    else:
        from assistant.chat_loop import _print_footer as print_footer

        out.print()
        print_footer(result_of(document))
    return document


def chat(client: Client, conversation: str | None) -> None:
    for question in typed_questions():
        conversation = ask(client, question, conversation, None, as_json=False)["conversation_id"]


def search(client: Client, query: str, k: int, kind: str | None, product: str | None, as_json):
    hits = client.search(query, k, kind, product, headings=not as_json)
    if as_json:
        print_json(hits)
        return
    for rank, hit in enumerate(SimpleNamespace(**h) for h in hits):
        where = hit.heading  # the server's: retrieval is slow to import here
        out.print(f"[bold]{rank + 1}. {where}[/]  [dim]{hit.source} · score {hit.score:.4f}[/]")
        out.print("   " + " ".join(hit.text.split())[:200], markup=False)


def flag(client: Client, turn: int, rating: str, reason, correction, as_json: bool) -> None:
    document = client.flag(turn, rating, reason, correction)
    if as_json:
        print_json(document)
        return
    approved = document.get("approved_answer")
    served = f"; served at once as approved answer {approved['id']}" if approved else ""
    out.print(f"Turn {turn} flagged {document['rating']}{served}.")


def upload(client: Client, paths: list[Path], options: dict) -> dict:
    """Send the files named and those under the folders named; the server indexes them under
    the names given here (a folder's own name, then the path inside it)."""
    from retrieval import IngestReport
    from retrieval.ingest import discover_files

    named: list[tuple[str, Path]] = []
    for given in paths:
        if given.is_dir():
            root = given.expanduser().resolve()
            for found in discover_files([given], IngestReport()):
                named.append(((Path(root.name) / found.relative_to(root)).as_posix(), found))
        else:
            named.append((given.name, given))
    if not named:
        return IngestReport().to_dict()  # as the local ingest of an empty folder
    with status(f"Uploading {len(named)} files to {client.url} and indexing them"):
        files = [(name, path.read_bytes()) for name, path in named]
        return client.ingest_upload(files, **options)


def result_of(document: dict):
    """The AnswerResult the local command would have printed its footer from."""
    from assistant.approved import ApprovedMatch
    from assistant.engine import AnswerResult
    from assistant.store import SourceRef

    origin = document.get("approved")
    return AnswerResult(
        conversation_id=document["conversation_id"],
        turn_id=document["turn_id"],
        question_turn_id=document["question_turn_id"],
        answer=document["answer"],
        status=document["status"],
        sources=[SourceRef(**s) for s in document.get("sources") or []],
        model_id=document["model_id"],
        adapter=document["adapter"],
        timings=document.get("timings") or {},
        grounding=document.get("grounding"),
        approved=ApprovedMatch(question="", answer=document["answer"], **origin)
        if origin
        else None,
    )


def raise_incomplete(client: Client):
    from assistant.client import ServerError

    raise ServerError(
        f"the deskloop server at {client.url} ended the answer early: retry, or see its log"
    )
