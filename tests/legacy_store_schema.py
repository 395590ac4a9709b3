"""The SQLite schema deskloop wrote before Alembic, step by step, as PRAGMA user_version 1 to 5.

Copied from the store as it was (the code is gone): the migration tests build old stores
with it and check that the current store opens them, upgrades them and keeps every row.
"""

from __future__ import annotations

import sqlite3

CORE = """
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
"""

ESCALATION = """
ALTER TABLE conversations ADD COLUMN escalated_at TEXT;
ALTER TABLE conversations ADD COLUMN escalation_note TEXT;
"""

FEEDBACK_IMPORTS = """
ALTER TABLE conversations ADD COLUMN origin TEXT NOT NULL DEFAULT 'chat';
CREATE TABLE split_assignments (
    conversation_id TEXT PRIMARY KEY,
    split TEXT NOT NULL CHECK (split IN ('train', 'eval'))
);
"""

_TURNS_COLUMNS = (
    "id, conversation_id, role, content, status, created_at, prompt_tokens, completion_tokens,"
    " first_token_ms, latency_ms, model_id, adapter_version"
)

APPROVED_ANSWERS = f"""
CREATE TABLE approved_answers (
    id INTEGER PRIMARY KEY,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    origin TEXT NOT NULL CHECK (origin IN ('good', 'correction')),
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    conversation_id TEXT,
    turn_id INTEGER UNIQUE REFERENCES turns(id) ON DELETE SET NULL,
    embedding BLOB,
    embedding_model TEXT
);
CREATE TABLE turns_new (
    id INTEGER PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'complete'
        CHECK (status IN ('complete', 'cancelled', 'declined', 'error', 'approved')),
    created_at TEXT NOT NULL,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    first_token_ms REAL,
    latency_ms REAL,
    model_id TEXT,
    adapter_version TEXT,
    approved_id INTEGER
);
INSERT INTO turns_new ({_TURNS_COLUMNS}) SELECT {_TURNS_COLUMNS} FROM turns;
DROP TABLE turns;
ALTER TABLE turns_new RENAME TO turns;
CREATE INDEX turns_by_conversation ON turns(conversation_id, id)
"""

TURN_GROUNDING = """
CREATE TABLE turn_grounding (
    turn_id INTEGER PRIMARY KEY REFERENCES turns(id) ON DELETE CASCADE,
    data TEXT NOT NULL
);
"""

STEPS = [CORE, ESCALATION, FEEDBACK_IMPORTS, APPROVED_ANSWERS, TURN_GROUNDING]


def build(path, version: int) -> sqlite3.Connection:
    """A store at ``user_version = version``, as the old code left it (foreign keys on)."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    for script in STEPS[:version]:
        db.execute("PRAGMA foreign_keys=OFF")  # the old migrate() ran each step so
        db.executescript(script)
        db.execute("PRAGMA foreign_keys=ON")
    db.execute(f"PRAGMA user_version = {version}")
    db.commit()
    return db
