"""`deskloop ingest`, `search` and `sources`: the knowledge base from the command line.

With DESKLOOP_SERVER set, each works on the server's knowledge base (see cli_remote).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from assistant import client
from assistant.cli_output import err, out, print_json
from assistant.errors import DeskloopError

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
STAGE_LABELS = {"load": "Reading files", "embed": "Embedding chunks", "write": "Writing index"}
EXIT_PARTIAL = 2


def knowledge_base():
    from assistant.app import open_knowledge_base, quiet_libraries
    from assistant.settings import load_settings

    quiet_libraries()
    return open_knowledge_base(load_settings())


def run_ingest(kb, paths: list[Path], **options):
    """Ingest with a live progress bar on stderr; returns the report."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("[dim]{task.fields[current]}"),
        console=err,
        transient=True,
    ) as bar:
        tasks: dict[str, int] = {}

        def on_event(event) -> None:
            if event.stage not in tasks:
                label = STAGE_LABELS.get(event.stage, event.stage)
                tasks[event.stage] = bar.add_task(label, total=event.total, current="")
            current = Path(event.current).name if event.current else ""
            bar.update(tasks[event.stage], completed=event.done, total=event.total, current=current)

        return kb.ingest(paths, progress=on_event, **options)


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to index.")],
    tickets: Annotated[
        bool, typer.Option("--tickets", help="The files are ticket exports (CSV or JSONL).")
    ] = False,
    id_field: Annotated[str | None, typer.Option(help="Column holding a record's id.")] = None,
    text_field: Annotated[str | None, typer.Option(help="Column holding the text.")] = None,
    title_field: Annotated[str | None, typer.Option(help="Column holding the title.")] = None,
    on_server: Annotated[
        bool,
        typer.Option(
            "--on-server",
            help="With DESKLOOP_SERVER: the paths are on the server (default: upload them).",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Index manuals or ticket exports; unchanged files are skipped, changed ones replaced."""
    options = {
        "tickets": tickets,
        "id_field": id_field,
        "text_field": text_field,
        "title_field": title_field,
    }
    server = client.from_env()
    if on_server and server is None:
        raise DeskloopError("--on-server needs DESKLOOP_SERVER and DESKLOOP_TOKEN set")
    if server is not None and on_server:
        document = server.ingest_on_server([str(p) for p in paths], **options)
    else:
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            raise DeskloopError(f"no such file or folder: {', '.join(missing)}")
        if server is not None:
            from assistant.cli_remote import upload

            document = upload(server, paths, options)
        else:
            document = run_ingest(knowledge_base(), paths, **options).to_dict()
    if as_json:
        print_json(document)
    else:
        print_ingest_summary(document)
    if not document["ok"]:
        raise typer.Exit(EXIT_PARTIAL)


def print_ingest_summary(report) -> None:
    """``report``: an IngestReport, or its to_dict() (from a server)."""
    if not isinstance(report, dict):
        report = report.to_dict()
    err.print(
        f"{report['files_seen']} files: {report['files_indexed']} indexed, "
        f"{report['files_unchanged']} unchanged, {len(report['failed'])} failed · chunks: "
        f"{report['chunks_added']} added, {report['chunks_replaced']} replaced, "
        f"{report['chunks_unchanged']} unchanged"
    )
    for issue in report["failed"]:
        err.print(f"[red]failed[/] {issue['path']}: {issue['reason']}", markup=True)
    for issue in report["skipped"]:
        err.print(f"[dim]skipped {issue['path']}: {issue['reason']}[/]")
    for issue in report["warnings"]:
        err.print(f"[yellow]warning[/] {issue['path']}: {issue['reason']}")


def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("-k", help="How many hits.", min=1, max=100)] = 5,
    kind: Annotated[str | None, typer.Option(help="Only 'manual' or 'ticket' chunks.")] = None,
    product: Annotated[str | None, typer.Option(help="Only chunks of this product.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Ranked hits from the knowledge base (BM25 and embeddings, fused)."""
    if kind not in (None, "manual", "ticket"):
        raise DeskloopError("--kind must be 'manual' or 'ticket'")
    if (server := client.from_env()) is not None:
        from assistant import cli_remote

        return cli_remote.search(server, query, k, kind, product, as_json)
    kb = knowledge_base()
    if kb.is_empty():
        raise DeskloopError("the knowledge base is empty: add files with 'deskloop ingest PATH'")
    hits = kb.search(query, k=k, kind=kind, product=product)
    if as_json:
        print_json([hit.to_dict() for hit in hits])
        return
    from retrieval.chunking import heading

    for rank, hit in enumerate(hits, start=1):
        where = heading(hit.title, hit.section or "")
        out.print(f"[bold]{rank}. {where}[/]  [dim]{hit.source} · score {hit.score:.4f}[/]")
        out.print("   " + " ".join(hit.text.split())[:200], markup=False)


def sources(
    remove: Annotated[
        str | None, typer.Option("--remove", help="Delete this source from the index.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """What is indexed, with chunk counts; --remove deletes a source."""
    server = client.from_env()
    if remove is not None:
        document = server.remove_source(remove) if server else _remove_locally(remove)
        if as_json:
            print_json(document)
        else:
            err.print(f"Removed {remove} ({document['chunks']} chunks).")
        return
    listed = server.sources() if server else [s.to_dict() for s in knowledge_base().sources()]
    if as_json:
        print_json(listed)
        return
    if not listed:
        err.print("Nothing indexed yet: add files with 'deskloop ingest PATH'.")
    for source in listed:
        out.print(f"{source['chunks']:>5}  {source['kind']:<7} {source['source']}")


def _remove_locally(source: str) -> dict:
    from retrieval import UnknownSourceError

    try:
        removed = knowledge_base().remove(source)
    except UnknownSourceError as exc:
        raise DeskloopError(f"{exc}: 'deskloop sources' lists what is indexed") from None
    return {"removed": source, "chunks": removed}
