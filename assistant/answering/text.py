"""Text units and content terms shared by evidence selection, support and citation checks."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import cache

# Record fields that hold the customer's side of a ticket: never evidence for an answer.
QUESTION_LABELS = ("customer message:", "message:", "question:", "instruction:", "description:")
ANSWER_LABELS = ("resolution:", "answer:", "response:")

# After . ! or ? (not a list number such as "2."), before what starts a sentence.
SENTENCE_BREAK = r"(?<=[.!?])(?<!\b\d\.)(?<!\b\d\d\.)[\"')\]]*\s+(?=[\"'(]?[A-Z0-9*])"
_SENTENCE_END = re.compile(SENTENCE_BREAK)
_LIST_ITEM = re.compile(r"^\s*(?:[-*+\u2022]|\d{1,2}[.)])\s+")
_HEADING = re.compile(r"^\s*#{1,6}\s+")
_WORD = re.compile(r"\b\w\w+\b")  # as the BM25 index tokenizes
_MARKER = re.compile(r"\s*\[\d+\]")

_STOPWORD_LIST = """
    a about above after again all also am an and any are as at be because been before being
    below between both but by can can't cannot could did do does doing don't down during
    each few for from further had has have having he her here hers herself him himself his
    how i if in into is isn't it it's its itself just let's me more most my myself no nor
    not now of off on once only or other our ours ourselves out over own same she should so
    some such than that that's the their theirs them themselves then there these they this
    those through to too under until up very was we were what when where which while who
    whom why will with would you your yours yourself yourselves i'm i've i'd i'll you're
    you've we're they're isn't aren't wasn't weren't hasn't haven't hadn't doesn't didn't
    won't wouldn't shouldn't couldn't s t d ll m re ve y get got getting please hi hello
    thanks thank yes ok okay also may might must shall one
"""
STOPWORDS = frozenset(_STOPWORD_LIST.split())


@dataclass(frozen=True)
class Unit:
    """A sentence or list item of a text, with its position in reading order."""

    text: str
    position: int
    line: int  # units of one line (a paragraph or a list item) share it
    is_step: bool = False


def strip_markers(text: str) -> str:
    return _MARKER.sub("", text)


def is_reply(text: str) -> bool:
    """Whether a record holds an agent's reply (a ticket's resolution): a whole answer."""
    return any(
        paragraph.strip().lower().startswith(ANSWER_LABELS)
        for paragraph in re.split(r"\n\s*\n", text)
    )


def answer_part(text: str) -> str:
    """A record's text without the customer's side (labelled ticket fields)."""
    kept = []
    for paragraph in re.split(r"\n\s*\n", text):
        lowered = paragraph.strip().lower()
        if lowered.startswith(QUESTION_LABELS):
            continue
        for label in ANSWER_LABELS:
            if lowered.startswith(label):
                paragraph = paragraph.strip()[len(label) :]
                break
        kept.append(paragraph)
    return "\n\n".join(kept)


def split_units(text: str) -> list[Unit]:
    """Sentences and list items in reading order; headings and blank lines dropped."""
    units: list[Unit] = []
    for number, line in enumerate(text.splitlines()):
        if not line.strip() or _HEADING.match(line):
            continue
        is_step = bool(_LIST_ITEM.match(line))
        for sentence in _SENTENCE_END.split(line.strip()):
            sentence = sentence.strip()
            if sentence:
                units.append(Unit(sentence, len(units), number, is_step))
    return units


@cache
def _stemmer():
    import Stemmer  # PyStemmer, the BM25 index's stemmer: the two vocabularies agree

    return Stemmer.Stemmer("english")


@cache
def stem(word: str) -> str:
    return _stemmer().stemWord(word)


def words(text: str) -> list[str]:
    return _WORD.findall(strip_markers(text).lower().replace("\u2019", "'"))


def content_terms(text: str) -> list[str]:
    """Stemmed words that carry meaning, in order (stopwords dropped)."""
    return [stem(w) for w in words(text) if w not in STOPWORDS]


def bigrams(terms: list[str]) -> set[tuple[str, str]]:
    return set(itertools.pairwise(terms))
