"""One learning round: dataset, training, evaluation against the adapter in service, decision.

Nothing touches the registry until the candidate has been trained and evaluated; the
active pointer moves only in the last step, so a crash anywhere before it leaves the
adapter in service as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.errors import DeskloopError
from assistant.settings import Settings
from assistant.store import Store
from tuning.dataset import DatasetBuild, build_dataset, write_build, write_json
from tuning.events import EventLog, Progress, ignore
from tuning.feedback_rows import store_feedback_rows
from tuning.gate import Margins, decide
from tuning.registry import AdapterRegistry
from tuning.round_claim import TrainingRounds
from tuning.seed import read_ticket_seeds
from tuning.trainer import RUN_FILE, TrainConfig, train_adapter

DEFAULT_SEEDS = Path(__file__).resolve().parents[1] / "corpora" / "tickets" / "tickets.csv"
# Below this many trainable feedback rows, resolved tickets are added as seed examples.
MIN_FEEDBACK_ROWS = 50


def build_round_dataset(
    settings: Settings, store: Store, seeds_path: Path | None, progress: Progress = ignore
) -> DatasetBuild:
    rows = store_feedback_rows(store)
    trainable = sum(r.target is not None for r in rows)
    seeds = []
    if trainable < MIN_FEEDBACK_ROWS and seeds_path is not None and seeds_path.is_file():
        seeds = read_ticket_seeds(seeds_path).rows
    build = build_dataset(
        rows,
        seeds,
        eval_fraction=settings.training.eval_fraction,
        assignments=store.split_assignments(),
        seed=settings.training.seed,
        pii_phone_regions=settings.training.pii_phone_regions,
    )
    progress({"event": "dataset", **build.report})
    if not build.train_sft:
        raise DeskloopError(
            "nothing to train on: flag answers in the chat, or import corrected conversations "
            "with 'deskloop feedback import FILE.jsonl'"
        )
    return build


def run_round(
    settings: Settings,
    method: str | None = None,
    max_steps: int | None = None,
    epochs: float | None = None,
    seeds_path: Path | None = DEFAULT_SEEDS,
    max_new_tokens: int | None = None,
    eval_limit: int | None = None,
    progress: Progress = ignore,
    callbacks: Sequence[Any] = (),
) -> dict[str, Any]:
    """Run a round end to end and return its summary.

    The round is claimed in the database first: while another process (any admin, any
    machine on the same database) runs one, this raises RoundBusyError. Every process sees
    the running round and its stage (TrainingRounds.running).
    """
    rounds = TrainingRounds(settings.store_url)
    with rounds.held("dataset") as claim:

        def tracked(event: dict[str, Any]) -> None:
            if event.get("event") == "stage":
                rounds.beat(claim.id, event.get("stage"))
            progress(event)

        summary = _run_round(
            settings,
            method,
            max_steps,
            epochs,
            seeds_path,
            max_new_tokens,
            eval_limit,
            tracked,
            callbacks,
        )
        rounds.finish(claim.id, "finished", summary)
    return summary


def _run_round(
    settings: Settings,
    method: str | None,
    max_steps: int | None,
    epochs: float | None,
    seeds_path: Path | None,
    max_new_tokens: int | None,
    eval_limit: int | None,
    progress: Progress,
    callbacks: Sequence[Any],
) -> dict[str, Any]:
    from assistant.model_prep import prepare_base_model
    from tuning.evaluate import example_from_record
    from tuning.round_eval import evaluate_round

    progress({"event": "stage", "stage": "dataset"})
    store = Store(settings.store_url)
    try:
        build = build_round_dataset(settings, store, seeds_path, progress)
        store.save_split_assignments(build.assignments)
    finally:
        store.close()

    progress({"event": "stage", "stage": "base model"})
    base = prepare_base_model(settings, lambda text: progress({"event": "status", "text": text}))
    config = TrainConfig.from_settings(settings, method, max_steps, epochs)
    progress({"event": "stage", "stage": "training"})
    trained = train_adapter(
        settings, base, build.train_sft, build.report["train_sha256"], config, progress, callbacks
    )
    write_build(trained.run_dir / "dataset", build)
    log = EventLog(trained.run_dir / "events.jsonl", progress)

    log({"event": "stage", "stage": "evaluation"})
    registry = AdapterRegistry.for_settings(settings)
    incumbent = registry.active()
    examples = [example_from_record(r) for r in build.eval][:eval_limit]
    evaluation = evaluate_round(
        settings,
        base,
        trained.adapter_dir,
        incumbent,
        registry.path_of(incumbent) if incumbent else None,
        examples,
        eval_limit,
        max_new_tokens,
        log,
    )
    write_json(trained.run_dir / "evaluation.json", evaluation.to_dict(with_rows=True))
    before, after = evaluation.before, evaluation.after
    decision = decide(
        after.metrics,
        before.metrics,
        Margins.from_settings(settings.training),
        len(examples),
        incumbent or "base",
        evaluation.shipped,
        evaluation.shipped_note,
    )
    shipped_eval = evaluation.shipped_summary()

    metadata = {
        "base_model": {"model_id": base.model_id, "sha256": base.sha256},
        "dataset": {
            "sha256": build.report["train_sha256"],
            "eval_sha256": build.report["eval_sha256"],
            "sizes": build.report["sizes"],
            "report": build.report,
        },
        "training": {"config": config.to_dict(), **trained.metrics},
        "metrics": after.metrics,
        "compared_with": {"adapter": incumbent or "base", "metrics": before.metrics},
        "shipped_eval": shipped_eval,
        "served_form": evaluation.served_form,
        "parent": incumbent,
        "decision": decision.to_dict(),
        "run_id": trained.run_id,
    }
    log({"event": "stage", "stage": "registering"})
    version = registry.register(trained.adapter_dir, metadata)
    if decision.promote:
        registry.promote(version)
    summary = {
        "run_id": trained.run_id,
        "version": version,
        "promoted": decision.promote,
        "active": registry.active() or "base",
        "decision": decision.to_dict(),
        "before": {"adapter": incumbent or "base", **before.metrics},
        "after": {"adapter": version, **after.metrics},
        "shipped_eval": shipped_eval,
        "served_form": evaluation.served_form,
        "training": trained.metrics,
        "dataset": build.report,
    }
    _finish_run(trained.run_dir, summary)
    log({"event": "round_end", "version": version, "promoted": decision.promote})
    return summary


def _finish_run(run_dir: Path, summary: dict[str, Any]) -> None:
    import json

    info = json.loads((run_dir / RUN_FILE).read_text(encoding="utf-8"))
    info.update(
        status="finished",
        version=summary["version"],
        promoted=summary["promoted"],
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    write_json(run_dir / RUN_FILE, info)
