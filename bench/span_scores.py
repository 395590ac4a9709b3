"""Choosing among evidence spans with an adapter: float32 scoring against the bfloat16 copy.

    python -m bench span_scores [--questions N] [--threads N] [--home DIR]

Answers the first N answerable questions of corpora/eval/questions.jsonl in the shipped mode
(answers.compose = "quote"), timing each answer's first text, without an adapter and then with
a small random LoRA adapter in service, recording every scoring call the engine makes (the
prompt and the candidate spans); then scores each recorded call with the model as loaded
(float32) and with a bfloat16 copy of it, alternating which goes first, in the same process.
Reports the first-text p50s, seconds per scoring call for each form, how often the two pick
the same span (the choice the answer depends on) and their largest score difference. Prints
one JSON document; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.chat_path import DEFAULT_HOME
from bench.chat_path_runs import make_random_adapter, prepare_home, read_questions
from bench.machine import describe as describe_machine


def log(message: str) -> None:
    print(f"[span_scores] {message}", file=sys.stderr, flush=True)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench span_scores")
    parser.add_argument("--questions", type=int, default=12)
    parser.add_argument("--threads", type=int, default=None, help="torch threads; default all")
    parser.add_argument("--home", type=Path, default=DEFAULT_HOME, help="data dir")
    return parser.parse_args(argv)


def first_tokens(engine, questions: list[str]) -> list[float]:
    """Seconds from asking to the first text of each answer (retrieval, grounding included)."""
    waits = []
    for question in questions:
        started, first = time.perf_counter(), None
        for chunk in engine.ask(question):
            if first is None and chunk:
                first = time.perf_counter() - started
        waits.append(first if first is not None else time.perf_counter() - started)
    return waits


def recorded_calls(engine, questions: list[str]) -> tuple[list[tuple[list[dict], list[str]]], list]:
    """The (messages, spans) of every scoring call the engine makes answering ``questions``,
    and the seconds to each answer's first text."""
    model, calls = engine.model, []
    scored = model.score

    def recording(messages, completions, adapter):
        calls.append((messages, completions))
        return scored(messages, completions, adapter)

    model.score = recording
    try:
        waits = first_tokens(engine, questions)
    finally:
        del model.score
    return calls, waits


def run(argv: list[str]) -> dict:
    import torch

    from assistant.app import open_engine
    from assistant.span_scores import bf16_copy, mean_log_probs, native_bf16

    args = parse(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    settings = prepare_home(args.home, log)
    engine = open_engine(settings, log)
    with tempfile.TemporaryDirectory(prefix="deskloop-span-scores-") as scratch:
        questions = read_questions(args.questions)
        engine.prepare()
        first_tokens(engine, questions[:1])  # warm-up
        without_adapter = first_tokens(engine, questions)
        adapter = make_random_adapter(settings, Path(scratch))
        engine.adapter_choice = lambda: ("bench-lora", adapter)
        engine.prepare()
        first_tokens(engine, questions[:1])  # the adapter's load and first bf16 copy
        calls, with_adapter = recorded_calls(engine, questions)
        model = engine.model
        with model._lock:
            forms = {"float32": model.model, "bfloat16 copy": bf16_copy(model.model)}
        seconds = dict.fromkeys(forms, 0.0)
        scores: dict[str, list[list[float]]] = {name: [] for name in forms}
        for i, (messages, spans) in enumerate(calls):
            for name in list(forms) if i % 2 == 0 else reversed(list(forms)):
                started = time.perf_counter()
                scores[name].append(mean_log_probs(forms[name], model.tokenizer, messages, spans))
                seconds[name] += time.perf_counter() - started
            log(
                f"call {i + 1}/{len(calls)}: "
                + ", ".join(f"{n} {s:.1f}s" for n, s in seconds.items())
            )
    picks = {name: [row.index(max(row)) for row in rows] for name, rows in scores.items()}
    return {
        "benchmark": "span_scores",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": describe_machine(),
        "native_bf16": native_bf16(),
        "threads": torch.get_num_threads(),
        "first_token_p50_s": {
            "no adapter (quoted, no model)": round(statistics.median(without_adapter), 3),
            "adapter (spans scored on this CPU's scoring form)": round(
                statistics.median(with_adapter), 3
            ),
        },
        "calls": len(calls),
        "spans_per_call": [len(spans) for _, spans in calls],
        "seconds_per_call": {n: round(s / max(len(calls), 1), 3) for n, s in seconds.items()},
        "speed_up": round(seconds["float32"] / max(seconds["bfloat16 copy"], 1e-9), 2),
        "same_span_chosen": sum(a == b for a, b in zip(*picks.values(), strict=True)),
        "largest_score_difference": round(largest_difference(*scores.values()), 4),
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


def largest_difference(first: list[list[float]], second: list[list[float]]) -> float:
    return max(
        (abs(a - b) for x, y in zip(first, second, strict=True) for a, b in zip(x, y, strict=True)),
        default=0.0,
    )


def main(argv: list[str] | None = None) -> int:
    print(json.dumps(run(sys.argv[1:] if argv is None else argv), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
