"""Small text helpers shared by the screens."""

from __future__ import annotations

from assistant.approved_store import ApprovedAnswer
from assistant.store import Turn


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def number(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def answer_header(turn: Turn | None, streaming: bool = False) -> str:
    """The line above an answer: its id, status and the agent's flag."""
    if turn is None:
        return "deskloop · answering…" if streaming else "deskloop"
    parts = [f"deskloop #{turn.id}"]
    if turn.adapter_version:
        parts.append(turn.adapter_version)
    if turn.status == "cancelled":
        parts.append("⏹ cancelled (partial)")
    elif turn.status == "declined":
        parts.append("declined: the sources do not answer this")
    elif turn.status == "approved":
        parts.append("✔ approved answer")
    unsupported = len(unsupported_sentences(turn))
    if unsupported:
        parts.append(f"⚠ {unsupported} sentence{'s' * (unsupported > 1)} not in the sources")
    if turn.rating == "good":
        parts.append("✔ flagged good")
    elif turn.rating == "bad":
        reason = f" ({turn.reason})" if turn.reason else ""
        parts.append(f"✘ flagged bad{reason}")
    return " · ".join(parts)


def unsupported_sentences(turn: Turn) -> list[str]:
    sentences = (turn.grounding or {}).get("sentences") or []
    return [s["text"] for s in sentences if not s.get("supported", True)]


def cited_sources(turn: Turn | None) -> set[int]:
    return set(((turn.grounding if turn else None) or {}).get("cited") or [])


def answer_markdown(turn: Turn) -> str:
    """The answer as stored, each sentence its sources do not support marked as such."""
    text = turn.content
    for sentence in unsupported_sentences(turn):
        if sentence in text:
            text = text.replace(sentence, f"⚠ _{sentence}_ (not in the sources)", 1)
    return text or "_(no answer)_"


def timing_label(timings: dict) -> str:
    """'12.3 tok/s · 0.8 s to first token · 4.1 s' for the status bar."""
    parts = []
    if timings.get("tokens_per_s"):
        parts.append(f"{timings['tokens_per_s']} tok/s")
    if timings.get("first_token_s") is not None:
        parts.append(f"first token {timings['first_token_s']:.1f}s")
    if timings.get("total_s") is not None:
        parts.append(f"total {timings['total_s']:.1f}s")
    return " · ".join(parts)


def approved_origin(entry: ApprovedAnswer | None, approved_id: int | None) -> str:
    """Where an approved answer came from: 'approved #3 · flagged good by ana, 2025-06-01 …'."""
    if entry is None:
        return f"approved #{approved_id} (since removed)"
    how = "flagged good" if entry.origin == "good" else "corrected"
    when = entry.created_at[:16].replace("T", " ")
    where = f" · conversation {entry.conversation_id}" if entry.conversation_id else ""
    return f"approved #{entry.id} · {how} by {entry.created_by}, {when}{where}"
