"""The conversation store: conversations, turns with their provenance, and feedback.

A SQLite file on one machine, PostgreSQL for a team (assistant/database.py); the schema is
kept current by Alembic (assistant/migrations) whenever the store is opened.

Each exchange (the question and its answer) is written in one transaction once the answer is
finished or cancelled, so a process killed mid-answer leaves no half-written row.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.sql.elements import TextClause

from assistant.approved_store import ApprovedAnswers, Scrub
from assistant.database import connect, normalize_url, opened
from assistant.errors import DeskloopError
from assistant.migrations import revision

RATINGS = ("good", "bad")
REASONS = ("incorrect", "incomplete", "outdated", "wrong tone", "should escalate", "other")


CONVERSATION_SELECT = (
    "SELECT c.*, (SELECT COUNT(*) FROM turns t WHERE t.conversation_id = c.id) AS turn_count"
    " FROM conversations c"
)
TURN_SELECT = (
    "SELECT t.*, f.rating, f.reason, f.correction, f.actor AS flagged_by, g.data AS grounding"
    " FROM turns t"
    " LEFT JOIN feedback f ON f.turn_id = t.id"
    " LEFT JOIN turn_grounding g ON g.turn_id = t.id"
)
SOURCES_SELECT = text(
    "SELECT * FROM turn_sources WHERE turn_id IN :ids ORDER BY turn_id, n"
).bindparams(bindparam("ids", expanding=True))


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class SourceRef:
    n: int
    chunk_id: str
    source: str
    title: str = ""
    section: str = ""
    record_id: str | None = None
    kind: str | None = None
    score: float | None = None
    similarity: float | None = None
    text: str = ""

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Turn:
    id: int
    conversation_id: str
    role: str
    content: str
    status: str
    created_at: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    first_token_ms: float | None = None
    latency_ms: float | None = None
    model_id: str | None = None
    adapter_version: str | None = None
    sources: list[SourceRef] = field(default_factory=list)
    rating: str | None = None
    reason: str | None = None
    correction: str | None = None
    grounding: dict | None = None
    approved_id: int | None = None  # the approved answer this turn was served from
    actor: str | None = None  # the server's user who asked (or was answered); None: local
    flagged_by: str | None = None

    def to_dict(self) -> dict:
        data = dict(self.__dict__)
        data["sources"] = [s.to_dict() for s in self.sources]
        return data


@dataclass
class Conversation:
    id: str
    title: str
    created_at: str
    updated_at: str
    escalated_at: str | None = None
    escalation_note: str | None = None
    origin: str = "chat"
    turn_count: int = 0
    actor: str | None = None  # the server's user who started it; None: local

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class AnswerRecord:
    """What the engine knows about one finished (or cancelled) answer."""

    content: str
    status: str = "complete"
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    first_token_ms: float | None = None
    latency_ms: float | None = None
    model_id: str | None = None
    adapter_version: str | None = None
    sources: list[SourceRef] = field(default_factory=list)
    grounding: dict | None = None
    approved_id: int | None = None
    actor: str | None = None  # the server's user it was answered for; None: local


class Store:
    def __init__(self, target: str | Path, scrub: Scrub | None = None):
        """Open (creating or upgrading) the store at ``target``: a database_url or a file path.

        ``scrub`` masks PII in approved answers; without it, flags approve nothing.
        """
        self.url = normalize_url(target)
        self.engine = connect(target)
        sqlite = self.engine.dialect.name == "sqlite"
        # SQLite takes one writer at a time: the app's threads queue here rather than in
        # SQLite's busy loop. An in-memory database is one connection: every use queues.
        self._write_lock = threading.RLock() if sqlite else nullcontext()
        self._read_lock = self._write_lock if self.url == "sqlite://" else nullcontext()
        self.approved = ApprovedAnswers(self._fetchall, self._fetchone, self.transaction, scrub)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction: committed when the block ends, rolled back if it raises."""
        with self._write_lock, opened(self.engine, write=True) as db, db.begin():
            yield db

    def _fetchall(self, sql: str, params=None) -> list[RowMapping]:
        with self._read_lock, opened(self.engine) as db:
            return list(db.execute(_sql(sql), params or {}).mappings())

    def _fetchone(self, sql: str, params=None) -> RowMapping | None:
        with self._read_lock, opened(self.engine) as db:
            return db.execute(_sql(sql), params or {}).mappings().first()

    # conversations

    def create_conversation(
        self, title: str, origin: str = "chat", actor: str | None = None
    ) -> Conversation:
        conversation_id = uuid.uuid4().hex[:12]
        stamp = now()
        with self.transaction() as db:
            db.execute(
                text(
                    "INSERT INTO conversations (id, title, created_at, updated_at, origin, actor)"
                    " VALUES (:id, :title, :stamp, :stamp, :origin, :actor)"
                ),
                {
                    "id": conversation_id,
                    "title": _title_from(title),
                    "stamp": stamp,
                    "origin": origin,
                    "actor": actor,
                },
            )
        return self.conversation(conversation_id)

    def conversation(self, conversation_id: str) -> Conversation:
        row = self._fetchone(CONVERSATION_SELECT + " WHERE id = :id", {"id": conversation_id})
        if row is None:
            raise DeskloopError(
                f"no conversation '{conversation_id}': run 'deskloop history' to list them"
            )
        return Conversation(**row)

    def conversations(
        self, search: str = "", limit: int = 200, actor: str | None = None
    ) -> list[Conversation]:
        """Chat conversations, newest first; ``actor``: only those this server user started."""
        rows = self._fetchall(
            CONVERSATION_SELECT
            + " WHERE c.origin = 'chat' AND (:search = '' OR lower(c.title) LIKE :pattern"
            " OR EXISTS (SELECT 1 FROM turns t"
            "   WHERE t.conversation_id = c.id AND lower(t.content) LIKE :pattern))"
            + (" AND c.actor = :actor" if actor is not None else "")
            + " ORDER BY c.updated_at DESC LIMIT :limit",
            {"search": search, "pattern": f"%{search.lower()}%", "limit": limit, "actor": actor},
        )
        return [Conversation(**row) for row in rows]

    def escalate(self, conversation_id: str, note: str = "") -> Conversation:
        self.conversation(conversation_id)
        with self.transaction() as db:
            db.execute(
                text(
                    "UPDATE conversations SET escalated_at = :stamp, escalation_note = :note"
                    " WHERE id = :id"
                ),
                {"stamp": now(), "note": note, "id": conversation_id},
            )
        return self.conversation(conversation_id)

    # turns

    def record_exchange(
        self, conversation_id: str, question: str, answer: AnswerRecord
    ) -> tuple[int, int]:
        """Write a question and its answer atomically; returns (user turn id, answer turn id).

        A conversation id not seen before starts a new conversation titled by the question.
        """
        stamp = now()
        with self.transaction() as db:
            db.execute(
                text(
                    "INSERT INTO conversations (id, title, created_at, updated_at, actor)"
                    " VALUES (:id, :title, :stamp, :stamp, :actor) ON CONFLICT (id) DO NOTHING"
                ),
                {
                    "id": conversation_id,
                    "title": _title_from(question),
                    "stamp": stamp,
                    "actor": answer.actor,
                },
            )
            user_id = db.execute(
                text(
                    "INSERT INTO turns (conversation_id, role, content, created_at, actor)"
                    " VALUES (:conversation_id, 'user', :content, :stamp, :actor) RETURNING id"
                ),
                {
                    "conversation_id": conversation_id,
                    "content": question,
                    "stamp": stamp,
                    "actor": answer.actor,
                },
            ).scalar_one()
            answer_id = db.execute(
                text(
                    "INSERT INTO turns (conversation_id, role, content, status, created_at,"
                    " prompt_tokens, completion_tokens, first_token_ms, latency_ms, model_id,"
                    " adapter_version, approved_id, actor) VALUES (:conversation_id, 'assistant',"
                    " :content, :status, :created_at, :prompt_tokens, :completion_tokens,"
                    " :first_token_ms, :latency_ms, :model_id, :adapter_version, :approved_id,"
                    " :actor) RETURNING id"
                ),
                {
                    "conversation_id": conversation_id,
                    "content": answer.content,
                    "status": answer.status,
                    "created_at": now(),
                    "prompt_tokens": answer.prompt_tokens,
                    "completion_tokens": answer.completion_tokens,
                    "first_token_ms": answer.first_token_ms,
                    "latency_ms": answer.latency_ms,
                    "model_id": answer.model_id,
                    "adapter_version": answer.adapter_version,
                    "approved_id": answer.approved_id,
                    "actor": answer.actor,
                },
            ).scalar_one()
            if answer.sources:
                db.execute(
                    text(
                        "INSERT INTO turn_sources (turn_id, n, chunk_id, record_id, source,"
                        " title, section, kind, score, similarity, text) VALUES (:turn_id, :n,"
                        " :chunk_id, :record_id, :source, :title, :section, :kind, :score,"
                        " :similarity, :text)"
                    ),
                    [{"turn_id": answer_id, **s.to_dict()} for s in answer.sources],
                )
            if answer.grounding is not None:
                db.execute(
                    text("INSERT INTO turn_grounding (turn_id, data) VALUES (:id, :data)"),
                    {"id": answer_id, "data": json.dumps(answer.grounding)},
                )
            db.execute(
                text("UPDATE conversations SET updated_at = :stamp WHERE id = :id"),
                {"stamp": stamp, "id": conversation_id},
            )
        return user_id, answer_id

    def turns(self, conversation_id: str) -> list[Turn]:
        rows = self._fetchall(
            TURN_SELECT + " WHERE t.conversation_id = :id ORDER BY t.id", {"id": conversation_id}
        )
        turns = [_turn(row) for row in rows]
        self._attach_sources(turns)
        return turns

    def turn(self, turn_id: int) -> Turn:
        row = self._fetchone(TURN_SELECT + " WHERE t.id = :id", {"id": turn_id})
        if row is None:
            raise DeskloopError(
                f"no turn {turn_id}: 'deskloop history --json' lists conversations and turn ids"
            )
        turn = _turn(row)
        self._attach_sources([turn])
        return turn

    def _attach_sources(self, turns: list[Turn]) -> None:
        by_id = {t.id: t for t in turns if t.role == "assistant"}
        if not by_id:
            return
        rows = self._fetchall(SOURCES_SELECT, {"ids": list(by_id)})
        for row in rows:
            data = dict(row)
            by_id[data.pop("turn_id")].sources.append(SourceRef(**data))

    # feedback

    def flag(
        self,
        turn_id: int,
        rating: str,
        reason: str | None = None,
        correction: str | None = None,
        actor: str | None = None,
    ) -> Turn:
        """Record a flag; ``actor`` is the server's user who gave it (None: the local user)."""
        if rating not in RATINGS:
            raise DeskloopError(f"rating must be one of {', '.join(RATINGS)}, got {rating!r}")
        turn = self.turn(turn_id)
        if turn.role != "assistant":
            raise DeskloopError(f"turn {turn_id} is a question; flag the answer that follows it")
        correction = (correction or "").strip() or None
        with self.transaction() as db:
            db.execute(
                text(
                    "INSERT INTO feedback (turn_id, rating, reason, correction, created_at, actor)"
                    " VALUES (:turn_id, :rating, :reason, :correction, :stamp, :actor)"
                    " ON CONFLICT (turn_id) DO UPDATE SET rating = excluded.rating,"
                    " reason = excluded.reason, correction = excluded.correction,"
                    " created_at = excluded.created_at, actor = excluded.actor"
                ),
                {
                    "turn_id": turn_id,
                    "rating": rating,
                    "reason": reason,
                    "correction": correction,
                    "stamp": now(),
                    "actor": actor,
                },
            )
            self.approved.record_flag(db, turn_id, rating, correction, by=actor)
        return self.turn(turn_id)

    def edit_answer(self, turn_id: int, text: str) -> Turn:
        """Replace an answer's text with what the agent actually sent."""
        if self.turn(turn_id).role != "assistant" or not text.strip():
            raise DeskloopError(f"turn {turn_id} is not an answer, or the new text is empty")
        with self.transaction() as db:
            db.execute(
                _sql("UPDATE turns SET content = :content WHERE id = :id"),
                {"content": text.strip(), "id": turn_id},
            )
        return self.turn(turn_id)

    def flagged_turns(self) -> list[Turn]:
        rows = self._fetchall(TURN_SELECT + " WHERE f.rating IS NOT NULL ORDER BY t.id")
        turns = [_turn(row) for row in rows]
        self._attach_sources(turns)
        return turns

    def feedback_counts(self) -> dict[str, int]:
        row = self._fetchone(
            "SELECT"
            " SUM(CASE WHEN rating = 'good' THEN 1 ELSE 0 END) AS good,"
            " SUM(CASE WHEN rating = 'bad' AND correction IS NOT NULL THEN 1 ELSE 0 END)"
            "   AS corrected,"
            " SUM(CASE WHEN rating = 'bad' AND correction IS NULL THEN 1 ELSE 0 END) AS bad"
            " FROM feedback"
        )
        return {key: int(row[key] or 0) for key in ("good", "corrected", "bad")}

    # split assignments for the training data (stable across rounds)

    def split_assignments(self) -> dict[str, str]:
        rows = self._fetchall("SELECT conversation_id, split FROM split_assignments")
        return {row["conversation_id"]: row["split"] for row in rows}

    def save_split_assignments(self, assignments: dict[str, str]) -> None:
        if not assignments:
            return
        with self.transaction() as db:
            db.execute(
                text(
                    "INSERT INTO split_assignments (conversation_id, split) VALUES (:id, :split)"
                    " ON CONFLICT (conversation_id) DO NOTHING"
                ),
                [{"id": key, "split": split} for key, split in assignments.items()],
            )

    def schema_version(self) -> str | None:
        """The Alembic revision the database is at."""
        with opened(self.engine) as db:
            return revision(db)


def _sql(sql: str | TextClause) -> TextClause:
    return text(sql) if isinstance(sql, str) else sql


def _turn(row: RowMapping) -> Turn:
    data = dict(row)
    if data.get("grounding"):
        data["grounding"] = json.loads(data["grounding"])
    return Turn(**data)


def _title_from(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= 60 else line[:57].rstrip() + "..."
