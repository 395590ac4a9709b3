"""What makes an answer sendable, measured: overlap with a reference, support by its sources,
valid citations, and declining exactly when the sources do not answer.

The benchmark and the promotion gate both score answers here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assistant.answering.citations import CITE_MIN, markers_in, split_pieces
from assistant.answering.support import Vocabulary, pooled_support, support
from assistant.answering.text import strip_markers
from tuning.metrics import declines, mean, rouge_l, token_f1


def citation_check(answer: str, sources: dict[int, str]) -> tuple[int, int]:
    """(markers in the answer, markers that name a given source supporting their sentence)."""
    vocabularies = {n: Vocabulary.of(text) for n, text in sources.items()}
    total = valid = 0
    for piece, _ in split_pieces(answer):
        plain = strip_markers(piece)
        for n in markers_in(piece):
            total += 1
            if n in vocabularies and (support(plain, vocabularies[n]) or 0.0) >= CITE_MIN:
                valid += 1
    return total, valid


def answer_support(answer: str, sources: dict[int, str]) -> float | None:
    everything = Vocabulary(frozenset(), frozenset())
    for text in sources.values():
        everything = everything.union(Vocabulary.of(text))
    return pooled_support([piece for piece, _ in split_pieces(answer)], everything)


def score_answer(
    answer: str, sources: dict[int, str], reference: str | None, answerable: bool
) -> dict[str, Any]:
    declined = declines(answer)
    row: dict[str, Any] = {"declined": declined, "answerable": answerable}
    if reference is not None and answerable:  # a wrong decline scores what it says, near 0
        row["token_f1"] = token_f1(strip_markers(answer), reference)
        row["rouge_l"] = rouge_l(strip_markers(answer), reference)
    if declined:
        return row
    row["words"] = len(answer.split())
    if sources:
        row["support"] = answer_support(answer, sources)
        total, valid = citation_check(answer, sources)
        row["cites"] = total > 0
        row["citations_valid"] = total > 0 and valid == total
    return row


def summarise(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    answered = [r for r in rows if not r["declined"]]

    def values(key: str, among: Sequence[dict] = answered) -> list[float]:
        return [float(r[key]) for r in among if r.get(key) is not None]

    return {
        "cases": len(rows),
        "token_f1": mean(values("token_f1", rows)),
        "rouge_l": mean(values("rouge_l", rows)),
        "support": mean(values("support")),
        "cites": mean(values("cites")),
        "citations_all_valid": mean(values("citations_valid")),
        "declined_unanswerable": mean([float(r["declined"]) for r in unanswerable]),
        "declined_answerable": mean([float(r["declined"]) for r in answerable]),
        "words": mean(values("words")),
        "seconds": mean(values("seconds", rows)),
    }
