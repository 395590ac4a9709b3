"""A round's events.jsonl as tuning writes it, and fake adapter folders for the registry."""

from __future__ import annotations

import json
from pathlib import Path

RUN_ID = "20250101-120000-abc123"
LOSSES = [2.91, 2.64, 2.40, 2.02, 1.87, 1.61, 1.52, 1.38]


def round_events(finished: bool = True, steps: int = len(LOSSES)) -> list[dict]:
    events: list[dict] = [
        {"time": 1.0, "event": "train_start", "run_id": RUN_ID, "examples": 48,
         "method": "qlora", "device": "cpu", "resumed_from_step": None},
    ]  # fmt: skip
    for step, loss in enumerate(LOSSES[:steps], start=1):
        events.append(
            {"time": 1.0 + step, "event": "train_step", "step": step, "max_steps": len(LOSSES),
             "loss": loss, "learning_rate": 2e-4, "tokens_per_s": 131.5,
             "eta_s": 12.0 * (len(LOSSES) - step)}
        )  # fmt: skip
    if not finished:
        return events
    events += [
        {"time": 20.0, "event": "train_end", "global_step": len(LOSSES), "train_loss": 1.9},
        {"time": 21.0, "event": "stage", "stage": "evaluation"},
        {"time": 22.0, "event": "eval_start", "model": "base", "examples": 6},
        {"time": 23.0, "event": "eval_end", "model": "base", "rouge_l": 0.2114, "token_f1": 0.301},
        {"time": 24.0, "event": "eval_start", "model": "candidate", "examples": 6},
        {"time": 25.0, "event": "eval_progress", "model": "candidate", "done": 3, "total": 6},
        {"time": 26.0, "event": "eval_end", "model": "candidate", "rouge_l": 0.2873,
         "token_f1": 0.355},
        {"time": 27.0, "event": "stage", "stage": "registering"},
        {"time": 28.0, "event": "round_end", "version": "v0001", "promoted": True},
    ]  # fmt: skip
    return events


def write_run(runs: Path, events: list[dict], run_id: str = RUN_ID) -> Path:
    folder = runs / run_id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "events.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return path


def fake_adapter(folder: Path) -> Path:
    """The two files a PEFT adapter folder has (the registry only copies them)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "adapter_config.json").write_text('{"r": 4}')
    (folder / "adapter_model.safetensors").write_bytes(b"weights")
    return folder


def adapter_metadata(rouge_l: float, parent: str | None, train_rows: int) -> dict:
    return {
        "metrics": {"rouge_l": rouge_l, "token_f1": rouge_l + 0.05},
        "parent": parent,
        "dataset": {"sizes": {"train_sft": train_rows, "eval": 6}},
        "training": {"global_step": 8, "method": "qlora", "first_loss": 2.9, "last_loss": 1.4},
        "compared_with": {"adapter": parent or "base"},
        "decision": {"promote": True, "reason": f"rouge_l {rouge_l:.4f} vs 0.2000: better"},
        "run_id": RUN_ID,
    }
