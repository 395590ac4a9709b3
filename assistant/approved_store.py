"""The approved_answers table: its rows, and how a flag makes one.

A flag creates an approved answer only for the first question of a chat conversation: a
follow-up ("and for the camera?") means nothing without the turns before it, and imported
conversations feed training, not instant answers. Question and answer are stored with PII
masked by the `scrub` function the store is given; without one, flags approve nothing.
The question's embedding is filled in by the matcher (tuning/approved.py) when it first
needs it, and cleared when the question is edited.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.engine import Connection, RowMapping

from assistant.errors import DeskloopError

APPROVABLE_STATUSES = ("complete", "approved")  # not a partial, failed or declined answer

Scrub = Callable[[str], str]
Transaction = Callable[[], AbstractContextManager[Connection]]
Fetch = Callable[..., list[RowMapping]]
FetchOne = Callable[..., RowMapping | None]


@dataclass
class ApprovedAnswer:
    id: int
    question: str
    answer: str
    origin: str
    created_by: str
    created_at: str
    updated_at: str
    conversation_id: str | None = None
    turn_id: int | None = None
    embedding: bytes | None = None
    embedding_model: str | None = None
    updated_by: str | None = None  # the server user of the last edit

    def to_dict(self) -> dict:
        data = dict(self.__dict__)
        del data["embedding"]
        return data


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class ApprovedAnswers:
    """Reads and writes through the store's (locked) fetch and transaction functions."""

    def __init__(
        self, fetch: Fetch, fetch_one: FetchOne, transaction: Transaction, scrub: Scrub | None
    ):
        self._fetch = fetch
        self._fetch_one = fetch_one
        self._transaction = transaction
        self.scrub = scrub

    def entries(self) -> list[ApprovedAnswer]:
        rows = self._fetch("SELECT * FROM approved_answers ORDER BY id")
        return [ApprovedAnswer(**row) for row in rows]

    def get(self, approved_id: int) -> ApprovedAnswer:
        row = self._fetch_one("SELECT * FROM approved_answers WHERE id = :id", {"id": approved_id})
        if row is None:
            raise DeskloopError(
                f"no approved answer {approved_id}: 'deskloop approved list' shows them"
            )
        return ApprovedAnswer(**row)

    def for_turn(self, turn_id: int) -> ApprovedAnswer | None:
        row = self._fetch_one("SELECT * FROM approved_answers WHERE turn_id = :id", {"id": turn_id})
        return ApprovedAnswer(**row) if row else None

    def version(self) -> tuple:
        """Changes whenever a row is added, edited or removed (by any process)."""
        row = self._fetch_one("SELECT COUNT(*), MAX(id), MAX(updated_at) FROM approved_answers")
        return tuple(row.values())

    def update(
        self,
        approved_id: int,
        question: str | None = None,
        answer: str | None = None,
        actor: str | None = None,
    ) -> ApprovedAnswer:
        """Change the question and/or the answer; ``actor``: the server user editing it."""
        current = self.get(approved_id)
        question = self._clean(question, "question") if question is not None else None
        answer = self._clean(answer, "answer") if answer is not None else None
        with self._transaction() as db:
            db.execute(
                text(
                    "UPDATE approved_answers SET question = :question, answer = :answer,"
                    " updated_at = :stamp, updated_by = :actor,"
                    " embedding = CASE WHEN :clear THEN NULL ELSE embedding END WHERE id = :id"
                ),
                {
                    "question": question or current.question,
                    "answer": answer or current.answer,
                    "stamp": _now(),
                    "actor": actor,
                    "clear": question is not None and question != current.question,
                    "id": approved_id,
                },
            )
        return self.get(approved_id)

    def remove(self, approved_id: int) -> ApprovedAnswer:
        current = self.get(approved_id)
        with self._transaction() as db:
            db.execute(text("DELETE FROM approved_answers WHERE id = :id"), {"id": approved_id})
        return current

    def save_embedding(self, approved_id: int, model: str, vector: bytes) -> None:
        with self._transaction() as db:
            db.execute(
                text(
                    "UPDATE approved_answers SET embedding = :vector, embedding_model = :model"
                    " WHERE id = :id"
                ),
                {"vector": vector, "model": model, "id": approved_id},
            )

    def record_flag(
        self,
        db: Connection,
        turn_id: int,
        rating: str,
        correction: str | None,
        by: str | None = None,
    ) -> None:
        """Inside the flag's transaction: approve, re-approve or withdraw the turn's answer."""
        if self.scrub is None:
            return
        question = _first_question(db, turn_id)
        turn = (
            db.execute(text("SELECT status, content FROM turns WHERE id = :id"), {"id": turn_id})
            .mappings()
            .one()
        )
        if rating == "bad" and correction:
            answer, origin = correction, "correction"
        elif rating == "good" and turn["status"] in APPROVABLE_STATUSES:
            answer, origin = turn["content"], "good"
        else:
            answer = origin = None
        if question is None or not answer or not answer.strip():
            db.execute(text("DELETE FROM approved_answers WHERE turn_id = :id"), {"id": turn_id})
            return
        stamp = _now()
        db.execute(
            text(
                "INSERT INTO approved_answers (question, answer, origin, created_by, created_at,"
                " updated_at, conversation_id, turn_id) VALUES (:question, :answer, :origin,"
                " :by, :stamp, :stamp, :conversation_id, :turn_id)"
                " ON CONFLICT (turn_id) DO UPDATE SET answer = excluded.answer,"
                " origin = excluded.origin, created_by = excluded.created_by,"
                " updated_at = excluded.updated_at"
            ),
            {
                "question": self.scrub(question["content"].strip()),
                "answer": self.scrub(answer.strip()),
                "origin": origin,
                "by": by or current_user(),
                "stamp": stamp,
                "conversation_id": question["conversation_id"],
                "turn_id": turn_id,
            },
        )

    def _clean(self, text: str, what: str) -> str:
        text = text.strip()
        if not text:
            raise DeskloopError(f"the approved {what} cannot be empty")
        return self.scrub(text) if self.scrub is not None else text


def _first_question(db: Connection, answer_turn_id: int) -> RowMapping | None:
    """The question an answer replies to, when it opens a chat conversation; else None."""
    query = text(
        "SELECT q.content, q.conversation_id FROM turns a"
        " JOIN conversations c ON c.id = a.conversation_id AND c.origin = 'chat'"
        " JOIN turns q ON q.conversation_id = a.conversation_id AND q.role = 'user'"
        " WHERE a.id = :id AND q.id < a.id"
        " AND NOT EXISTS (SELECT 1 FROM turns e"
        "   WHERE e.conversation_id = a.conversation_id AND e.id < q.id)"
        " AND NOT EXISTS (SELECT 1 FROM turns m"
        "   WHERE m.conversation_id = a.conversation_id AND m.id > q.id AND m.id < a.id)"
    )
    return db.execute(query, {"id": answer_turn_id}).mappings().first()


def current_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"
