"""Evidence: the sentences of the given sources that answer the question, in reading order.

Every sentence (or list item) of every source is scored against the conversation's query
with the embedding model the knowledge base already holds, plus the share of the question's
content words it contains. The best one is kept with the steps that follow it, so a
procedure comes out whole and in the manual's order, up to a word budget.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from assistant.answering.injection import without_injected
from assistant.answering.one_customer import for_any_customer
from assistant.answering.text import Unit, answer_part, content_terms, is_reply, split_units

Embed = Callable[[Sequence[str]], np.ndarray]  # texts -> unit-length rows

LEXICAL_WEIGHT = 0.3  # weight of the question's content words found in a sentence
MIN_WORDS = 3  # shorter units (labels, list fragments) are evidence only beside others
SPAN_MARGIN = 0.1  # sentences near the best one are kept while they score within this of it


@dataclass(frozen=True)
class Evidence:
    n: int  # the source's number in the answer
    unit: Unit
    score: float

    @property
    def text(self) -> str:
        return self.unit.text


def candidates(sources: dict[int, str], replies: set[int]) -> list[tuple[int, Unit]]:
    """Every unit of every source, less what a past reply says that was true for its
    customer only."""
    pool = []
    for n, text in sources.items():
        for unit in without_injected(split_units(answer_part(text))):
            kept = for_any_customer(unit.text) if n in replies else unit.text
            if kept is not None:
                pool.append((n, replace(unit, text=kept)))
    return pool


def lexical_overlap(question_terms: set[str], text: str) -> float:
    if not question_terms:
        return 0.0
    return len(question_terms & set(content_terms(text))) / len(question_terms)


def query_vector(embed: Embed, parts: Sequence[tuple[str, float]]) -> np.ndarray:
    vectors = embed([text for text, _ in parts])
    weights = np.array([weight for _, weight in parts], dtype=np.float32)
    vector = (vectors * weights[:, None]).sum(axis=0)
    return vector / (np.linalg.norm(vector) or 1.0)


def block_of(pool: list[tuple[int, Unit]], best: int) -> range:
    """Indices of the units sharing the best one's block: its source's run of adjacent lines
    (a paragraph, or an introduction with its list)."""
    n = pool[best][0]
    start = end = best
    while start > 0 and pool[start - 1][0] == n and _adjacent(pool[start - 1][1], pool[start][1]):
        start -= 1
    while (
        end + 1 < len(pool) and pool[end + 1][0] == n and _adjacent(pool[end][1], pool[end + 1][1])
    ):
        end += 1
    return range(start, end + 1)


def _adjacent(first: Unit, second: Unit) -> bool:
    return second.line - first.line <= 1


def best_span(scores: list[float], block: range, best: int, floor: float) -> range:
    """The run of the block around ``best`` whose scores exceed ``floor`` by the most in sum
    (a weak sentence between two strong ones is kept; a weak tail is not)."""
    gain = {i: scores[i] - floor for i in block}
    start, total = best, 0.0
    left, run = best, 0.0
    for i in range(best - 1, block.start - 1, -1):
        run += gain[i]
        if run > total:
            total, left = run, i
    start = left
    end, total, run = best, 0.0, 0.0
    for i in range(best + 1, block.stop):
        run += gain[i]
        if run > total:
            total, end = run, i
    return range(start, end + 1)


def select_evidence(
    question: str,
    query_parts: Sequence[tuple[str, float]],
    sources: dict[int, str],
    embed: Embed,
    max_words: int,
    count: int = 1,
    min_words: int = 0,
    min_score: float = 0.0,
    headings: dict[int, str] | None = None,
) -> list[list[Evidence]]:
    """Up to ``count`` candidate evidence spans, best first: each the best-matching sentence
    not yet used, with the strong sentences around it in its paragraph or list, in reading
    order, within ``max_words`` (the sentence itself always). A span shorter than
    ``min_words`` goes on with the next best sentences of any source scoring ``min_score``.
    ``headings``: the heading each source sits under; its words count as its sentences' own
    (a manual's section "How long is the reset link valid?" says what its sentences answer)."""
    replies = {n for n, text in sources.items() if is_reply(text)}
    pool = candidates(sources, replies)
    if not pool:
        return []
    headings = headings or {}
    query = query_vector(embed, query_parts)
    similarity = embed([unit.text for _, unit in pool]) @ query
    terms = set(content_terms(question))
    scores = [
        float(sim) + LEXICAL_WEIGHT * lexical_overlap(terms, f"{headings.get(n, '')} {unit.text}")
        for sim, (n, unit) in zip(similarity, pool, strict=True)
    ]
    eligible = [i for i, (_, unit) in enumerate(pool) if len(unit.text.split()) >= MIN_WORDS]
    ranked = sorted(eligible, key=lambda i: -scores[i])
    spans: list[list[Evidence]] = []
    used: set[int] = set()
    for best in ranked:
        if len(spans) == count:
            break
        if best in used:
            continue
        picked = _span_around(pool, scores, best, max_words, pool[best][0] in replies)
        used.update(picked)
        strong = [i for i in ranked if scores[i] >= min_score]
        picked += _filling(pool, strong, picked, min(min_words, max_words))
        spans.append([Evidence(pool[i][0], pool[i][1], scores[best]) for i in picked])
    return spans


def _filling(
    pool: list[tuple[int, Unit]], ranked: list[int], picked: list[int], min_words: int
) -> list[int]:
    """The best-ranked sentences outside ``picked`` that bring it to ``min_words`` (a one-line
    answer says less than the agent would)."""
    words = sum(len(pool[i][1].text.split()) for i in picked)
    said = {pool[i][1].text for i in picked}  # a sentence two sources share is said once
    added: list[int] = []
    for i in ranked:
        if words >= min_words:
            break
        if i not in picked and pool[i][1].text not in said:
            added.append(i)
            said.add(pool[i][1].text)
            words += len(pool[i][1].text.split())
    return added


def _span_around(
    pool: list[tuple[int, Unit]], scores: list[float], best: int, max_words: int, whole: bool
) -> list[int]:
    """The span around ``best``; ``whole``: its whole block (a past ticket's resolution is an
    agent's complete reply)."""
    block = block_of(pool, best)
    if whole:
        span = block
    else:
        span = best_span(scores, block, best, scores[best] - SPAN_MARGIN)
        span = with_rest_of_procedure(pool, span, block)
    # the nearest sentences first, or in a whole reply the strongest: the budget drops the rest
    order = sorted(span, key=lambda i: -scores[i] if whole else (i < best, abs(i - best)))
    picked = [best]
    words = len(pool[best][1].text.split())
    for i in order:
        size = len(pool[i][1].text.split())
        if i != best and words + size <= max_words:
            picked.append(i)
            words += size
    return sorted(picked) if whole else _contiguous(sorted(picked), best)


def with_rest_of_procedure(pool: list[tuple[int, Unit]], span: range, block: range) -> range:
    """A span that reaches into a list (or the line introducing one) goes on to its last step,
    so that a procedure is never cut after the step that matched best."""
    if not any(pool[i][1].is_step or pool[i][1].text.rstrip().endswith(":") for i in span):
        return span
    end = span.stop
    while end < block.stop and pool[end][1].is_step:
        end += 1
    return range(span.start, end)


def _contiguous(indices: list[int], best: int) -> list[int]:
    """The run of consecutive indices that contains ``best``."""
    position = indices.index(best)
    start = end = position
    while start > 0 and indices[start - 1] == indices[start] - 1:
        start -= 1
    while end + 1 < len(indices) and indices[end + 1] == indices[end] + 1:
        end += 1
    return indices[start : end + 1]
