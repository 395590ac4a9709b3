"""Exact and near-duplicate removal over items keyed by a few text parts.

An item's key is a short sequence of texts (for feedback: the user prompt, the answer to
learn and the answer to avoid). Two items are exact duplicates when every part is equal
after normalisation, and near-duplicates when every part's character-shingle Jaccard
similarity reaches the threshold. MinHash LSH (datasketch) finds the candidates; the
exact Jaccard on the shingle sets confirms them, so the threshold means what it says.
The first item of each duplicate group is kept.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from datasketch import MinHash, MinHashLSH

T = TypeVar("T")

NUM_PERM = 128


@dataclass
class DedupResult(Generic[T]):
    kept: list[T] = field(default_factory=list)
    exact_removed: int = 0
    near_removed: int = 0


def normalize(text: str) -> str:
    """Case-, width- and whitespace-insensitive form of a text."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).casefold()).strip()


def shingles(text: str, size: int = 5) -> frozenset[str]:
    """Character ``size``-grams of the normalised text (the whole text if shorter)."""
    text = normalize(text)
    if len(text) <= size:
        return frozenset([text])
    return frozenset(text[i : i + size] for i in range(len(text) - size + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def dedup(
    items: Sequence[T],
    key: Callable[[T], Sequence[str]],
    near_threshold: float | None = 0.9,
    shingle_size: int = 5,
) -> DedupResult[T]:
    """Drop exact, then near, duplicates; ``near_threshold=None`` skips the near pass."""
    if near_threshold is not None and not 0.0 < near_threshold <= 1.0:
        raise ValueError("near_threshold must be in (0, 1]")
    result: DedupResult[T] = DedupResult()
    seen: set[str] = set()
    lsh = _candidate_index(near_threshold) if near_threshold else None
    kept_parts: list[list[frozenset[str]]] = []
    for item in items:
        parts = list(key(item))
        digest = hashlib.sha256("\x1f".join(normalize(p) for p in parts).encode()).hexdigest()
        if digest in seen:
            result.exact_removed += 1
            continue
        seen.add(digest)
        if lsh is not None:
            part_shingles = [shingles(p, shingle_size) for p in parts]
            signature = _minhash(part_shingles)
            if any(
                _all_parts_similar(part_shingles, kept_parts[int(i)], near_threshold)
                for i in lsh.query(signature)
            ):
                result.near_removed += 1
                continue
            lsh.insert(str(len(kept_parts)), signature)
            kept_parts.append(part_shingles)
        result.kept.append(item)
    return result


def _candidate_index(threshold: float) -> MinHashLSH:
    # Candidates are confirmed exactly, so the index errs towards recall: a lower
    # threshold and a heavy weight on false negatives find ~all pairs at the threshold.
    lsh_threshold = min(max(threshold - 0.1, 0.05), 0.9)
    return MinHashLSH(threshold=lsh_threshold, num_perm=NUM_PERM, weights=(0.1, 0.9))


def _minhash(part_shingles: list[frozenset[str]]) -> MinHash:
    # Tagging shingles with their part keeps "prompt" text from matching "answer" text.
    # The combined Jaccard is at least the smallest per-part Jaccard, so LSH on the
    # combined set finds every pair whose parts are all similar enough.
    tagged = sorted(f"{i}\x1f{s}" for i, part in enumerate(part_shingles) for s in part)
    m = MinHash(num_perm=NUM_PERM)
    m.update_batch([s.encode() for s in tagged])
    return m


def _all_parts_similar(a: list[frozenset[str]], b: list[frozenset[str]], threshold: float) -> bool:
    return len(a) == len(b) and all(jaccard(x, y) >= threshold for x, y in zip(a, b, strict=True))
