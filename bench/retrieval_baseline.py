"""Plain BM25 over each record's title and text (deskloop indexes titles too), queried with
the last user turn or the whole dialogue."""

from __future__ import annotations

from collections.abc import Sequence

import bm25s
import numpy as np
import Stemmer

from bench.retrieval_data import Corpus

_STEM = Stemmer.Stemmer("english").stemWords


def _tokenize(texts: Sequence[str]) -> list[list[str]]:
    return bm25s.tokenize(
        list(texts), stopwords="en", stemmer=_STEM, return_ids=False, show_progress=False
    )


def last_user_turn(messages: Sequence[dict[str, str]]) -> str:
    return next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")


def whole_dialogue(messages: Sequence[dict[str, str]]) -> str:
    return "\n".join(m["content"] for m in messages)


class PlainBM25:
    def __init__(self, corpus: Corpus) -> None:
        self.ids = list(corpus.records)
        self.retriever = bm25s.BM25()
        texts = [_title_and_text(corpus.records[i], corpus) for i in self.ids]
        self.retriever.index(_tokenize(texts), show_progress=False)

    def rank(self, query: str, k: int) -> list[str]:
        tokens = _tokenize([query])[0]
        if not tokens:
            return []
        scores = np.asarray(self.retriever.get_scores(tokens))
        best = np.argsort(-scores, kind="stable")[:k]
        return [self.ids[position] for position in best if scores[position] > 0]


def _title_and_text(record: dict, corpus: Corpus) -> str:
    title = str(record.get(corpus.title_field) or "")
    text = str(record[corpus.text_field])
    return f"{title}\n{text}" if title else text
