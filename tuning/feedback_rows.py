"""The store's flagged answers as feedback rows, and feedback files imported into the store.

Imported rows become stored conversations (origin "import") with the flag on their last
answer, so chat flags and imported rows reach the dataset through the same path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from assistant.store import AnswerRecord, SourceRef, Store, Turn
from tuning.formats import FeedbackRow, Message, Source, read_feedback_jsonl


def heading(title: str, section: str) -> str:
    """A source's heading as the serving prompt shows it (see assistant.prompt.format_sources)."""
    if section and section != title:
        return f"{title} > {section}"
    return title


def store_feedback_rows(store: Store) -> list[FeedbackRow]:
    """One row per flagged answer, oldest first: its conversation up to and including it."""
    rows: list[FeedbackRow] = []
    conversations: dict[str, list[Turn]] = {}
    for flagged in store.flagged_turns():
        if flagged.conversation_id not in conversations:
            conversations[flagged.conversation_id] = store.turns(flagged.conversation_id)
        turns = conversations[flagged.conversation_id]
        upto = [t for t in turns if t.id <= flagged.id and t.content.strip()]
        messages = tuple({"role": t.role, "content": t.content} for t in upto)
        if not any(m["role"] == "user" for m in messages[:-1]):
            continue  # an answer with no question before it cannot teach anything
        rows.append(
            FeedbackRow(
                messages=messages,
                rating=flagged.rating or "good",
                correction=flagged.correction,
                reason=flagged.reason,
                conversation_id=flagged.conversation_id,
                turn_id=flagged.id,
                sources=tuple(_source(s) for s in flagged.sources),
            )
        )
    return rows


def _source(ref: SourceRef) -> Source:
    title = ref.title or ref.source
    return Source(ref.n, heading(title, ref.section), ref.source, ref.text)


@dataclass
class ImportResult:
    rows: int = 0
    conversations: int = 0
    turns: int = 0
    flagged: int = 0
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def import_feedback(store: Store, path: str | Path, actor: str | None = None) -> ImportResult:
    """Store each valid row of a feedback JSONL file as a flagged conversation; ``actor``: the
    server's user who imported it (None: the local user), recorded on every row written.

    Rows sharing a ``conversation_id`` whose messages extend an earlier row's are appended
    to that row's stored conversation, so one conversation stays one conversation.
    """
    path = Path(path)
    parsed = read_feedback_jsonl(path)
    result = ImportResult(errors=list(parsed.errors))
    imported: dict[str, tuple[str, list[Message]]] = {}  # file id -> (store id, messages)
    for row in parsed.rows:
        messages = [m for m in row.messages if m["role"] != "system"]
        earlier = imported.get(row.conversation_id) if row.conversation_id else None
        if earlier and _extends(messages, earlier[1]):
            conversation_id, new = earlier[0], messages[len(earlier[1]) :]
        else:
            first_user = next(m["content"] for m in messages if m["role"] == "user")
            conversation_id = store.create_conversation(first_user, "import", actor).id
            new = messages
            result.conversations += 1
        answer_id = _record(store, conversation_id, new, row.sources, actor)
        result.turns += len(new)
        store.flag(answer_id, row.rating, row.reason, row.correction, actor=actor)
        result.flagged += 1
        result.rows += 1
        if row.conversation_id:
            imported[row.conversation_id] = (conversation_id, messages)
    return result


def _extends(messages: list[Message], earlier: list[Message]) -> bool:
    return len(messages) > len(earlier) and messages[: len(earlier)] == earlier


def _record(
    store: Store,
    conversation_id: str,
    messages: list[Message],
    sources: tuple[Source, ...],
    actor: str | None = None,
) -> int:
    """Record the messages as exchanges; the last answer gets the sources. Returns its id."""
    exchanges: list[tuple[str, str]] = []
    question: list[str] = []
    for message in messages:
        if message["role"] == "user":
            question.append(message["content"])
        else:
            exchanges.append(("\n\n".join(question), message["content"]))
            question = []
    answer_id = 0
    for i, (asked, answer) in enumerate(exchanges):
        last = i == len(exchanges) - 1
        refs = [_source_ref(s) for s in sources] if last else []
        _, answer_id = store.record_exchange(
            conversation_id, asked, AnswerRecord(answer, sources=refs, actor=actor)
        )
    return answer_id


def _source_ref(source: Source) -> SourceRef:
    return SourceRef(
        n=source.n,
        chunk_id=source.source or f"import:{source.n}",
        source=source.source,
        title=source.title,
        text=source.text,
    )
