"""Evidence: the sentences of the given sources that answer the question, in reading order.

Every sentence (or list item) of every source is scored against the conversation's query
with the embedding model the knowledge base already holds, plus the share of the question's
content words it contains. The best one is kept with the steps that follow it, so a
procedure comes out whole and in the manual's order, up to a word budget.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.answering.injection import without_injected
from assistant.answering.text import Unit, answer_part, content_terms, split_units

Embed = Callable[[Sequence[str]], np.ndarray]  # texts -> unit-length rows

LEXICAL_WEIGHT = 0.3  # weight of the question's content words found in a sentence
MIN_WORDS = 3  # shorter units (labels, fragments) are not evidence on their own


@dataclass(frozen=True)
class Evidence:
    n: int  # the source's number in the answer
    unit: Unit
    score: float

    @property
    def text(self) -> str:
        return self.unit.text


@dataclass(frozen=True)
class Candidate:
    n: int
    unit: Unit
    following: tuple[Unit, ...]  # the units after it in the same source


def candidates(sources: dict[int, str]) -> list[Candidate]:
    found = []
    for n, text in sources.items():
        units = without_injected(split_units(answer_part(text)))
        for i, unit in enumerate(units):
            if len(unit.text.split()) >= MIN_WORDS:
                found.append(Candidate(n, unit, tuple(units[i + 1 :])))
    return found


def lexical_overlap(question_terms: set[str], text: str) -> float:
    if not question_terms:
        return 0.0
    return len(question_terms & set(content_terms(text))) / len(question_terms)


def query_vector(embed: Embed, parts: Sequence[tuple[str, float]]) -> np.ndarray:
    vectors = embed([text for text, _ in parts])
    weights = np.array([weight for _, weight in parts], dtype=np.float32)
    vector = (vectors * weights[:, None]).sum(axis=0)
    return vector / (np.linalg.norm(vector) or 1.0)


def select_evidence(
    question: str,
    query_parts: Sequence[tuple[str, float]],
    sources: dict[int, str],
    embed: Embed,
    max_words: int,
) -> list[Evidence]:
    """The best-matching sentence and the steps after it, within ``max_words``."""
    pool = candidates(sources)
    if not pool:
        return []
    query = query_vector(embed, query_parts)
    similarity = embed([c.unit.text for c in pool]) @ query
    terms = set(content_terms(question))
    scores = [
        float(sim) + LEXICAL_WEIGHT * lexical_overlap(terms, c.unit.text)
        for sim, c in zip(similarity, pool, strict=True)
    ]
    best = max(range(len(pool)), key=scores.__getitem__)
    chosen = pool[best]
    picked = [Evidence(chosen.n, chosen.unit, scores[best])]
    words = len(chosen.unit.text.split())
    continues = chosen.unit.text.rstrip().endswith(":") or chosen.unit.is_step
    for unit in chosen.following:
        if not continues or (picked[-1].unit.is_step and not unit.is_step):
            break
        size = len(unit.text.split())
        if words + size > max_words:
            break
        picked.append(Evidence(chosen.n, unit, scores[best]))
        words += size
        continues = unit.is_step or unit.text.rstrip().endswith(":")
    return picked
