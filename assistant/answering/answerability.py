"""Does what was found answer the question? The share of the question's key words the
sources contain, and how well the best evidence sentence matches.

"Can I pay with Bitcoin?" finds the payment-methods page (high similarity) but the page never
says "Bitcoin": the question's distinctive word is missing from every source, so deskloop
declines instead of answering about cards.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from assistant.answering.support import Vocabulary
from assistant.answering.text import STOPWORDS, stem, words

# Words that carry no topic of their own in a support question.
_GENERIC_WORDS = """help need want know way thing things anything something possible able use
    using used work works working make sure tell let like also still really much many new old
    problem issue question try tried trying go going able time today day now another
    other else"""
GENERIC = frozenset(stem(word) for word in _GENERIC_WORDS.split())


TYPO_SIMILARITY = 0.8  # a word this close to a known one is a misspelling of it


@dataclass(frozen=True)
class Answerability:
    coverage: float  # share of the question's key words found in the sources
    missing: tuple[str, ...]  # key words found in none of them
    unknown: tuple[str, ...]  # key words the whole knowledge base never uses
    evidence_score: float  # how well the best evidence sentence matches the question
    rare: tuple[str, ...] = ()  # unknown words that are names or jargon, not everyday words

    def answerable(self, min_coverage: float, min_evidence: float, max_unknown: int) -> bool:
        return (
            not self.rare
            and len(self.unknown) <= max_unknown
            and self.coverage >= min_coverage
            and self.evidence_score >= min_evidence
        )

    def to_dict(self) -> dict:
        return {
            "coverage": round(self.coverage, 3),
            "missing": list(self.missing),
            "unknown": list(self.unknown),
            "rare": list(self.rare),
            "evidence_score": round(self.evidence_score, 3),
        }


def key_terms(question: str) -> list[str]:
    return list(key_words(question))


def key_words(question: str) -> dict[str, str]:
    """The question's key words, stem -> the word as written."""
    found: dict[str, str] = {}
    for word in words(question):
        term = stem(word)
        if word not in STOPWORDS and term not in GENERIC:
            found.setdefault(term, word)
    return found


def unknown_terms(terms: list[str], vocabulary: frozenset[str]) -> tuple[str, ...]:
    """Terms the knowledge base never uses, misspellings of words it uses excepted."""
    from difflib import get_close_matches

    return tuple(
        t
        for t in terms
        if t not in vocabulary
        and not t.isdigit()
        and not get_close_matches(t, vocabulary, n=1, cutoff=TYPO_SIMILARITY)
    )


def assess(
    question: str,
    sources: dict[int, str],
    evidence_score: float,
    vocabulary: frozenset[str] = frozenset(),
    is_rare: Callable[[str], bool] = lambda word: False,
) -> Answerability:
    """How well ``sources`` cover ``question``; ``vocabulary``: the whole index's words;
    ``is_rare``: whether a word is a name or jargon rather than everyday language."""
    written = key_words(question)
    terms = list(written)
    found = Vocabulary(frozenset(), frozenset())
    for text in sources.values():
        found = found.union(Vocabulary.of(text))
    missing = tuple(t for t in terms if t not in found.terms)
    coverage = 1.0 - len(missing) / len(terms) if terms else 1.0
    unknown = unknown_terms(list(missing), vocabulary) if vocabulary else ()
    rare = tuple(t for t in unknown if is_rare(written[t]))
    return Answerability(coverage, missing, unknown, evidence_score, rare)
