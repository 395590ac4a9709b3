"""Citations checked by code: markers that name no given source, or a source that does not
support their sentence, are removed; a supported sentence without one gets its best source's.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from assistant.answering.support import Vocabulary, pooled_support, support
from assistant.answering.text import SENTENCE_BREAK

CITE_MIN = 0.5  # support a source must give a sentence for a marker to stand
SUPPORTED_MIN = 0.5  # support by all the sources together for a sentence to count as supported

_MARKERS = re.compile(r"(?:\s*\[\d+\])+")
_MARKER_NUMBER = re.compile(r"\[(\d+)\]")
# A marker after the sentence's full stop belongs to that sentence: move it before the stop.
_MARKER_AFTER_STOP = re.compile(r"([.!?:])((?:\s*\[\d+\])+)")
_PIECES = re.compile(SENTENCE_BREAK + r"|\n+")
_TRAILING_PUNCTUATION = re.compile(r"[\s.!?:;,]*$")


@dataclass
class SentenceCheck:
    text: str  # as shown, with its markers
    support: float | None  # by all given sources together; None: nothing to support
    citations: list[int]
    supported: bool


@dataclass
class CheckedAnswer:
    text: str
    sentences: list[SentenceCheck]
    removed_markers: list[int] = field(default_factory=list)
    support: float | None = None  # the answer's content found in its sources, pooled

    @property
    def cited(self) -> list[int]:
        return sorted({n for s in self.sentences for n in s.citations})

    @property
    def unsupported(self) -> list[str]:
        return [s.text for s in self.sentences if not s.supported]

    def to_dict(self) -> dict:
        return {
            "support": None if self.support is None else round(self.support, 3),
            "cited": self.cited,
            "removed_markers": self.removed_markers,
            "sentences": [
                {**asdict(s), "support": None if s.support is None else round(s.support, 3)}
                for s in self.sentences
            ],
        }


def markers_in(text: str) -> list[int]:
    return [int(n) for n in _MARKER_NUMBER.findall(text)]


def split_pieces(text: str) -> list[tuple[str, str]]:
    """(sentence, separator after it) pairs that join back into the text."""
    text = _MARKER_AFTER_STOP.sub(lambda m: m.group(2) + m.group(1), text)
    pieces, start = [], 0
    for match in _PIECES.finditer(text):
        pieces.append((text[start : match.start()], match.group(0)))
        start = match.end()
    pieces.append((text[start:], ""))
    return [(p, sep) for p, sep in pieces if p.strip() or sep]


def with_markers(sentence: str, numbers: list[int]) -> str:
    """The sentence with its markers before its closing punctuation."""
    plain = _MARKERS.sub("", sentence).rstrip()
    if not numbers:
        return plain
    end = _TRAILING_PUNCTUATION.search(plain).start()
    marks = "".join(f"[{n}]" for n in numbers)
    return f"{plain[:end]} {marks}{plain[end:]}"


def check_citations(answer: str, sources: dict[int, str]) -> CheckedAnswer:
    """Check every sentence of ``answer`` against ``sources`` (number -> text)."""
    vocabularies = {n: Vocabulary.of(text) for n, text in sources.items()}
    everything = Vocabulary(frozenset(), frozenset())
    for vocabulary in vocabularies.values():
        everything = everything.union(vocabulary)
    checked, removed, parts = [], [], []
    for piece, separator in split_pieces(answer):
        plain = _MARKERS.sub("", piece)
        scores = {n: support(plain, v) for n, v in vocabularies.items()}
        overall = support(plain, everything) if vocabularies else None
        if overall is None and not markers_in(piece):
            parts.append(piece + separator)
            continue
        claimed = list(dict.fromkeys(markers_in(piece)))
        kept = [n for n in claimed if (scores.get(n) or 0.0) >= CITE_MIN]
        removed += [n for n in claimed if n not in kept]
        if not kept and scores:
            best = max(scores, key=lambda n: scores[n] or 0.0)
            if (scores[best] or 0.0) >= CITE_MIN:
                kept = [best]
        shown = with_markers(piece, kept) if overall is not None else _MARKERS.sub("", piece)
        supported = overall is None or overall >= SUPPORTED_MIN
        checked.append(SentenceCheck(shown.strip(), overall, kept, supported))
        parts.append(shown + separator)
    text = "".join(parts).strip()
    pooled = pooled_support([s.text for s in checked], everything) if vocabularies else None
    return CheckedAnswer(text, checked, removed, pooled)
