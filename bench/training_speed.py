"""The training round's effective (non-padding) tokens/s and peak memory on real data (issue 6)

    python -m bench training_speed [--examples 16] [--rounds 1] [--variants NAME,...]

Bitext rows become the round's SFT records exactly as ``bench learning`` feeds them to
``deskloop train`` (the same stratified choice of 200 rows, imported as corrections, PII
scrub, dedup, the round's split, serving's prompt layout); the first ``--examples`` of
them are trained for one epoch (batch 4 x accumulation 2, QLoRA, the default training
settings) by ``tuning.trainer.train_adapter``, once per variant, each in a fresh process
(so peak RSS, thread counts and dtypes are the variant's own), variants interleaved round
by round. Every variant sees the same examples; the default variants compare the fp32
round with the default dtype's (bf16 where the CPU has native bf16) at 1 and 2 threads.
Also prints the padding share a whole epoch over all the records would have under each
sampler (from token counts, no training). Prints one JSON document; progress goes to
stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.learning import DEFAULT_MODELS
from bench.learning_data import DEFAULT_BITEXT, feedback_row, read_bitext, stratified_split
from bench.machine import describe as describe_machine

MODEL_FOLDER = "SmolLM2-135M-Instruct"
FP32 = {"DESKLOOP_DTYPE": "float32"}
# glibc keeps freed memory instead of unmapping it (every large tensor otherwise comes back
# as fresh zeroed pages): a probe of the allocator's share, not something deskloop sets.
KEEP_FREED = {"GLIBC_TUNABLES": "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=4294967295"}
# name -> (threads, compact LM head, shared prompt prefix, environment). "baseline" is the
# trainer before issue 6's work, "fast" the trainer after it, both in fp32 (``dtype =
# "float32"``); "bf16" is the trainer now with its default ``dtype = "auto"``: bf16 compute
# where the CPU multiplies bf16 natively, fp32 elsewhere (each run reports its
# ``compute_dtype``).
VARIANTS: dict[str, tuple[int | None, bool, bool, dict[str, str]]] = {
    "baseline-1t": (1, False, False, FP32),
    "compact-1t": (1, True, False, FP32),
    "fast-1t": (1, True, True, FP32),
    "bf16-1t": (1, True, True, {}),
    "bf16-keepfreed-1t": (1, True, True, KEEP_FREED),
    "baseline-2t": (2, False, False, FP32),
    "fast-2t": (2, True, True, FP32),
    "bf16-2t": (2, True, True, {}),
}
DEFAULT_VARIANTS = ("fast-1t", "bf16-1t", "fast-2t", "bf16-2t")


def log(message: str) -> None:
    print(f"[bench training_speed] {message}", file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench training_speed", description=__doc__)
    p.add_argument("--data", type=Path, default=DEFAULT_BITEXT, help="Bitext public.jsonl")
    p.add_argument("--train-rows", type=int, default=200, help="rows imported as feedback")
    p.add_argument("--heldout-rows", type=int, default=48, help="rows kept out (as in learning)")
    p.add_argument("--seed", type=int, default=0, help="row choice seed")
    p.add_argument("--examples", type=int, default=16, help="records trained per variant")
    p.add_argument("--rounds", type=int, default=1, help="runs of each variant, interleaved")
    p.add_argument(
        "--variants",
        default=",".join(DEFAULT_VARIANTS),
        help=f"comma-separated, from {', '.join(VARIANTS)}",
    )
    p.add_argument("--method", choices=("qlora", "lora"), default="qlora")
    p.add_argument("--models", type=Path, default=DEFAULT_MODELS, help="prepared models dir")
    p.add_argument("--worker", type=Path, default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def sft_records(args: argparse.Namespace, settings) -> list[dict[str, Any]]:
    """The round's SFT records for the learning benchmark's feedback rows."""
    from tuning.dataset import build_dataset
    from tuning.formats import parse_feedback_row

    train, _ = stratified_split(
        read_bitext(args.data), args.train_rows, args.heldout_rows, args.seed
    )
    build = build_dataset(
        [parse_feedback_row(feedback_row(row)) for row in train],
        eval_fraction=settings.training.eval_fraction,
        seed=settings.training.seed,
    )
    return build.train_sft


def record_lengths(records, tokenizer, settings, max_length: int) -> list[int]:
    """Tokens per training record as TRL tokenises it (prompt + completion, truncated)."""
    from tuning.trainer import training_records

    lengths = []
    for record in training_records(records, tokenizer, settings, max_length):
        ids = tokenizer.apply_chat_template(
            record["prompt"] + record["completion"], tokenize=True, return_dict=True
        )["input_ids"]
        lengths.append(min(len(ids), max_length))
    return lengths


def padding_share(lengths: Sequence[int], order: Sequence[int], batch_size: int) -> float:
    """Share of padded positions when ``order`` is cut into right-padded micro-batches."""
    padded = real = 0
    for start in range(0, len(order), batch_size):
        batch = [lengths[i] for i in order[start : start + batch_size]]
        padded += max(batch) * len(batch)
        real += sum(batch)
    return round(1 - real / padded, 4)


def epoch_padding(lengths: Sequence[int], batch_size: int, grad_accum: int, seed: int) -> dict:
    """Padding share of one epoch over every record, per sampler (seeded)."""
    import torch
    from transformers.trainer_pt_utils import LengthGroupedSampler

    generator = torch.Generator().manual_seed(seed)
    grouped = list(
        LengthGroupedSampler(batch_size * grad_accum, lengths=list(lengths), generator=generator)
    )
    shuffled = list(range(len(lengths)))
    random.Random(seed).shuffle(shuffled)
    return {
        "records": len(lengths),
        "tokens_mean": round(sum(lengths) / len(lengths), 1),
        "tokens_min": min(lengths),
        "tokens_max": max(lengths),
        "random": padding_share(lengths, shuffled, batch_size),
        "group_by_length": padding_share(lengths, grouped, batch_size),
        "sorted (floor)": padding_share(
            lengths, sorted(range(len(lengths)), key=lengths.__getitem__), batch_size
        ),
    }


def run(argv: Sequence[str]) -> dict[str, Any]:
    args = parse_args(argv)
    if args.worker is not None:
        return worker(json.loads(args.worker.read_text(encoding="utf-8")))
    names = [name.strip() for name in args.variants.split(",") if name.strip()]
    unknown = [name for name in names if name not in VARIANTS]
    if unknown:
        raise SystemExit(f"error: unknown variant(s) {', '.join(unknown)}")
    model_dir = args.models / MODEL_FOLDER
    if not (model_dir / "config.json").is_file():
        raise SystemExit(f"error: no prepared model at {model_dir}: pass --models DIR")

    from assistant.hf_model import load_tokenizer
    from assistant.settings import load_settings
    from tuning.trainer import TrainConfig

    settings = load_settings()
    config = TrainConfig.from_settings(settings, method=args.method, max_steps=-1, epochs=1.0)
    records = sft_records(args, settings)
    lengths = record_lengths(records, load_tokenizer(str(model_dir)), settings, config.max_length)
    chosen = records[: args.examples]
    work = Path(tempfile.mkdtemp(prefix="deskloop-bench-training-"))
    records_file = work / "records.json"
    records_file.write_text(json.dumps(chosen), encoding="utf-8")
    load_start = describe_machine()["load_average"]
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for round_index in range(args.rounds):
        order = names if round_index % 2 == 0 else names[::-1]
        for name in order:
            threads, compact, share, variant_env = VARIANTS[name]
            spec = {
                "home": str(work / f"{name}-{round_index}"),
                "model": str(model_dir),
                "records": str(records_file),
                "config": config.to_dict(),
                "threads": threads,
                "compact_lm_head": compact,
                "share_prefix": share,
                "env": variant_env,
            }
            log(f"round {round_index + 1}/{args.rounds}: {name}")
            results[name].append(run_worker(spec, work / f"{name}-{round_index}.json"))
            log(f"  {json.dumps(results[name][-1])}")
    return {
        "benchmark": "training_speed",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {**describe_machine(), "load_average_at_start": load_start},
        "data": {
            "file": str(args.data),
            "feedback_rows": args.train_rows,
            "records": len(records),
            "trained_examples": len(chosen),
            "epoch_padding_share": epoch_padding(
                lengths, config.batch_size, config.grad_accum, config.seed
            ),
        },
        "config": {
            k: config.to_dict()[k]
            for k in ("method", "batch_size", "grad_accum", "max_length", "lora_r")
        },
        "variants": {
            name: dict(
                zip(
                    ("threads", "compact_lm_head", "share_prefix", "env"),
                    VARIANTS[name],
                    strict=True,
                )
            )
            for name in names
        },
        "runs": results,
        "summary": {name: summarise(runs) for name, runs in results.items()},
    }


def run_worker(spec: dict[str, Any], spec_file: Path) -> dict[str, Any]:
    spec_file.write_text(json.dumps(spec), encoding="utf-8")
    env = {**os.environ, "DESKLOOP_HOME": spec["home"]}
    env.pop("DESKLOOP_THREADS", None)
    env.pop("DESKLOOP_DTYPE", None)
    if spec["threads"]:
        env["DESKLOOP_THREADS"] = str(spec["threads"])
    env.update(spec.get("env", {}))
    argv = [sys.executable, "-m", "bench", "training_speed", "--worker", str(spec_file)]
    proc = subprocess.run(argv, stdout=subprocess.PIPE, env=env, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"error: worker for {spec_file.stem} failed ({proc.returncode})")
    return json.loads(proc.stdout)


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    """One training run in this process (``DESKLOOP_HOME``, ``DESKLOOP_THREADS`` and the
    variant's environment set)."""
    from transformers import TrainerCallback

    from assistant.model_prep import BaseModelRef
    from assistant.settings import load_settings
    from tuning.trainer import TrainConfig, train_adapter

    class CpuTime(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            self.started = time.process_time()

        def on_train_end(self, args, state, control, **kwargs):
            self.cpu_s = time.process_time() - self.started

    records = json.loads(Path(spec["records"]).read_text(encoding="utf-8"))
    cpu = CpuTime()
    load_before = os.getloadavg()[0]
    result = train_adapter(
        load_settings(),
        BaseModelRef(spec["model"], MODEL_FOLDER, "bench"),
        records,
        "bench-training-speed",
        TrainConfig(**spec["config"]),
        callbacks=[cpu],
        compact_lm_head=spec["compact_lm_head"],
        share_prefix=spec["share_prefix"],
    )
    m = result.metrics
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "compute_dtype": m["compute_dtype"],
        "tokens_per_s": m["tokens_per_s"],
        "tokens_per_cpu_s": round(m["train_tokens"] / cpu.cpu_s, 1) if cpu.cpu_s else None,
        "train_tokens": m["train_tokens"],
        "padding_share": m["padding_share"],
        "shared_prefix_share": m["shared_prefix_share"],
        "global_step": m["global_step"],
        "wall_s": m["wall_s"],
        "cpu_s": round(cpu.cpu_s, 1),
        "train_loss": m["train_loss"],
        "first_loss": m["first_loss"],
        "last_loss": m["last_loss"],
        "peak_rss_mb": round(peak, 1),
        "threads": spec["threads"],
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def summarise(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    def mean(key: str, digits: int = 2) -> float | None:
        values = [r[key] for r in runs if r.get(key) is not None]
        return round(sum(values) / len(values), digits) if values else None

    return {
        "compute_dtype": sorted({r["compute_dtype"] for r in runs if r.get("compute_dtype")}),
        "tokens_per_s": mean("tokens_per_s"),
        "tokens_per_cpu_s": mean("tokens_per_cpu_s"),
        "padding_share": mean("padding_share"),
        "peak_rss_mb": max((r["peak_rss_mb"] for r in runs), default=None),
        "train_loss": mean("train_loss", 4),
        "runs": len(runs),
    }


def main(argv: Sequence[str]) -> int:
    print(json.dumps(run(argv), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
