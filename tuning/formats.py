"""Feedback rows: validation, and conversion to TRL's dataset shapes.

A feedback row is one flagged assistant answer with the conversation that led to it:
``{"messages": [...], "rating": "good"|"bad", "correction"?, "reason"?,
"conversation_id"?, "turn_id"?, "sources"?}``; the last message is the flagged answer.

TRL shapes produced (conversational forms, see TRL's "Dataset formats and types"):
SFT language modeling ``{"messages"}``, preference ``{"prompt", "chosen", "rejected"}``
for DPO, unpaired preference ``{"prompt", "completion", "label"}`` for KTO. Every record
also carries ``conversation_id``, ``reason`` and ``sources`` as metadata columns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROLES = ("system", "user", "assistant")
RATINGS = ("good", "bad")

Message = dict[str, str]


@dataclass(frozen=True)
class Source:
    n: int
    title: str
    source: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "title": self.title, "source": self.source, "text": self.text}


@dataclass(frozen=True)
class FeedbackRow:
    messages: tuple[Message, ...]
    rating: str
    correction: str | None = None
    reason: str | None = None
    conversation_id: str | None = None
    turn_id: int | str | None = None
    sources: tuple[Source, ...] = ()
    origin: str = "feedback"  # "feedback" or "seed"; not part of the file format

    @property
    def prompt(self) -> list[Message]:
        """The messages before the flagged answer."""
        return [dict(m) for m in self.messages[:-1]]

    @property
    def answer(self) -> str:
        """The flagged answer as the model gave it."""
        return self.messages[-1]["content"]

    @property
    def target(self) -> str | None:
        """The answer to learn from: the original if good, else the correction if any."""
        return self.answer if self.rating == "good" else self.correction

    def to_dict(self) -> dict[str, Any]:
        """The row in the feedback file format (inverse of :func:`parse_feedback_row`)."""
        out: dict[str, Any] = {"messages": [dict(m) for m in self.messages], "rating": self.rating}
        optional = {
            "correction": self.correction,
            "reason": self.reason,
            "conversation_id": self.conversation_id,
            "turn_id": self.turn_id,
        }
        out.update({k: v for k, v in optional.items() if v is not None})
        if self.sources:
            out["sources"] = [s.to_dict() for s in self.sources]
        return out


def parse_feedback_row(obj: Any, where: str | None = None) -> FeedbackRow:
    """Validate one decoded JSON row; raise ValueError naming the problem.

    ``where`` (e.g. ``"line 12"``) prefixes the error message.
    """
    try:
        return _parse(obj)
    except ValueError as err:
        raise ValueError(f"{where}: {err}" if where else str(err)) from None


def _parse(obj: Any) -> FeedbackRow:
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    messages = _parse_messages(obj.get("messages"))
    rating = obj.get("rating")
    if rating not in RATINGS:
        raise ValueError("'rating' must be 'good' or 'bad'")
    correction = _optional_text(obj, "correction")
    if correction is not None and rating == "good":
        raise ValueError("'correction' is only allowed with rating 'bad'")
    conversation_id = obj.get("conversation_id")
    if isinstance(conversation_id, int) and not isinstance(conversation_id, bool):
        conversation_id = str(conversation_id)
    if conversation_id is not None and not (
        isinstance(conversation_id, str) and conversation_id.strip()
    ):
        raise ValueError("'conversation_id' must be a non-empty string")
    turn_id = obj.get("turn_id")
    if turn_id is not None and (isinstance(turn_id, bool) or not isinstance(turn_id, (int, str))):
        raise ValueError("'turn_id' must be an integer or a string")
    return FeedbackRow(
        messages=messages,
        rating=rating,
        correction=correction,
        reason=_optional_text(obj, "reason"),
        conversation_id=conversation_id,
        turn_id=turn_id,
        sources=_parse_sources(obj.get("sources")),
    )


def _parse_messages(value: Any) -> tuple[Message, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError("'messages' must be a non-empty list")
    messages = []
    for i, m in enumerate(value):
        if not isinstance(m, dict):
            raise ValueError(f"messages[{i}] must be an object with 'role' and 'content'")
        if m.get("role") not in ROLES:
            raise ValueError(f"messages[{i}].role must be one of {', '.join(ROLES)}")
        if not isinstance(m.get("content"), str):
            raise ValueError(f"messages[{i}].content must be a string")
        messages.append({"role": m["role"], "content": m["content"]})
    if messages[-1]["role"] != "assistant":
        raise ValueError("the last message must be the assistant answer that was flagged")
    if not messages[-1]["content"].strip():
        raise ValueError("the flagged assistant answer is empty")
    if not any(m["role"] == "user" and m["content"].strip() for m in messages[:-1]):
        raise ValueError("no user message before the flagged answer")
    return tuple(messages)


def _optional_text(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"'{key}' must be a string")
    return value if value.strip() else None


def _parse_sources(value: Any) -> tuple[Source, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValueError("'sources' must be a list")
    sources = []
    for i, s in enumerate(value):
        if not isinstance(s, dict):
            raise ValueError(f"sources[{i}] must be an object")
        n = s.get("n")
        if not isinstance(n, int) or isinstance(n, bool):
            raise ValueError(f"sources[{i}].n must be an integer")
        for key in ("title", "source", "text"):
            if not isinstance(s.get(key), str):
                raise ValueError(f"sources[{i}].{key} must be a string")
        sources.append(Source(n, s["title"], s["source"], s["text"]))
    return tuple(sources)


@dataclass
class FeedbackFile:
    rows: list[FeedbackRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # one line each, "line N: problem"


def read_feedback_jsonl(path: str | Path) -> FeedbackFile:
    """Read a JSONL feedback file, keeping valid rows and reporting each bad line."""
    result = FeedbackFile()
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                result.errors.append(f"line {lineno}: invalid JSON ({err.msg})")
                continue
            try:
                result.rows.append(parse_feedback_row(obj, where=f"line {lineno}"))
            except ValueError as err:
                result.errors.append(str(err))
    return result


def _metadata(row: FeedbackRow) -> dict[str, Any]:
    return {
        "conversation_id": row.conversation_id,
        "reason": row.reason,
        "sources": [s.to_dict() for s in row.sources],
    }


def _assistant(content: str) -> list[Message]:
    return [{"role": "assistant", "content": content}]


def to_sft(row: FeedbackRow) -> dict[str, Any] | None:
    """Conversational SFT example, ending in the answer to learn; None if there is none."""
    target = row.target
    if target is None:
        return None
    return {"messages": row.prompt + _assistant(target), **_metadata(row)}


def to_dpo(row: FeedbackRow) -> dict[str, Any] | None:
    """Conversational preference pair (correction over original); None unless corrected."""
    if row.rating != "bad" or row.correction is None:
        return None
    return {
        "prompt": row.prompt,
        "chosen": _assistant(row.correction),
        "rejected": _assistant(row.answer),
        **_metadata(row),
    }


def to_kto(row: FeedbackRow) -> list[dict[str, Any]]:
    """Unpaired preference rows: good -> True; bad -> False, plus True for a correction."""

    def record(content: str, label: bool) -> dict[str, Any]:
        return {
            "prompt": row.prompt,
            "completion": _assistant(content),
            "label": label,
            **_metadata(row),
        }

    if row.rating == "good":
        return [record(row.answer, True)]
    out = [record(row.answer, False)]
    if row.correction is not None:
        out.insert(0, record(row.correction, True))
    return out


def to_eval(row: FeedbackRow) -> dict[str, Any] | None:
    """Eval example in the ``deskloop eval`` file shape: question messages + reference."""
    target = row.target
    if target is None:
        return None
    return {"messages": row.prompt, "reference": target, **_metadata(row)}
