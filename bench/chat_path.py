"""Chat-path benchmark: grounded answers from the embedded model, baseline against deskloop.

    python -m bench chat_path [--questions N] [--max-new-tokens N] [--threads N] [--home DIR]
                              [--forms auto,fp16-weights,...] [--no-adapter] [--no-startup]

On the embedded SmolLM2, with the default retrieval settings over the shipped corpora, answers
the first N answerable questions of corpora/eval/questions.jsonl under greedy decoding, with:

- baseline: plain fp32 `model.generate` (deskloop's serving form "plain");
- deskloop: the serving form 'auto' picks on this machine (or each form named by --forms);
- llama.cpp on the same GGUF, when llama-cpp-python happens to be installed;

in the same process, interleaved question by question, then again with a small random LoRA
adapter active. Time to first token includes retrieval and the prompt. Start to ready and peak
resident memory come from separate chat processes (one per serving form, each started twice;
the second start is reported). Prints one JSON document; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.chat_path_runs import (
    AdapterSpec,
    Variant,
    agreement,
    compare,
    make_random_adapter,
    prepare_home,
    read_questions,
)
from bench.machine import describe as describe_machine

DEFAULT_HOME = Path(__file__).resolve().parent / ".cache" / "chat_path_home"


def log(message: str) -> None:
    print(f"[chat_path] {message}", file=sys.stderr, flush=True)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench chat_path")
    parser.add_argument("--questions", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=None, help="torch threads; default all")
    parser.add_argument("--home", type=Path, default=None, help="data dir (model, index)")
    parser.add_argument(
        "--forms", default="auto", help="serving forms set beside the baseline, comma-separated"
    )
    parser.add_argument("--no-adapter", action="store_true")
    parser.add_argument("--no-startup", action="store_true")
    return parser.parse_args(argv)


def run(argv: list[str]) -> dict:
    args = parse(argv)
    forms = [form.strip() for form in args.forms.split(",") if form.strip()]
    home = args.home or Path(os.environ.get("DESKLOOP_HOME") or DEFAULT_HOME)
    if args.threads:
        os.environ["DESKLOOP_THREADS"] = str(args.threads)
    os.environ["DESKLOOP_HOME"] = str(home)
    os.environ["DESKLOOP_GENERATION__MAX_NEW_TOKENS"] = str(args.max_new_tokens)
    started = dt.datetime.now(dt.UTC)
    load_before = os.getloadavg()
    settings = prepare_home(home, log)
    questions = read_questions(args.questions)
    result: dict = {
        "benchmark": "chat_path",
        "date": started.isoformat(timespec="seconds"),
        "machine": describe_machine(),
        "load_average_before": [round(x, 2) for x in load_before],
        "command": "python -m bench chat_path " + " ".join(argv),
        "settings": {
            "threads": settings.threads,
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
            "max_new_tokens": settings.generation.max_new_tokens,
            "repetition_penalty": settings.generation.repetition_penalty,
            "top_k": settings.retrieval.top_k,
            "source_tokens": settings.prompt.source_tokens,
            "questions": len(questions),
        },
    }
    with tempfile.TemporaryDirectory(prefix="deskloop-chat-bench-") as scratch:
        adapter = None
        if not args.no_adapter:
            adapter = AdapterSpec("bench-lora", make_random_adapter(settings, Path(scratch)))
        variants = [
            Variant.open("baseline", settings, "plain", Path(scratch)),
            *(
                Variant.open("deskloop" if form == "auto" else form, settings, form, Path(scratch))
                for form in forms
            ),
        ]
        llama = Variant.open_llama_cpp(settings)
        result["llama_cpp"] = llama if isinstance(llama, str) else "measured below"
        if not isinstance(llama, str):
            variants.append(llama)
        result["serving_forms"] = {v.name: v.serving_form for v in variants}
        log(f"{len(questions)} questions, variants: {[v.name for v in variants]}")
        runs = {"base_model": compare(variants, questions, log)}
        if adapter is not None:
            for variant in variants:
                variant.use_adapter(adapter)
            runs["with_adapter"] = compare(variants, questions, log)
        for name, per_variant in runs.items():
            result[name] = {
                "figures": {v: figures["summary"] for v, figures in per_variant.items()},
                "agreement_with_baseline": {
                    v: agreement(per_variant["baseline"]["answers"], figures["answers"])
                    for v, figures in per_variant.items()
                    if v != "baseline"
                },
            }
        del variants
    if not args.no_startup:
        result["chat_process"] = chat_processes(questions[:2], forms, not args.no_adapter)
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return result


def chat_processes(questions: list[str], forms: list[str], adapter_needed: bool) -> dict:
    """Start to ready (second start) and peak RSS of a chat process, per serving form."""
    figures: dict = {}
    with tempfile.TemporaryDirectory(prefix="deskloop-chat-proc-") as scratch:
        adapter_dir = None
        if adapter_needed:
            from assistant.settings import load_settings

            adapter_dir = make_random_adapter(load_settings(), Path(scratch))
        for attempt in range(2):  # the second start is the one reported
            for form in ("plain", *forms):
                for with_adapter in (False, True) if adapter_dir else (False,):
                    key = f"{form}{'+adapter' if with_adapter else ''}"
                    log(f"chat process {key}, start {attempt + 1}")
                    figures[key] = one_chat_process(
                        form, questions, adapter_dir if with_adapter else None
                    )
    return figures


def one_chat_process(form: str, questions: list[str], adapter: Path | None) -> dict:
    env = {**os.environ, "DESKLOOP_SERVING": form}
    command = [sys.executable, "-m", "bench.chat_process", *questions]
    if adapter is not None:
        command += ["--adapter", str(adapter)]
    launched = time.time()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:]}
    report = json.loads(done.stdout)
    return {
        "serving_form": report["serving_form"],
        "start_to_ready_s": round(report["ready_at"] - launched, 2),
        "start_to_serving_form_s": round(report["serving_form_ready_at"] - launched, 2),
        "peak_rss_mb": report["peak_rss_mb"],
        "start_phases_s": {
            phase: round(report[key] - launched, 2)
            for phase, key in (
                ("imports_done", "imported_at"),
                ("model_load_from", "model_load_from"),
                ("knowledge_base_from", "knowledge_base_from"),
            )
            if key in report
        },
    }


def main(argv: list[str] | None = None) -> int:
    result = run(sys.argv[1:] if argv is None else argv)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
