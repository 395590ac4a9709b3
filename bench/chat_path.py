"""Chat-path benchmark: grounded answers, transformers fp32 against each serving form.

    python -m bench chat_path [--questions N] [--max-new-tokens N] [--threads N] [--home DIR]
                              [--forms openvino-exact,openvino-int8,...] [--model-shape SHAPE]
                              [--no-adapter] [--no-startup] [--eval-rows N] [--quoted]
                              [--startup-forms FORMS] [--startup-compose free|quote]

With the default retrieval settings over the shipped corpora, answers the first N answerable
questions of corpora/eval/questions.jsonl under greedy decoding, with:

- baseline: plain fp32 `model.generate` (serving "plain");
- each form of --forms: `openvino-exact|int8|int4` (serving "openvino" at that precision),
  `fp16-weights` (the lean runner), or any other serving value;
- llama.cpp on the shipped GGUF, when llama-cpp-python happens to be installed (embedded only);

in the same process, interleaved question by question, then again with a small random LoRA
adapter active (the time each backend took to serve it is reported, and then the time to
switch to a second adapter). Time to first token includes retrieval and the prompt. Start to
the first answer's first token and peak resident memory come from separate chat processes
(one per form, each started twice; the second start is reported), their answers written by
the model (--startup-compose free) or quoted as shipped (quote). --model-shape answers with a
random-weight model of a real architecture instead of the embedded SmolLM2 (bench/
chat_path_shapes.py); --eval-rows times `deskloop eval`-style rows with the adapter, served
form against plain PEFT generate; --quoted times the same questions answered in the shipped
mode (quoted evidence; with the adapter the model scores the spans). Prints one JSON document;
progress goes to stderr.
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
    serving_of,
)
from bench.chat_path_shapes import SHAPES
from bench.machine import describe as describe_machine

CACHE = Path(__file__).resolve().parent / ".cache"
DEFAULT_HOME = CACHE / "chat_path_home"
FORMS = "openvino-exact,openvino-int8,openvino-int4,fp16-weights"
SHAPE_FORMS = "openvino-exact,openvino-int8"


def log(message: str) -> None:
    print(f"[chat_path] {message}", file=sys.stderr, flush=True)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench chat_path")
    parser.add_argument("--questions", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=None, help="torch threads; default all")
    parser.add_argument("--home", type=Path, default=None, help="data dir (model, index)")
    parser.add_argument(
        "--forms",
        default=None,
        help=f"forms beside the baseline, comma-separated (default {FORMS}; with "
        f"--model-shape {SHAPE_FORMS})",
    )
    parser.add_argument("--model-shape", choices=sorted(SHAPES), default=None)
    parser.add_argument("--no-adapter", action="store_true")
    parser.add_argument("--no-startup", action="store_true")
    parser.add_argument("--eval-rows", type=int, default=0, help="eval rows to time (0: none)")
    parser.add_argument(
        "--quoted",
        action="store_true",
        help="also time the questions answered in the shipped mode (quoted evidence)",
    )
    parser.add_argument(
        "--startup-forms", default=None, help="forms started as chat processes (default: --forms)"
    )
    parser.add_argument(
        "--startup-compose",
        choices=("free", "quote"),
        default="free",
        help="how the chat processes compose answers: free (the model writes them) or quote "
        "(the shipped default: quoted evidence; the model only scores it with an adapter)",
    )
    return parser.parse_args(argv)


def run(argv: list[str]) -> dict:
    args = parse(argv)
    forms_text = args.forms or (SHAPE_FORMS if args.model_shape else FORMS)
    forms = [form.strip() for form in forms_text.split(",") if form.strip()]
    default_home = CACHE / f"chat_path_{args.model_shape}" if args.model_shape else DEFAULT_HOME
    home = args.home or Path(os.environ.get("DESKLOOP_HOME") or default_home)
    if args.threads:
        os.environ["DESKLOOP_THREADS"] = str(args.threads)
    os.environ["DESKLOOP_HOME"] = str(home)
    os.environ["DESKLOOP_GENERATION__MAX_NEW_TOKENS"] = str(args.max_new_tokens)
    if args.model_shape:
        os.environ["DESKLOOP_MODEL"] = str(shape_folder(args.model_shape))
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
        "model": args.model_shape or "embedded",
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
        adapters = None
        if not args.no_adapter:
            adapters = (
                AdapterSpec("bench-lora", make_random_adapter(settings, Path(scratch) / "a")),
                AdapterSpec("bench-lora-2", make_random_adapter(settings, Path(scratch) / "b", 8)),
            )
        variants = [
            Variant.open("baseline", settings, "plain", Path(scratch), log),
            *(Variant.open(form, settings, form, Path(scratch), log) for form in forms),
        ]
        result["openvino_export_s"] = {v.name: v.export_s for v in variants if v.export_s}
        if args.model_shape:
            result["llama_cpp"] = "not measured: no GGUF of a random-weight model"
        else:
            llama = Variant.open_llama_cpp(settings)
            result["llama_cpp"] = llama if isinstance(llama, str) else "measured below"
            if not isinstance(llama, str):
                variants.append(llama)
        result["serving_forms"] = {v.name: v.serving_form for v in variants}
        log(f"{len(questions)} questions, variants: {[v.name for v in variants]}")
        runs = {"base_model": compare(variants, questions, log)}
        if adapters is not None:
            first, second = adapters
            result["adapter_first_served_s"] = {v.name: v.use_adapter(first) for v in variants}
            runs["with_adapter"] = compare(variants, questions, log)
            result["adapter_switch_s"] = {v.name: v.use_adapter(second) for v in variants}
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
        if args.quoted:
            from bench.chat_path_quoted import quoted_waits

            first_adapter = adapters[0] if adapters else None
            result["quoted"] = quoted_waits(settings, first_adapter, questions, log)
        if args.eval_rows and adapters is not None:
            from bench.chat_path_eval import eval_speed

            served = [form for form in forms if form.startswith("openvino-exact")] or forms[:1]
            result["eval"] = eval_speed(settings, adapters[0], served, args.eval_rows, log)
    if not args.no_startup:
        started_forms = forms
        if args.startup_forms:
            started_forms = [form.strip() for form in args.startup_forms.split(",") if form.strip()]
        result["chat_process"] = chat_processes(
            questions[:2], started_forms, not args.no_adapter, args.startup_compose
        )
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return result


def shape_folder(shape: str) -> Path:
    """The random-weight model of ``shape``, with the embedded model's tokenizer."""
    from bench.chat_path_shapes import shape_model

    embedded = prepare_home(DEFAULT_HOME, log)  # the tokenizer comes from the embedded model
    from assistant.model_prep import prepare_base_model

    tokenizer_from = prepare_base_model(embedded).location
    return shape_model(shape, CACHE / "shapes" / shape, tokenizer_from, log)


def chat_processes(
    questions: list[str], forms: list[str], adapter_needed: bool, compose: str
) -> dict:
    """Start to ready (second start) and peak RSS of a chat process, per serving form."""
    figures: dict = {"compose": compose}
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
                        form, questions, adapter_dir if with_adapter else None, compose
                    )
    return figures


def one_chat_process(form: str, questions: list[str], adapter: Path | None, compose: str) -> dict:
    env = {**os.environ, **{f"DESKLOOP_{k.upper()}": v for k, v in serving_of(form).items()}}
    env["DESKLOOP_ANSWERS__COMPOSE"] = compose
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
        "start_to_first_answer_token_s": round(report["first_token_at"] - launched, 2),
        "start_to_serving_form_s": round(report["serving_form_ready_at"] - launched, 2),
        "peak_rss_mb": report["peak_rss_mb"],
        "start_phases_s": {
            phase: round(report[key] - launched, 2)
            for phase, key in (
                ("imports_done", "imported_at"),
                ("model_load_from", "model_load_from"),
                ("knowledge_base_from", "knowledge_base_from"),
                ("embedding_model_from", "embedding_model_from"),
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
