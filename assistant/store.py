"""The conversation store: conversations, turns with their provenance, and feedback, in SQLite.

Each exchange (the question and its answer) is written in one transaction once the answer is
finished or cancelled, so a process killed mid-answer leaves no half-written row.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from assistant.approved_store import ApprovedAnswers, Scrub, add_approved_answers
from assistant.errors import DeskloopError

RATINGS = ("good", "bad")
REASONS = ("incorrect", "incomplete", "outdated", "wrong tone", "should escalate", "other")


def _run_script(db: sqlite3.Connection, script: str) -> None:
    # executescript() would commit first; running statement by statement keeps a migration atomic.
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _create_core_tables(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        CREATE TABLE conversations (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE turns (
            id INTEGER PRIMARY KEY,
            conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
            content TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'complete'
                CHECK (status IN ('complete', 'cancelled', 'declined', 'error')),
            created_at TEXT NOT NULL,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            first_token_ms REAL,
            latency_ms REAL,
            model_id TEXT,
            adapter_version TEXT
        );
        CREATE INDEX turns_by_conversation ON turns(conversation_id, id);
        CREATE TABLE turn_sources (
            turn_id INTEGER NOT NULL REFERENCES turns(id) ON DELETE CASCADE,
            n INTEGER NOT NULL,
            chunk_id TEXT NOT NULL,
            record_id TEXT,
            source TEXT NOT NULL,
            title TEXT,
            section TEXT,
            kind TEXT,
            score REAL,
            similarity REAL,
            text TEXT,
            PRIMARY KEY (turn_id, n)
        );
        CREATE TABLE feedback (
            turn_id INTEGER PRIMARY KEY REFERENCES turns(id) ON DELETE CASCADE,
            rating TEXT NOT NULL CHECK (rating IN ('good', 'bad')),
            reason TEXT,
            correction TEXT,
            created_at TEXT NOT NULL
        );
        """,
    )


def _add_escalation(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        ALTER TABLE conversations ADD COLUMN escalated_at TEXT;
        ALTER TABLE conversations ADD COLUMN escalation_note TEXT;
        """,
    )


def _add_feedback_imports(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        ALTER TABLE conversations ADD COLUMN origin TEXT NOT NULL DEFAULT 'chat';
        CREATE TABLE split_assignments (
            conversation_id TEXT PRIMARY KEY,
            split TEXT NOT NULL CHECK (split IN ('train', 'eval'))
        );
        """,
    )


def _add_turn_grounding(db: sqlite3.Connection) -> None:
    # Per answer: which sources it cites, each sentence's support, why it was declined.
    _run_script(
        db,
        """
        CREATE TABLE turn_grounding (
            turn_id INTEGER PRIMARY KEY REFERENCES turns(id) ON DELETE CASCADE,
            data TEXT NOT NULL
        );
        """,
    )


# Append only: a released database has run every migration up to its user_version.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _create_core_tables,
    _add_escalation,
    _add_feedback_imports,
    add_approved_answers,
    _add_turn_grounding,
]


CONVERSATION_SELECT = (
    "SELECT c.*, (SELECT COUNT(*) FROM turns t WHERE t.conversation_id = c.id) AS turn_count"
    " FROM conversations c"
)
TURN_SELECT = (
    "SELECT t.*, f.rating, f.reason, f.correction, g.data AS grounding FROM turns t"
    " LEFT JOIN feedback f ON f.turn_id = t.id"
    " LEFT JOIN turn_grounding g ON g.turn_id = t.id"
)


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


class Store:
    def __init__(self, path: Path, scrub: Scrub | None = None):
        """``scrub`` masks PII in approved answers; without it, flags approve nothing."""
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One connection shared by the app's threads: every use holds the lock, so no thread's
        # statement lands inside (or commits) another's transaction. Reentrant, as a method
        # called inside transaction() reads through the same lock.
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA synchronous=NORMAL")
        migrate(self._db)
        self.approved = ApprovedAnswers(self._fetchall, self._fetchone, self.transaction, scrub)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            yield self._db

    def _fetchall(self, sql: str, params=()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _fetchone(self, sql: str, params=()) -> sqlite3.Row | None:
        with self._lock:
            return self._db.execute(sql, params).fetchone()

    # conversations

    def create_conversation(self, title: str, origin: str = "chat") -> Conversation:
        conversation_id = uuid.uuid4().hex[:12]
        stamp = now()
        with self.transaction() as db:
            db.execute(
                "INSERT INTO conversations (id, title, created_at, updated_at, origin)"
                " VALUES (?, ?, ?, ?, ?)",
                (conversation_id, _title_from(title), stamp, stamp, origin),
            )
        return self.conversation(conversation_id)

    def conversation(self, conversation_id: str) -> Conversation:
        row = self._fetchone(
            CONVERSATION_SELECT + " WHERE id = ?",
            (conversation_id,),
        )
        if row is None:
            raise DeskloopError(
                f"no conversation '{conversation_id}': run 'deskloop history' to list them"
            )
        return Conversation(**dict(row))

    def conversations(self, search: str = "", limit: int = 200) -> list[Conversation]:
        rows = self._fetchall(
            CONVERSATION_SELECT
            + " WHERE c.origin = 'chat' AND (? = '' OR c.title LIKE ? OR EXISTS ("
            "   SELECT 1 FROM turns t WHERE t.conversation_id = c.id AND t.content LIKE ?))"
            " ORDER BY c.updated_at DESC LIMIT ?",
            (search, f"%{search}%", f"%{search}%", limit),
        )
        return [Conversation(**dict(row)) for row in rows]

    def escalate(self, conversation_id: str, note: str = "") -> Conversation:
        self.conversation(conversation_id)
        with self.transaction() as db:
            db.execute(
                "UPDATE conversations SET escalated_at = ?, escalation_note = ? WHERE id = ?",
                (now(), note, conversation_id),
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
                "INSERT OR IGNORE INTO conversations (id, title, created_at, updated_at)"
                " VALUES (?, ?, ?, ?)",
                (conversation_id, _title_from(question), stamp, stamp),
            )
            user_id = db.execute(
                "INSERT INTO turns (conversation_id, role, content, created_at)"
                " VALUES (?, 'user', ?, ?)",
                (conversation_id, question, stamp),
            ).lastrowid
            answer_id = db.execute(
                "INSERT INTO turns (conversation_id, role, content, status, created_at,"
                " prompt_tokens, completion_tokens, first_token_ms, latency_ms, model_id,"
                " adapter_version, approved_id)"
                " VALUES (?, 'assistant', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    conversation_id,
                    answer.content,
                    answer.status,
                    now(),
                    answer.prompt_tokens,
                    answer.completion_tokens,
                    answer.first_token_ms,
                    answer.latency_ms,
                    answer.model_id,
                    answer.adapter_version,
                    answer.approved_id,
                ),
            ).lastrowid
            db.executemany(
                "INSERT INTO turn_sources (turn_id, n, chunk_id, record_id, source, title,"
                " section, kind, score, similarity, text) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        answer_id,
                        s.n,
                        s.chunk_id,
                        s.record_id,
                        s.source,
                        s.title,
                        s.section,
                        s.kind,
                        s.score,
                        s.similarity,
                        s.text,
                    )
                    for s in answer.sources
                ],
            )
            if answer.grounding is not None:
                db.execute(
                    "INSERT INTO turn_grounding (turn_id, data) VALUES (?, ?)",
                    (answer_id, json.dumps(answer.grounding)),
                )
            db.execute(
                "UPDATE conversations SET updated_at = ? WHERE id = ?", (stamp, conversation_id)
            )
        return user_id, answer_id

    def turns(self, conversation_id: str) -> list[Turn]:
        rows = self._fetchall(
            TURN_SELECT + " WHERE t.conversation_id = ? ORDER BY t.id",
            (conversation_id,),
        )
        turns = [_turn(row) for row in rows]
        self._attach_sources(turns)
        return turns

    def turn(self, turn_id: int) -> Turn:
        row = self._fetchone(
            TURN_SELECT + " WHERE t.id = ?",
            (turn_id,),
        )
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
        marks = ",".join("?" * len(by_id))
        rows = self._fetchall(
            f"SELECT * FROM turn_sources WHERE turn_id IN ({marks}) ORDER BY turn_id, n",
            list(by_id),
        )
        for row in rows:
            data = dict(row)
            by_id[data.pop("turn_id")].sources.append(SourceRef(**data))

    # feedback

    def flag(
        self, turn_id: int, rating: str, reason: str | None = None, correction: str | None = None
    ) -> Turn:
        if rating not in RATINGS:
            raise DeskloopError(f"rating must be one of {', '.join(RATINGS)}, got {rating!r}")
        turn = self.turn(turn_id)
        if turn.role != "assistant":
            raise DeskloopError(f"turn {turn_id} is a question; flag the answer that follows it")
        correction = (correction or "").strip() or None
        with self.transaction() as db:
            db.execute(
                "INSERT INTO feedback (turn_id, rating, reason, correction, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT(turn_id) DO UPDATE SET"
                " rating = excluded.rating, reason = excluded.reason,"
                " correction = excluded.correction, created_at = excluded.created_at",
                (turn_id, rating, reason, correction, now()),
            )
            self.approved.record_flag(db, turn_id, rating, correction)
        return self.turn(turn_id)

    def edit_answer(self, turn_id: int, text: str) -> Turn:
        """Replace an answer's text with what the agent actually sent."""
        if self.turn(turn_id).role != "assistant" or not text.strip():
            raise DeskloopError(f"turn {turn_id} is not an answer, or the new text is empty")
        with self.transaction() as db:
            db.execute("UPDATE turns SET content = ? WHERE id = ?", (text.strip(), turn_id))
        return self.turn(turn_id)

    def flagged_turns(self) -> list[Turn]:
        rows = self._fetchall(TURN_SELECT + " WHERE f.rating IS NOT NULL ORDER BY t.id")
        turns = [_turn(row) for row in rows]
        self._attach_sources(turns)
        return turns

    def feedback_counts(self) -> dict[str, int]:
        row = self._fetchone(
            "SELECT"
            " SUM(rating = 'good') AS good,"
            " SUM(rating = 'bad' AND correction IS NOT NULL) AS corrected,"
            " SUM(rating = 'bad' AND correction IS NULL) AS bad"
            " FROM feedback"
        )
        return {key: int(row[key] or 0) for key in ("good", "corrected", "bad")}

    # split assignments for the training data (stable across rounds)

    def split_assignments(self) -> dict[str, str]:
        rows = self._fetchall("SELECT conversation_id, split FROM split_assignments")
        return {row["conversation_id"]: row["split"] for row in rows}

    def save_split_assignments(self, assignments: dict[str, str]) -> None:
        with self.transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO split_assignments (conversation_id, split) VALUES (?, ?)",
                list(assignments.items()),
            )

    def schema_version(self) -> int:
        return self._fetchone("PRAGMA user_version")[0]


def migrate(db: sqlite3.Connection) -> int:
    """Run the migrations this database has not seen yet, each in its own transaction."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise DeskloopError(
            f"the database was written by a newer deskloop (schema {version}); upgrade deskloop"
        )
    # A migration may rebuild a table (SQLite cannot alter a CHECK): with foreign keys on,
    # dropping the old table would cascade into the rows that refer to it.
    foreign_keys = db.execute("PRAGMA foreign_keys").fetchone()[0]
    db.execute("PRAGMA foreign_keys=OFF")
    try:
        for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
            with db:
                db.execute("BEGIN IMMEDIATE")
                step(db)
                if db.execute("PRAGMA foreign_key_check").fetchone() is not None:
                    raise DeskloopError(f"schema migration {number} broke a foreign key")
                db.execute(f"PRAGMA user_version = {number}")
    finally:
        db.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
    return len(MIGRATIONS)


def _turn(row: sqlite3.Row) -> Turn:
    data = dict(row)
    if data.get("grounding"):
        data["grounding"] = json.loads(data["grounding"])
    return Turn(**data)


def _title_from(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= 60 else line[:57].rstrip() + "..."
