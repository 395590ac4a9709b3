"""Approved answers as the engine sees them: a lookup it may be given, and what a match carries.

An approved answer is one an agent flagged good or wrote as a correction; a later question
that matches its question closely is answered with it at once. The matching lives outside
the assistant package (tuning/approved.py); the engine only calls `ApprovedLookup.match`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ApprovedMatch:
    id: int
    question: str
    answer: str
    created_by: str
    created_at: str
    conversation_id: str | None
    similarity: float

    def origin(self) -> dict:
        return {
            "id": self.id,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "conversation_id": self.conversation_id,
            "similarity": round(self.similarity, 4),
        }


class ApprovedLookup(Protocol):
    def match(self, question: str, history: list[dict]) -> ApprovedMatch | None:
        """The approved answer for this question, or None when none matches closely enough."""
