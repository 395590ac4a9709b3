"""Bitext rows for the learning benchmark: a stratified, disjoint train / held-out choice.

Train rows become feedback rows (see tuning/formats.py): the customer's question, an answer the
agent flagged bad, and the Bitext response as the correction. Held-out rows become
``deskloop eval`` rows (question, reference).
"""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

DEFAULT_BITEXT = Path(__file__).resolve().parents[2] / "shared" / "data" / "bitext" / "public.jsonl"

# The flagged "original" answer. Generating the base model's own 300 answers would take
# most of an hour on a 2-core CPU, and SFT learns only the correction, so every row
# carries this short generic reply instead (it only matters for DPO/KTO export).
GENERIC_ORIGINAL = "Thank you for reaching out. I'm sorry, I can't help with that request."


def read_bitext(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise SystemExit(f"error: no Bitext file at {path}: pass --data FILE")
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def normalized(text: str) -> str:
    return re.sub(r"\s+", " ", text.casefold()).strip()


def stratified_split(
    rows: Sequence[dict[str, Any]], train_n: int, heldout_n: int, seed: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``train_n`` and ``heldout_n`` rows spread evenly over intents, sharing no instruction.

    Each intent's rows are shuffled with ``seed``; rows are dealt round-robin over the
    intents, the held-out set first, then the train set from what is left.
    """
    by_intent: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_intent[row["intent"]].append(row)
    rng = random.Random(seed)
    queues = []
    for intent in sorted(by_intent):
        group = list(by_intent[intent])
        rng.shuffle(group)
        queues.append(group)
    heldout = _deal(queues, heldout_n)
    taken = {normalized(r["instruction"]) for r in heldout}
    queues = [[r for r in q if normalized(r["instruction"]) not in taken] for q in queues]
    train = _deal(queues, train_n)
    return train, heldout


def _deal(queues: list[list[dict[str, Any]]], count: int) -> list[dict[str, Any]]:
    """Take ``count`` rows round-robin from the queues (removing them)."""
    chosen: list[dict[str, Any]] = []
    while len(chosen) < count and any(queues):
        for queue in queues:
            if queue and len(chosen) < count:
                chosen.append(queue.pop(0))
    return chosen


def feedback_row(row: dict[str, Any], original: str = GENERIC_ORIGINAL) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "user", "content": row["instruction"]},
            {"role": "assistant", "content": original},
        ],
        "rating": "bad",
        "correction": row["response"],
        "reason": "incorrect",
    }


def eval_row(row: dict[str, Any]) -> dict[str, Any]:
    return {"question": row["instruction"], "reference": row["response"], "id": row["id"]}


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> int:
    lines = [json.dumps(r, ensure_ascii=False) + "\n" for r in records]
    path.write_text("".join(lines), encoding="utf-8")
    return len(lines)
