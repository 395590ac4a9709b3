"""Build a retrieval query from a conversation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

CONTEXT_TURNS = 6  # the last user turn and the turns just before it, of either role
TURN_DECAY = 0.5  # each turn further back weighs this much of the one after it
EARLIER_TURN_WORDS = 40  # each earlier turn is cut to its last this-many words


@dataclass(frozen=True)
class QueryPart:
    text: str
    weight: float


class Query(str):
    """A query made of weighted parts; as a string, the parts' text, oldest first.

    Search scores each part on its own, dense and BM25 alike, and adds the scores up by
    weight. The last part is the question itself. A plain string is a query of one part.
    """

    parts: tuple[QueryPart, ...]

    def __new__(cls, parts: Sequence[QueryPart]) -> Query:
        query = super().__new__(cls, "\n".join(part.text for part in parts))
        query.parts = tuple(parts)
        return query


def query_parts(query: str) -> tuple[QueryPart, ...]:
    if isinstance(query, Query):
        return query.parts
    return (QueryPart(query, 1.0),) if query.strip() else ()


def build_query(messages: Sequence[dict[str, Any]]) -> Query:
    """The last user message, weighted 1, and the turns before it with decaying weights.

    A follow-up such as "and how long does that take?" names nothing: the earlier turns carry
    the topic, the agent's as well as the customer's (an agent's reply often names the hotel
    or the page the next question is about). Each turn further back counts half as much, so
    the current question dominates. The engine and the benchmark both query with this.
    """
    turns = [
        (str(message.get("role")), " ".join(str(message.get("content") or "").split()))
        for message in messages
    ]
    turns = [(role, text) for role, text in turns if text and role in ("user", "assistant")]
    last_user = max((i for i, (role, _) in enumerate(turns) if role == "user"), default=None)
    if last_user is None:
        return Query(())
    window = turns[max(0, last_user + 1 - CONTEXT_TURNS) : last_user + 1]
    parts = [
        QueryPart(" ".join(text.split()[-EARLIER_TURN_WORDS:]), TURN_DECAY ** (len(window) - 1 - i))
        for i, (_, text) in enumerate(window[:-1])
    ]
    return Query([*parts, QueryPart(window[-1][1], 1.0)])
