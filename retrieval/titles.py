"""Titles named in a conversation: the documents or entities a customer refers to by name.

A customer (or the agent answering) often names what the question is about, a hotel, a
product, a manual's page, and then asks about it without naming it again ("do they have
parking?"). The index's titles that work as names are found, word for word, in the query's
turns; search then ranks those titles' chunks as one more list (see `retrieval.search`).

Not every title is a name: "Registrations" or "Register a vehicle" are everyday phrases that
other documents use too, and a ticket's subject ("how to cancel") is a description. A title
counts as a name when the documents call themselves by it: it is long enough, its own chunks'
text uses it, and other titles' chunks use it no more often.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

MIN_TITLE_CHARS = 4  # shorter titles ("FAQ", "A") are not looked for
_WORD = re.compile(r"[^\W_]+")


def title_words(text: str) -> tuple[str, ...]:
    """Lower-case words: the unit titles are matched in (so "Rosa's" is "rosa", "s")."""
    return tuple(_WORD.findall(text.casefold()))


class TitleMatcher:
    """Finds titles in text, word for word, the longest match first, without overlaps."""

    def __init__(self, titles: Iterable[str]) -> None:
        self._trie: dict = {}
        self.titles: list[str] = []  # the titles looked for, sorted
        for title in sorted(set(titles)):
            words = title_words(title)
            if len(" ".join(words)) < MIN_TITLE_CHARS:
                continue
            self.titles.append(title)
            node = self._trie
            for word in words:
                node = node.setdefault(word, {})
            node.setdefault(None, []).append(title)  # None marks the end of a title

    def __bool__(self) -> bool:
        return bool(self._trie)

    def find(self, text: str) -> list[str]:
        """The titles named in ``text``, in order of appearance (repeats kept)."""
        if not self._trie:
            return []
        words = title_words(text)
        found: list[str] = []
        start = 0
        while start < len(words):
            node, end, titles = self._trie, start, None
            for position in range(start, len(words)):
                node = node.get(words[position])
                if node is None:
                    break
                if None in node:
                    end, titles = position + 1, node[None]
            if titles:
                found.extend(titles)
                start = end
            else:
                start += 1
        return found

    def mentions(self, parts: Sequence[tuple[str, float]]) -> dict[str, float]:
        """{title: weight} for the titles named in weighted texts, each at its best weight."""
        named: dict[str, float] = {}
        for text, weight in parts:
            if weight <= 0:
                continue
            for title in self.find(text):
                named[title] = max(named.get(title, 0.0), weight)
        return named


def name_titles(chunks: Iterable[tuple[str, str]]) -> list[str]:
    """The titles that work as names, from (title, chunk text) pairs.

    A title qualifies when it is at least `MIN_TITLE_CHARS` long, at least one of its own
    chunks mentions it, and the chunks of other titles mention it no more often than its own
    do (counting chunks, longest match).
    """
    chunks = list(chunks)
    matcher = TitleMatcher(title for title, _ in chunks if title)
    if not matcher:
        return []
    own: Counter[str] = Counter()
    other: Counter[str] = Counter()
    for title, text in chunks:
        for named in set(matcher.find(text)):
            (own if named == title else other)[named] += 1
    return [title for title in matcher.titles if own[title] > 0 and other[title] <= own[title]]
