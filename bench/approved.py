"""Approved answers: the match threshold, by precision and recall on question pairs.

    python -m bench approved [--bitext FILE] [--tickets FILE] [--eval FILE]
        [--target-precision P]

Builds paraphrase and look-alike pairs (bench/approved_data.py) from the Bitext intents and
the shipped tickets, scores each pair as the matcher does (MiniLM cosine on scrubbed text,
then the guard of tuning/approved_match.py), chooses the threshold on the dev pairs (the
lowest at and above which dev precision stays >= the target), and reports precision and
recall on the test pairs, which the choice never saw. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.approved_data import (
    DEFAULT_BITEXT,
    DEFAULT_EVAL,
    DEFAULT_TICKETS,
    Pair,
    bitext_pairs,
    bitext_random_paraphrases,
    read_bitext,
    read_eval_groups,
    read_tickets,
    ticket_pairs,
)
from bench.machine import describe as describe_machine
from retrieval.embeddings import shared_embedder
from tuning.approved import scrub_text
from tuning.approved_match import same_request

GRID = [round(0.70 + 0.005 * i, 3) for i in range(61)]  # 0.700 .. 1.000
GUARDS = ("none", "terms", "full")
TARGETS = {"precision": 0.95, "recall": 0.70}


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench approved", description=__doc__)
    parser.add_argument("--bitext", type=Path, default=DEFAULT_BITEXT, help="Bitext public.jsonl")
    parser.add_argument("--tickets", type=Path, default=DEFAULT_TICKETS, help="tickets CSV")
    parser.add_argument("--eval", type=Path, default=DEFAULT_EVAL, help="evaluation questions")
    parser.add_argument(
        "--target-precision",
        type=float,
        default=TARGETS["precision"],
        help="dev precision the chosen threshold must keep",
    )
    return parser.parse_args(list(argv))


class Scorer:
    """Cosine of each pair (embedded once) and the guard's verdict for each guard."""

    def __init__(self, pairs: list[Pair], embed):
        texts = sorted({t for p in pairs for t in (p.first, p.second)})
        vectors = dict(zip(texts, embed(texts), strict=True))
        self.cosine = {p: float(vectors[p.first] @ vectors[p.second]) for p in pairs}
        self.passes = {
            guard: {p: same_request(p.first, p.second, guard) for p in pairs} for guard in GUARDS
        }

    def accepted(self, pair: Pair, threshold: float, guard: str) -> bool:
        return self.cosine[pair] >= threshold and self.passes[guard][pair]

    def measure(self, pairs: list[Pair], threshold: float, guard: str) -> dict[str, Any]:
        paraphrases = [p for p in pairs if p.kind == "paraphrase"]
        lookalikes = [p for p in pairs if p.kind == "lookalike"]
        hits = sum(self.accepted(p, threshold, guard) for p in paraphrases)
        false = sum(self.accepted(p, threshold, guard) for p in lookalikes)
        return {
            "precision": round(hits / (hits + false), 4) if hits + false else None,
            "recall": round(hits / len(paraphrases), 4) if paraphrases else None,
            "lookalikes_accepted": round(false / len(lookalikes), 4) if lookalikes else None,
            "paraphrases": len(paraphrases),
            "lookalikes": len(lookalikes),
        }


def choose_threshold(scorer: Scorer, dev: list[Pair], guard: str, target: float) -> float:
    """The lowest grid value from which dev precision never falls below the target."""
    chosen = GRID[-1]
    for threshold in reversed(GRID):
        precision = scorer.measure(dev, threshold, guard)["precision"]
        if precision is not None and precision < target:
            break
        chosen = threshold
    return chosen


def by_source(scorer: Scorer, pairs: list[Pair], threshold: float, guard: str) -> dict:
    return {
        "all": scorer.measure(pairs, threshold, guard),
        **{
            source: scorer.measure([p for p in pairs if p.source == source], threshold, guard)
            for source in ("bitext", "tickets")
        },
    }


def run(argv: Sequence[str]) -> dict[str, Any]:
    args = parse_args(argv)
    started = time.perf_counter()
    embedder = shared_embedder(None, "cpu")
    bitext = read_bitext(args.bitext.expanduser())
    pairs = bitext_pairs(bitext, embedder.embed, scrub_text)
    pairs += ticket_pairs(
        read_tickets(args.tickets), read_eval_groups(args.eval), embedder.embed, scrub_text
    )
    random_pairs = bitext_random_paraphrases(bitext, scrub_text, "test")
    scorer = Scorer(pairs + random_pairs, embedder.embed)
    dev = [p for p in pairs if p.split == "dev"]
    test = [p for p in pairs if p.split == "test"]
    chosen = {g: choose_threshold(scorer, dev, g, args.target_precision) for g in GUARDS}
    threshold = chosen["full"]
    test_result = by_source(scorer, test, threshold, "full")
    return {
        "benchmark": "approved",
        "command": " ".join(["python -m bench approved", *argv]),
        "machine": describe_machine(),
        "embedder": embedder.label,
        "seconds": round(time.perf_counter() - started, 1),
        "pairs": _counts(pairs),
        "chosen_on": "dev (Bitext categories every other one sorted, half the tickets)",
        "reported_on": "test (the other Bitext categories and tickets; not used to choose)",
        "target_precision_on_dev": args.target_precision,
        "threshold": threshold,
        "guard": "full",
        "dev": by_source(scorer, dev, threshold, "full"),
        "test": test_result,
        "test_bitext_random_paraphrase_recall": scorer.measure(random_pairs, threshold, "full")[
            "recall"
        ],
        "guards": {
            guard: {
                "threshold_chosen_on_dev": chosen[guard],
                "test": scorer.measure(test, chosen[guard], guard),
                "test_at_chosen_threshold": scorer.measure(test, threshold, guard),
            }
            for guard in GUARDS
        },
        "accepted_by_how_at_threshold": _accepted_by_how(scorer, pairs, threshold),
        "test_curve": {str(t): scorer.measure(test, t, "full") for t in GRID[::4] if t >= 0.8},
        "targets": TARGETS,
        "met": {
            "precision": (test_result["all"]["precision"] or 0) >= TARGETS["precision"],
            "recall": (test_result["all"]["recall"] or 0) >= TARGETS["recall"],
        },
    }


def _accepted_by_how(scorer: Scorer, pairs: list[Pair], threshold: float) -> dict[str, dict]:
    """Dev and test together: how many pairs of each making each guard accepts."""
    groups: dict[str, list[Pair]] = {}
    for p in pairs:
        groups.setdefault(f"{p.source}/{p.kind}/{p.how}", []).append(p)
    return {
        name: {
            "pairs": len(group),
            **{g: sum(scorer.accepted(p, threshold, g) for p in group) for g in GUARDS},
        }
        for name, group in sorted(groups.items())
    }


def _counts(pairs: list[Pair]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for p in pairs:
        key = f"{p.split}/{p.source}/{p.kind}/{p.how}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def main(argv: Sequence[str]) -> int:
    result = run(argv)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
