"""One chat process for bench/chat_path: open the engine, say when ready, answer, report memory.

    python -m bench.chat_process QUESTION... [--adapter DIR]

Prints one JSON document: the wall-clock times the engine was ready and its serving form was in
place, when its imports were done and its model load, knowledge-base opening and embedding-model
load began, and the process's peak resident memory (VmHWM) after answering. Not a benchmark of
its own (no `run`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chat_process")
    parser.add_argument("questions", nargs="*")
    parser.add_argument("--adapter", type=Path, default=None)
    args = parser.parse_args(argv)

    from assistant.app import fixed_adapter, open_engine
    from assistant.settings import load_settings

    choice = fixed_adapter("bench-lora", args.adapter) if args.adapter else None
    phases: dict[str, float] = {"imported_at": time.time()}

    def progress(message: str) -> None:
        if message == "Loading the embedding model":
            phases["embedding_model_from"] = time.time()
        elif message.startswith("Loading"):
            phases["model_load_from"] = time.time()
        elif message.startswith("Opening the knowledge base"):
            phases["knowledge_base_from"] = time.time()

    engine = open_engine(load_settings(), progress, adapter_choice=choice)
    ready_at = time.time()
    adapter = engine.prepare()
    serving_ready_at = time.time()
    first_token_at = None
    for question in args.questions:
        for chunk in engine.ask(question):
            if first_token_at is None and chunk:
                first_token_at = time.time()
    report = {
        "ready_at": ready_at,
        "first_token_at": first_token_at or time.time(),
        "serving_form_ready_at": serving_ready_at,
        "serving_form": engine.model.describe(adapter),
        **phases,
        "peak_rss_mb": round(peak_rss_kb() / 1024, 1),
    }
    print(json.dumps(report))
    return 0


def peak_rss_kb() -> int:
    # VmHWM, not ru_maxrss: on Linux a child's ru_maxrss starts at its parent's RSS at fork.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
