"""Does a QLoRA round on corrected conversations improve the answers? (issue 5, item 7)

    python -m bench learning [--train-rows 300] [--heldout-rows 60] [--max-steps 60] ...
    python -m bench learning --grounded ...   (the grounded loop: bench/learning_grounded.py)

Drives the product's own commands in a fresh DESKLOOP_HOME: Bitext rows imported as
corrected conversations (``deskloop feedback import``), the held-out rows scored with the
base model (``deskloop eval --adapter base --no-retrieve``), one round
(``deskloop train --json``), then the held-out rows scored with the new adapter. The
held-out rows are never imported. The base model is scored in every run, on this machine,
never taken from an earlier run. Prints one JSON document; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.learning_data import (
    DEFAULT_BITEXT,
    GENERIC_ORIGINAL,
    eval_row,
    feedback_row,
    normalized,
    read_bitext,
    stratified_split,
    write_jsonl,
)
from bench.machine import describe as describe_machine

DEFAULT_MODELS = Path("/tmp/dlhome/models")  # a prepared model folder to copy, if present
BOOTSTRAP_SAMPLES = 2000
DEFAULT_MAX_NEW_TOKENS = 256  # the generation.max_new_tokens setting's default
METRICS = ("rouge_l", "token_f1", "declined_answerable_rate")


def log(message: str) -> None:
    print(f"[bench learning] {message}", file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench learning", description=__doc__)
    p.add_argument("--data", type=Path, default=DEFAULT_BITEXT, help="Bitext public.jsonl")
    p.add_argument("--train-rows", type=int, default=200, help="rows imported as feedback")
    p.add_argument("--heldout-rows", type=int, default=48, help="rows scored before and after")
    p.add_argument("--seed", type=int, default=0, help="row choice seed")
    p.add_argument("--method", choices=("qlora", "lora"), default=None, help="default: qlora")
    p.add_argument("--max-steps", type=int, default=30, help="optimizer steps of the round")
    p.add_argument("--learning-rate", type=float, default=None, help="default: the setting")
    p.add_argument("--max-new-tokens", type=int, default=DEFAULT_MAX_NEW_TOKENS, help="answer cap")
    p.add_argument("--round-eval-limit", type=int, default=None, help="cap the round's eval")
    p.add_argument("--models", type=Path, default=DEFAULT_MODELS, help="prepared models dir")
    p.add_argument("--threads", type=int, default=None, help="DESKLOOP_THREADS for every command")
    p.add_argument("--home", type=Path, default=None, help="keep the data directory here")
    p.add_argument(
        "--grounded",
        action="store_true",
        help="run the grounded loop instead (its options: python -m bench learning --grounded -h)",
    )
    return p.parse_args(argv)


class Deskloop:
    """Runs `deskloop` subcommands in one data directory, recording time and peak RSS."""

    def __init__(self, home: Path, env: dict[str, str]):
        self.home = home
        self.env = {**os.environ, **env, "DESKLOOP_HOME": str(home)}
        self.exe = str(Path(sys.executable).with_name("deskloop"))
        self.calls: list[dict[str, Any]] = []

    def json(self, *args: str, save_as: str | None = None) -> dict[str, Any]:
        """Run one command; its JSON document is also kept in ``home/bench/<save_as>.json``."""
        argv = [self.exe, *args, "--json"]
        log("$ deskloop " + " ".join(args) + " --json")
        with tempfile.TemporaryFile() as stdout:
            started = time.perf_counter()
            proc = subprocess.Popen(argv, stdout=stdout, env=self.env)  # stderr: ours
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            wall = time.perf_counter() - started
            stdout.seek(0)
            text = stdout.read().decode()
        self.calls.append(
            {
                "command": "deskloop " + " ".join(args) + " --json",
                "wall_s": round(wall, 1),
                "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            }
        )
        if proc.returncode != 0:
            raise SystemExit(f"error: deskloop {' '.join(args)} failed ({proc.returncode})")
        if save_as:
            (self.home / "bench" / f"{save_as}.json").write_text(text, encoding="utf-8")
        return json.loads(text)


def fresh_home(requested: Path | None, models: Path) -> Path:
    home = requested or Path(tempfile.mkdtemp(prefix="deskloop-bench-learning-"))
    home.mkdir(parents=True, exist_ok=True)
    if any(home.iterdir()):
        raise SystemExit(f"error: {home} is not empty: give a new --home")
    if models.is_dir():
        log(f"copying the prepared model from {models}")
        shutil.copytree(models, home / "models", copy_function=_link_or_copy)
    else:
        log("no prepared model to copy: the first command converts it (about a minute)")
    return home


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)  # nothing writes into a prepared model folder
    except OSError:
        shutil.copy2(src, dst)


def pick(metrics: dict[str, Any]) -> dict[str, Any]:
    return {name: metrics.get(name) for name in METRICS}


def samples(before: dict, after: dict, count: int = 3) -> list[dict[str, Any]]:
    pairs = zip(before["rows"], after["rows"], strict=True)
    return [
        {"question": b["question"], "base": b["answer"][:400], "adapter": a["answer"][:400]}
        for b, a in list(pairs)[:count]
    ]


def paired(before: list[dict], after: list[dict], metric: str) -> dict[str, Any]:
    """Per-question change: share improved, and a seeded bootstrap 95% interval of the mean."""
    deltas = [
        a[metric] - b[metric]
        for b, a in zip(before, after, strict=True)
        if metric in a and metric in b
    ]
    if not deltas:
        return {}
    rng = random.Random(0)
    means = sorted(
        statistics.fmean(rng.choices(deltas, k=len(deltas))) for _ in range(BOOTSTRAP_SAMPLES)
    )
    return {
        "rows": len(deltas),
        "improved": sum(d > 0 for d in deltas),
        "worse": sum(d < 0 for d in deltas),
        "mean_delta": round(statistics.fmean(deltas), 4),
        "ci95": [
            round(means[int(0.025 * len(means))], 4),
            round(means[int(0.975 * len(means))], 4),
        ],
    }


def run(argv: Sequence[str]) -> dict[str, Any]:
    if "--grounded" in argv:
        from bench import learning_grounded

        return learning_grounded.run([a for a in argv if a != "--grounded"])
    args = parse_args(argv)
    started = time.perf_counter()
    rows = read_bitext(args.data)
    train, heldout = stratified_split(rows, args.train_rows, args.heldout_rows, args.seed)
    home = fresh_home(args.home, args.models)
    work = home / "bench"
    work.mkdir()
    feedback_file, heldout_file = work / "feedback.jsonl", work / "heldout.jsonl"
    write_jsonl(feedback_file, (feedback_row(r) for r in train))
    write_jsonl(heldout_file, (eval_row(r) for r in heldout))
    log(f"{len(train)} feedback rows, {len(heldout)} held-out rows, data dir {home}")
    env = {}
    if args.learning_rate is not None:
        env["DESKLOOP_TRAINING__LEARNING_RATE"] = str(args.learning_rate)
    if args.threads is not None:
        env["DESKLOOP_THREADS"] = str(args.threads)
    desk = Deskloop(home, env)
    load_before = describe_machine()["load_average"]

    imported = desk.json("feedback", "import", str(feedback_file))
    cap = ("--max-new-tokens", str(args.max_new_tokens))
    score = ("eval", str(heldout_file), "--no-retrieve", *cap)
    base = desk.json(*score, "--adapter", "base", save_as="eval-base")
    base_wall_s = desk.calls[-1]["wall_s"]
    # With the defaults this is the "deskloop train --max-steps 30 --json".
    train_args = ["train", "--max-steps", str(args.max_steps)]
    if args.method:
        train_args += ["--method", args.method]
    if args.max_new_tokens != DEFAULT_MAX_NEW_TOKENS:
        train_args += list(cap)
    if args.round_eval_limit:
        train_args += ["--eval-limit", str(args.round_eval_limit)]
    round_summary = desk.json(*train_args, save_as="round")
    version = round_summary["version"]
    tuned = desk.json(*score, "--adapter", version, save_as="eval-adapter")

    before, after = pick(base["metrics"]), pick(tuned["metrics"])
    training = round_summary["training"]
    return {
        "benchmark": "learning",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            **describe_machine(),
            "load_average_at_start": load_before,
            "threads": args.threads,
        },
        "base_model": base["base_model"],
        "data": {
            "file": str(args.data),
            "seed": args.seed,
            "feedback_rows": len(train),
            "heldout_rows": len(heldout),
            "intents": len({r["intent"] for r in train}),
            "shared_instructions": len(
                {normalized(r["instruction"]) for r in train}
                & {normalized(r["instruction"]) for r in heldout}
            ),
            "original_answer": GENERIC_ORIGINAL,
            "imported": imported,
        },
        "heldout": {
            "rows": len(heldout),
            "max_new_tokens": args.max_new_tokens,
            "retrieval": False,
            "base": {**before, "wall_s": base_wall_s},
            "adapter": {"version": version, **after},
            "delta": {k: _delta(after[k], before[k]) for k in METRICS},
            "paired": {k: paired(base["rows"], tuned["rows"], k) for k in ("rouge_l", "token_f1")},
            "samples": samples(base, tuned),
        },
        "round": {
            "version": version,
            "promoted": round_summary["promoted"],
            "active": round_summary["active"],
            "decision": round_summary["decision"],
            "eval_split_before": pick(round_summary["before"]),
            "eval_split_after": pick(round_summary["after"]),
            "eval_split_rows": round_summary["after"].get("examples"),
            "dataset": {
                k: round_summary["dataset"].get(k)
                for k in ("sizes", "duplicates_removed", "pii_masked", "rows_kept")
            },
        },
        "training": {
            "config": desk_config(home, version),
            **{
                k: training.get(k)
                for k in (
                    "method",
                    "device",
                    "global_step",
                    "examples",
                    "train_tokens",
                    "tokens_per_s",
                    "wall_s",
                    "peak_memory_mb",
                    "memory_kind",
                    "first_loss",
                    "last_loss",
                    "train_loss",
                )
            },
        },
        "commands": desk.calls,
        "total_wall_s": round(time.perf_counter() - started, 1),
        "home": str(home),
    }


def desk_config(home: Path, version: str) -> dict[str, Any] | None:
    meta = home / "adapters" / version / "metadata.json"
    try:
        return json.loads(meta.read_text(encoding="utf-8"))["training"]["config"]
    except (OSError, ValueError, KeyError):
        return None


def _delta(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else round(after - before, 4)


def main(argv: Sequence[str]) -> int:
    print(json.dumps(run(argv), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
