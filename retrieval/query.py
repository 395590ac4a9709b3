"""Build a retrieval query from a conversation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

EARLIER_USER_TURNS = 2  # earlier user turns added to the last one
EARLIER_TURN_WORDS = 40  # each earlier turn is cut to its last this-many words


def build_query(messages: Sequence[dict[str, Any]]) -> str:
    """The last user message, preceded by the user's previous turns (most recent last).

    A follow-up such as "and how long does that take?" names nothing; the earlier user
    turns carry the topic. Earlier turns are truncated so the current question dominates.
    Assistant turns are left out: they add generic wording that dilutes the query.
    """
    user_turns = [
        " ".join(str(message.get("content") or "").split())
        for message in messages
        if message.get("role") == "user"
    ]
    user_turns = [turn for turn in user_turns if turn]
    if not user_turns:
        return ""
    *earlier, last = user_turns
    context = [
        " ".join(turn.split()[-EARLIER_TURN_WORDS:]) for turn in earlier[-EARLIER_USER_TURNS:]
    ]
    return "\n".join([*context, last])
