"""A BM25 index (bm25s) over the chunks in Chroma, saved on disk with a stamp of its contents.

It also keeps the titles that work as names (`retrieval.titles`), so that they are always
those of the chunks indexed.

Chroma is the source of truth: the stamp is a hash of Chroma's chunk ids (which contain each
source's content hash), so a BM25 index left stale by a crash, another process or a server
shared with other clients is detected and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

from retrieval.titles import TitleMatcher, name_titles

logger = logging.getLogger(__name__)

_SIDECAR = "deskloop_chunks.json"
_FORMAT_VERSION = 2


STEMMER_NAME = "pystemmer-english"
_STEM = Stemmer.Stemmer("english").stemWords


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    return bm25s.tokenize(
        list(texts), stopwords="en", stemmer=_STEM, return_ids=False, show_progress=False
    )


def content_stamp(chunk_ids: Iterable[str]) -> str:
    digest = hashlib.sha256(f"v{_FORMAT_VERSION}|{STEMMER_NAME}".encode())
    for chunk_id in sorted(chunk_ids):
        digest.update(chunk_id.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


@dataclass(frozen=True)
class IndexedChunk:
    id: str
    text: str  # the embedding text: title, heading and chunk
    kind: str
    product: str | None
    title: str = ""
    body: str = ""  # the chunk's own text, without title and heading


@dataclass(frozen=True)
class _Snapshot:
    """One consistent index; replaced whole so a concurrent search never sees a mix."""

    stamp: str | None = None
    ids: tuple[str, ...] = ()
    kinds: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    products: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    retriever: bm25s.BM25 | None = None
    titles: TitleMatcher = field(default_factory=lambda: TitleMatcher(()))


class BM25Index:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._snapshot = _Snapshot()

    def __len__(self) -> int:
        return len(self._snapshot.ids)

    @property
    def stamp(self) -> str | None:
        return self._snapshot.stamp

    def load(self, expected_stamp: str) -> bool:
        """Load the saved index if it was built from exactly the chunks now in Chroma."""
        sidecar = self.directory / _SIDECAR
        if not sidecar.exists():
            return False
        try:
            saved = json.loads(sidecar.read_text(encoding="utf-8"))
            if saved.get("stamp") != expected_stamp:
                return False
            retriever = bm25s.BM25.load(str(self.directory)) if saved["ids"] else None
            self._snapshot = _snapshot(
                expected_stamp,
                saved["ids"],
                saved["kinds"],
                saved["products"],
                retriever,
                saved["titles"],
            )
        except (OSError, ValueError, KeyError) as error:
            logger.warning("BM25 index at %s unreadable (%s); rebuilding", self.directory, error)
            return False
        return True

    def rebuild(self, chunks: Sequence[IndexedChunk], stamp: str) -> None:
        """Index ``chunks`` and save them, replacing the previous files atomically."""
        retriever = None
        if chunks:
            retriever = bm25s.BM25()
            retriever.index(tokenize([chunk.text for chunk in chunks]), show_progress=False)
        ids = [chunk.id for chunk in chunks]
        kinds = [chunk.kind for chunk in chunks]
        products = [chunk.product for chunk in chunks]
        titles = name_titles((chunk.title, chunk.body) for chunk in chunks)
        self._save(
            retriever,
            {"stamp": stamp, "ids": ids, "kinds": kinds, "products": products, "titles": titles},
        )
        self._snapshot = _snapshot(stamp, ids, kinds, products, retriever, titles)

    def vocabulary(self) -> frozenset[str]:
        """Every stemmed word of the indexed chunks (the stemmer of `tokenize`)."""
        retriever = self._snapshot.retriever
        return frozenset(retriever.vocab_dict) if retriever is not None else frozenset()

    def named_titles(self, parts: Sequence[tuple[str, float]]) -> dict[str, float]:
        """{title: weight}: the indexed titles that work as names, found in weighted texts."""
        return self._snapshot.titles.mentions(parts)

    def search(
        self,
        query: str | Sequence[tuple[str, float]],
        n_results: int,
        kind: str | None = None,
        product: str | None = None,
    ) -> list[tuple[str, float]]:
        """The best ``n_results`` (chunk id, BM25 score) with a positive score.

        ``query`` is a text, or (text, weight) pairs whose scores are added up by weight.
        """
        snapshot = self._snapshot
        if snapshot.retriever is None or n_results <= 0:
            return []
        weighted = [(query, 1.0)] if isinstance(query, str) else list(query)
        scores = np.zeros(len(snapshot.ids), dtype=np.float64)
        for tokens, (_, weight) in zip(
            tokenize([text for text, _ in weighted]), weighted, strict=True
        ):
            if tokens and weight:
                scores += weight * np.asarray(snapshot.retriever.get_scores(tokens))
        allowed = scores > 0
        if kind is not None:
            allowed &= snapshot.kinds == kind
        if product is not None:
            allowed &= snapshot.products == product
        candidates = np.flatnonzero(allowed)
        best = candidates[np.argsort(-scores[candidates], kind="stable")[:n_results]]
        return [(snapshot.ids[position], float(scores[position])) for position in best]

    def _save(self, retriever: bm25s.BM25 | None, sidecar: dict) -> None:
        staging = self.directory.with_name(self.directory.name + ".new")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        if retriever is not None:
            retriever.save(str(staging))
        (staging / _SIDECAR).write_text(json.dumps(sidecar), encoding="utf-8")
        previous = self.directory.with_name(self.directory.name + ".old")
        shutil.rmtree(previous, ignore_errors=True)
        if self.directory.exists():
            os.replace(self.directory, previous)
        os.replace(staging, self.directory)
        shutil.rmtree(previous, ignore_errors=True)


def _snapshot(stamp, ids, kinds, products, retriever, titles) -> _Snapshot:
    return _Snapshot(
        stamp=stamp,
        ids=tuple(ids),
        kinds=np.array(kinds, dtype=object),
        products=np.array(products, dtype=object),
        retriever=retriever,
        titles=TitleMatcher(titles),
    )
