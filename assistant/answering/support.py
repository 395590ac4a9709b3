"""How much of a sentence its sources support: shared content words and word pairs.

A sentence's support by a source is the mean of two shares: its content words found in the
source, and its pairs of consecutive content words found there. Copied or lightly reworded
sentences score near 1; invented steps score low even when they reuse the topic's words.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.answering.text import bigrams, content_terms


@dataclass(frozen=True)
class Vocabulary:
    """A source's content words and word pairs, computed once per answer."""

    terms: frozenset[str]
    pairs: frozenset[tuple[str, str]]

    @classmethod
    def of(cls, text: str) -> Vocabulary:
        terms = content_terms(text)
        return cls(frozenset(terms), frozenset(bigrams(terms)))

    def union(self, other: Vocabulary) -> Vocabulary:
        return Vocabulary(self.terms | other.terms, self.pairs | other.pairs)


def support(text: str, source: Vocabulary) -> float | None:
    """Share of the text's content found in the source; None when the text has no content."""
    terms = content_terms(text)
    if not terms:
        return None
    word_share = sum(t in source.terms for t in terms) / len(terms)
    pairs = bigrams(terms)
    if not pairs:
        return word_share
    pair_share = sum(p in source.pairs for p in pairs) / len(pairs)
    return (word_share + pair_share) / 2


def pooled_support(sentences: list[str], source: Vocabulary) -> float | None:
    """Support of several sentences together, weighted by their content (an answer's figure)."""
    found = total = 0.0
    for sentence in sentences:
        terms = content_terms(sentence)
        pairs = bigrams(terms)
        found += sum(t in source.terms for t in terms) + sum(p in source.pairs for p in pairs)
        total += len(terms) + len(pairs)
    return found / total if total else None
