"""Ranking metrics over lists of distinct labels (best first)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CUTOFFS = (1, 5, 20)


def distinct(labels: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(labels))


def recall_at(ranking: Sequence[str], gold: frozenset[str], k: int) -> float:
    """The share of the gold labels found in the first ``k`` of ``ranking``."""
    return len(gold.intersection(ranking[:k])) / len(gold) if gold else 0.0


def hit_at(ranking: Sequence[str], gold: frozenset[str], k: int) -> float:
    """1 when any gold label is in the first ``k``."""
    return float(bool(gold.intersection(ranking[:k])))


def reciprocal_rank(ranking: Sequence[str], gold: frozenset[str]) -> float:
    return next((1.0 / rank for rank, label in enumerate(ranking, 1) if label in gold), 0.0)


def summarise(
    rankings: Sequence[Sequence[str]], golds: Sequence[frozenset[str]], mrr: bool = False
) -> dict[str, float]:
    """Mean recall@k for each cutoff (and hit@k where some case has several gold labels)."""
    rankings = [distinct(ranking) for ranking in rankings]
    summary = {
        f"recall@{k}": _mean([recall_at(r, g, k) for r, g in zip(rankings, golds, strict=True)])
        for k in CUTOFFS
    }
    if any(len(gold) > 1 for gold in golds):
        summary |= {
            f"hit@{k}": _mean([hit_at(r, g, k) for r, g in zip(rankings, golds, strict=True)])
            for k in CUTOFFS
        }
    if mrr:
        summary["mrr"] = _mean(
            [reciprocal_rank(r, g) for r, g in zip(rankings, golds, strict=True)]
        )
    return summary


def percentile_ms(seconds: Sequence[float], q: float) -> float:
    return round(float(np.percentile(np.asarray(seconds) * 1000.0, q)), 1) if seconds else 0.0


def _mean(values: Sequence[float]) -> float:
    return round(float(np.mean(values)), 4) if values else 0.0
