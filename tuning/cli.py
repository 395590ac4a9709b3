"""The tuning commands, mounted into `deskloop` by assistant/cli.py.

Each takes --json (one JSON document on stdout); progress goes to stderr.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from assistant import client
from assistant.cli_output import err, out, print_json
from assistant.errors import DeskloopError

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
MAX_STEPS = 1_000_000
EXIT_PARTIAL = 2  # as `deskloop ingest`: some lines failed, the rest were imported
SHOWN_METRICS = (
    "rouge_l",
    "token_f1",
    "support",
    "citations_all_valid",
    "declined_unanswerable",
    "declined_answerable",
)


class Method(StrEnum):
    qlora = "qlora"
    lora = "lora"


class ExportFormat(StrEnum):
    sft = "sft"
    dpo = "dpo"
    kto = "kto"


def load_settings():
    from assistant.settings import load_settings  # slow: pydantic-settings

    return load_settings()


def progress_view():
    from tuning.progress_view import ProgressView

    return ProgressView()


def _quiet() -> None:
    import warnings

    from assistant.app import quiet_libraries

    quiet_libraries()
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"transformers\.")
    import datasets

    datasets.disable_progress_bars()


def train_command(
    method: Annotated[
        Method | None, typer.Option("--method", help="qlora (4-bit base) or lora.")
    ] = None,
    max_steps: Annotated[
        int | None, typer.Option("--max-steps", min=1, max=MAX_STEPS, help="Optimizer steps.")
    ] = None,
    epochs: Annotated[
        float | None,
        typer.Option("--epochs", min=0.01, max=1000, help="Epochs, when --max-steps is not given."),
    ] = None,
    seeds: Annotated[
        Path | None,
        typer.Option("--seeds", help="Resolved tickets (CSV/JSONL) for when feedback is scarce."),
    ] = None,
    no_seeds: Annotated[
        bool, typer.Option("--no-seeds", help="Train on logged feedback only.")
    ] = False,
    max_new_tokens: Annotated[
        int | None, typer.Option("--max-new-tokens", min=1, help="Answer length cap in evaluation.")
    ] = None,
    eval_limit: Annotated[
        int | None, typer.Option("--eval-limit", min=1, help="Evaluate at most this many examples.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """One learning round: dataset, training, evaluation, promotion decision."""
    if seeds is not None and not seeds.is_file():
        raise DeskloopError(f"no file {seeds}: give --seeds a CSV or JSONL of resolved tickets")
    options = {
        "method": method.value if method else None,
        "max_steps": max_steps,
        "epochs": epochs,
        "max_new_tokens": max_new_tokens,
        "eval_limit": eval_limit,
    }
    if (server := client.from_env()) is not None:
        from assistant.cli_remote_jobs import train_on_server

        with progress_view() as view:
            summary = train_on_server(server, view, no_seeds, seeds, **options)
    else:
        from tuning.round import DEFAULT_SEEDS, run_round

        _quiet()
        with progress_view() as view:
            summary = run_round(
                load_settings(),
                seeds_path=None if no_seeds else seeds or DEFAULT_SEEDS,
                progress=view,
                **options,
            )
    if as_json:
        print_json(summary)
        return
    _print_comparison(summary)


def _print_comparison(summary: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=f"round {summary['run_id']}")
    table.add_column("metric")
    table.add_column(f"before ({summary['before']['adapter']})", justify="right")
    table.add_column(f"after ({summary['after']['adapter']})", justify="right")
    shipped = summary["shipped_eval"]
    if "candidate" in shipped:
        table.add_column("shipped eval: base", justify="right")
        table.add_column("shipped eval: after", justify="right")
    for metric in SHOWN_METRICS:
        cells = [summary["before"].get(metric), summary["after"].get(metric)]
        if "candidate" in shipped:
            cells += [shipped["base"].get(metric), shipped["candidate"].get(metric)]
        table.add_row(metric, *(_fmt(c) for c in cells))
    out.print(table)
    if "candidate" not in shipped:
        out.print(f"shipped eval not run: {shipped['note']}", markup=False)
    t = summary["training"]
    out.print(
        f"trained {t['global_step']} steps in {t['wall_s']} s ({t['tokens_per_s']} tokens/s, "
        f"peak {t['peak_memory_mb']} MB), loss {t['first_loss']} -> {t['last_loss']}"
    )
    verdict = "promoted" if summary["promoted"] else "kept out of service"
    out.print(f"{summary['version']} {verdict}: {summary['decision']['reason']}", markup=False)
    out.print(f"in service: {summary['active']}")


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.4f}"


def eval_command(
    file: Annotated[Path, typer.Argument(help="JSONL rows: question or messages, reference.")],
    adapter: Annotated[
        str, typer.Option("--adapter", help="An adapter version, 'base' or 'active'.")
    ] = "active",
    retrieve: Annotated[
        bool,
        typer.Option("--retrieve/--no-retrieve", help="Retrieve sources for rows without them."),
    ] = True,
    max_new_tokens: Annotated[
        int | None, typer.Option("--max-new-tokens", min=1, help="Answer length cap.")
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="First N rows only.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Score answers on a file of questions with reference answers."""
    if not file.is_file():
        raise DeskloopError(f"no file {file}: give a JSONL file of eval rows")
    if (server := client.from_env()) is not None:
        from assistant.cli_remote_jobs import eval_on_server

        with progress_view() as view:
            result = eval_on_server(server, view, file, adapter, retrieve, max_new_tokens, limit)
    else:
        from tuning.evaluate import evaluate_file

        _quiet()
        with progress_view() as view:
            result = evaluate_file(
                load_settings(), file, adapter, retrieve, max_new_tokens, limit, view
            )
    if as_json:
        print_json(result)
        return
    out.print(
        f"{result['file']} with {result['adapter']} ({result['base_model']}, "
        f"served {result['served_form']})"
    )
    for key, value in result["metrics"].items():
        out.print(f"{key:>26}: {value}")


adapters_app = typer.Typer(
    help="The adapter registry: versions, promotion, rollback.", no_args_is_help=True
)


def _registry():
    from tuning.registry import AdapterRegistry

    return AdapterRegistry.for_settings(load_settings())


def adapters_document() -> dict[str, Any]:
    """What `adapters list --json` prints, from the server when there is one."""
    if (server := client.from_env()) is not None:
        document = server.adapters()
        return {"active": document["active"], "adapters": document["adapters"]}
    registry = _registry()
    return {"active": registry.active() or "base", "adapters": registry.list()}


@adapters_app.command("list")
def adapters_list(as_json: JsonOption = False) -> None:
    """Every adapter version with its metrics; * marks the one in service."""
    document = adapters_document()
    versions = document["adapters"]
    if as_json:
        print_json(document)
        return
    if not versions:
        err.print("No adapters yet: run 'deskloop train'.")
    for v in versions:
        mark = "*" if v["active"] else " "
        metrics = v.get("metrics", {})
        decision = v.get("decision", {})
        out.print(
            f"{mark} {v['version']}  {v.get('created_at', '')[:16]}  "
            f"rouge_l {_fmt(metrics.get('rouge_l'))}  token_f1 {_fmt(metrics.get('token_f1'))}  "
            f"parent {v.get('parent') or 'base'}  "
            f"{_verdict(decision)}"
        )
    out.print(f"in service: {document['active']}")


def _verdict(decision: dict[str, Any]) -> str:
    if not decision:
        return "no gate decision"
    return "passed the gate" if decision.get("promote") else "rejected by the gate"


@adapters_app.command("show")
def adapters_show(
    version: Annotated[str, typer.Argument(help="e.g. v0001")], as_json: JsonOption = False
) -> None:
    """One adapter's metadata: base model, dataset, training config, metrics, decision."""
    server = client.from_env()
    document = server.adapters(version) if server is not None else _registry().show(version)
    if as_json:
        print_json(document)
    else:
        out.print(json.dumps(document, indent=2, default=str), markup=False)


@adapters_app.command("promote")
def adapters_promote(
    version: Annotated[str, typer.Argument(help="e.g. v0001")],
    force: Annotated[
        bool, typer.Option("--force", help="Promote a version the promotion gate rejected.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Put an adapter in service (running chats switch to it at their next answer)."""
    if (server := client.from_env()) is not None:
        document = server.promote(version, force)
        decision = server.adapters(version).get("decision") or {} if document["forced"] else {}
        rejection = str(decision.get("reason") or "no reason recorded")
    else:
        registry = _registry()
        previous = registry.active()
        rejection = registry.rejection(version)
        active = registry.promote(version, force=force)
        forced = rejection is not None and active != previous
        document = {"previous": previous or "base", "active": active or "base", "forced": forced}
    if as_json:
        print_json(document)
        return
    if document["forced"]:
        active = document["active"]
        err.print(f"{active} was rejected by the promotion gate: {rejection}", markup=False)
    _report_switch(document, as_json)


@adapters_app.command("rollback")
def adapters_rollback(as_json: JsonOption = False) -> None:
    """Put the previously active adapter (or the base model) back in service."""
    if (server := client.from_env()) is not None:
        document = server.rollback()
    else:
        registry = _registry()
        previous = registry.active()
        active = registry.rollback()
        document = {"previous": previous or "base", "active": active or "base"}
    _report_switch(document, as_json)


def _report_switch(document: dict[str, Any], as_json: bool) -> None:
    """``document``: {"previous", "active"} ("base" for none), plus "forced" after a promote."""
    if as_json:
        print_json(document)
    else:
        out.print(f"in service: {document['active']} (was {document['previous']})")


def feedback_import_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="JSONL, one flagged answer a line: messages (the conversation, the answer "
            "last), rating good or bad, and optionally correction, reason, conversation_id, "
            "sources; the format 'deskloop feedback export' writes."
        ),
    ],
    as_json: JsonOption = False,
) -> None:
    """Import flagged conversations from a JSONL file (exit 2 when some lines were skipped)."""
    if not file.is_file():
        raise DeskloopError(f"no file {file}: give a JSONL file of feedback rows")
    if (server := client.from_env()) is not None:
        result = server.feedback_import(file.name, file.read_bytes())
    else:
        from assistant.store import Store

        store = Store(load_settings().store_url)
        try:
            result = import_feedback_file(store, file, str(file)).to_dict()
        finally:
            store.close()
    if as_json:
        print_json(result)
    else:
        out.print(f"Imported {result['rows']} rows as {result['conversations']} conversations.")
        for error in result["errors"][:20]:
            err.print(f"[yellow]skipped[/] {error}", markup=True, highlight=False)
        if len(result["errors"]) > 20:
            err.print(f"... and {len(result['errors']) - 20} more skipped lines")
    if result["errors"]:
        raise typer.Exit(EXIT_PARTIAL)


def import_feedback_file(store, file: Path, shown: str, actor: str | None = None):
    """import_feedback with its failures as one line each; ``shown``: the file's name for them,
    ``actor``: the server's user who imports it."""
    from tuning.feedback_rows import import_feedback

    try:
        result = import_feedback(store, file, actor)
    except UnicodeDecodeError:
        raise DeskloopError(
            f"{shown} is not UTF-8 text: give a JSONL file saved as UTF-8"
        ) from None
    if result.rows == 0 and not result.errors:
        raise DeskloopError(f"{shown} holds no feedback rows: give one flagged answer a line")
    return result


def feedback_export_command(
    format: Annotated[
        ExportFormat, typer.Option("--format", help="TRL dataset shape.")
    ] = ExportFormat.sft,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Export the logged feedback (PII scrubbed, deduplicated) as SFT, DPO or KTO JSONL."""
    from tuning.dataset import write_jsonl

    if output is not None:
        _check_output(output)
    if (server := client.from_env()) is not None:
        exported = server.feedback_export(format.value)
        records, report = exported["records"], {"pii_masked": exported["pii_masked"]}
    else:
        from tuning.export import export_feedback

        records, report = export_feedback(load_settings(), format.value)
    if output is not None:
        try:
            count = write_jsonl(output, records)
        except OSError as exc:
            raise DeskloopError(
                f"cannot write {output} ({exc.strerror}); give another --output"
            ) from None
        document = {
            "format": format.value,
            "records": count,
            "output": str(output),
            "pii_masked": report["pii_masked"],
        }
        print_json(document) if as_json else err.print(
            f"Wrote {count} {format.value} records to {output}"
        )
        return
    if as_json:
        print_json({"format": format.value, "records": records, "pii_masked": report["pii_masked"]})
        return
    for record in records:
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _check_output(output: Path) -> None:
    """Refuse an --output the export could not be written to, before any work."""
    if output.is_dir():
        raise DeskloopError(f"--output {output} is a folder: give a file path inside it")
    if not output.parent.is_dir():
        raise DeskloopError(
            f"folder {output.parent} does not exist: create it or give another --output"
        )
