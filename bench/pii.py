"""PII scrubbing benchmark on the generated corpus (bench/pii_corpus.py).

    python -m bench pii [--part test|tune] [--seed N] [--per-category N] [--regions US,GB,...]

The rules in tuning/pii.py were developed on the "tune" part (seed 1); the default report
is on the "test" part (seed 2), whose sentence frames, names, streets, cities and
look-alike templates the tune part never shows. An identifier counts as found when every
letter and digit of it lies inside a mask; a look-alike counts as wrongly masked when
any mask touches it. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from bench.machine import cpu_model
from bench.pii_corpus import CATEGORIES, PARTS, STRUCTURED, Label, Message, generate
from tuning.pii import DEFAULT_PHONE_REGIONS, Found, find_pii

TARGETS = {"structured_recall": 0.99, "name_address_recall": 0.90, "lookalike_fp_rate": 0.01}
TUNED_ON = {"part": "tune", "seed": 1}
KIND = {
    "email": "EMAIL", "phone": "PHONE", "card": "CARD", "iban": "IBAN", "ssn": "SSN",
    "ip": "IP", "name": "NAME", "address": "ADDRESS",
}  # fmt: skip


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench pii", description=__doc__)
    parser.add_argument("--part", choices=PARTS, default="test", help="corpus part to score")
    parser.add_argument("--seed", type=int, default=2, help="corpus seed")
    parser.add_argument("--per-category", type=int, default=60, help="messages per category")
    parser.add_argument(
        "--regions",
        default=",".join(DEFAULT_PHONE_REGIONS),
        help="phone regions, comma-separated (the training setting's default)",
    )
    parser.add_argument("--misses", type=int, default=10, help="examples of errors to print")
    return parser.parse_args(list(argv))


def covered(label: Label, found: Sequence[Found], text: str) -> bool:
    return all(
        any(f.start <= i < f.end for f in found)
        for i in range(label.start, label.end)
        if text[i].isalnum()
    )


def touched(label: Label, found: Sequence[Found]) -> bool:
    return any(f.start < label.end and label.start < f.end for f in found)


def score(messages: Sequence[Message], regions: Sequence[str], misses: int) -> dict[str, Any]:
    items: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    typed: Counter[str] = Counter()
    subtype_items: Counter[str] = Counter()
    subtype_hits: Counter[str] = Counter()
    look_items: Counter[str] = Counter()
    look_masked: Counter[str] = Counter()
    unlabelled = 0
    examples: list[dict[str, str]] = []
    for message in messages:
        found = find_pii(message.text, regions)
        for label in message.pii:
            key = f"{label.category}/{label.subtype}"
            items[label.category] += 1
            subtype_items[key] += 1
            if covered(label, found, message.text):
                hits[label.category] += 1
                subtype_hits[key] += 1
                kinds = {f.kind for f in found if f.start < label.end and label.start < f.end}
                typed[label.category] += kinds == {KIND[label.category]}
            elif len(examples) < misses:
                examples.append(_example("missed", key, label, message, found))
        for label in message.lookalikes:
            look_items[label.category] += 1
            if touched(label, found):
                look_masked[label.category] += 1
                if len(examples) < misses:
                    examples.append(_example("masked", label.category, label, message, found))
        labels = [*message.pii, *message.lookalikes]
        unlabelled += sum(
            not any(f.start < x.end and x.start < f.end for x in labels) for f in found
        )
    recall = {c: round(hits[c] / items[c], 4) for c in CATEGORIES if items[c]}
    n_look, n_masked = sum(look_items.values()), sum(look_masked.values())
    fp_rate = n_masked / n_look if n_look else 0.0
    return {
        "items": {c: items[c] for c in CATEGORIES},
        "recall": recall,
        "typed_correctly": {c: round(typed[c] / items[c], 4) for c in CATEGORIES if items[c]},
        "recall_by_subtype": {
            k: f"{subtype_hits[k]}/{n}" for k, n in sorted(subtype_items.items())
        },
        "lookalikes": {
            "items": n_look,
            "wrongly_masked": n_masked,
            "rate": round(fp_rate, 4),
            "by_kind": {k: f"{look_masked[k]}/{n}" for k, n in sorted(look_items.items())},
        },
        "masks_on_unlabelled_text": unlabelled,
        "targets_met": {
            "structured_recall": all(
                recall.get(c, 1.0) >= TARGETS["structured_recall"] for c in STRUCTURED
            ),
            "name_address_recall": all(
                recall.get(c, 1.0) >= TARGETS["name_address_recall"] for c in ("name", "address")
            ),
            "lookalike_fp_rate": fp_rate <= TARGETS["lookalike_fp_rate"],
        },
        "errors": examples,
    }


def _example(what: str, key: str, label: Label, message: Message, found: Sequence[Found]):
    return {
        "error": what,
        "label": key,
        "value": message.text[label.start : label.end],
        "text": message.text,
        "masks": [f"{f.kind}:{message.text[f.start : f.end]}" for f in found],
    }


def run(argv: Sequence[str]) -> dict[str, Any]:
    args = parse_args(argv)
    regions = [r.strip().upper() for r in args.regions.split(",") if r.strip()]
    messages = generate(args.seed, args.part, args.per_category)
    started = time.perf_counter()
    result = score(messages, regions, args.misses)
    seconds = time.perf_counter() - started
    return {
        "corpus": {
            "part": args.part,
            "seed": args.seed,
            "messages": len(messages),
            "held_out": args.part != TUNED_ON["part"],
            "rules_tuned_on": TUNED_ON,
        },
        "regions": regions,
        "targets": TARGETS,
        **result,
        "ms_per_message": round(1000 * seconds / max(1, len(messages)), 2),
        "machine": {"cpu": cpu_model(), "platform": platform.platform()},
    }


def main(argv: Sequence[str]) -> int:
    print(json.dumps(run(argv), indent=2, ensure_ascii=False))
    return 0
