"""The store as the screens use it, kept by a deskloop server (team mode).

Conversations, turns, flags and approved answers come from the server's `/api` as the local
`Store` returns them (the same dataclasses), so the chat and knowledge screens need not know
where they live. The server shows an agent only the conversations they started.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from assistant.approved_store import ApprovedAnswer
from assistant.client import Client, ServerError
from assistant.store import Conversation, SourceRef, Turn

Record = TypeVar("Record")


def record_of(kind: type[Record], document: dict[str, Any]) -> Record:
    """A dataclass from the server's JSON, ignoring fields a newer server may add."""
    names = {f.name for f in dataclasses.fields(kind)}  # type: ignore[arg-type]
    return kind(**{key: value for key, value in document.items() if key in names})


def turn_of(document: dict[str, Any]) -> Turn:
    turn = record_of(Turn, document)
    turn.sources = [record_of(SourceRef, s) for s in document.get("sources") or []]
    return turn


class RemoteApproved:
    """`Store.approved` through the server: agents read, admins edit and remove."""

    def __init__(self, client: Client):
        self.client = client

    def entries(self) -> list[ApprovedAnswer]:
        return [record_of(ApprovedAnswer, d) for d in self.client.approved()]

    def get(self, approved_id: int) -> ApprovedAnswer:
        return record_of(ApprovedAnswer, self.client.approved(approved_id))

    def update(
        self, approved_id: int, question: str | None = None, answer: str | None = None
    ) -> ApprovedAnswer:
        return record_of(ApprovedAnswer, self.client.approved_edit(approved_id, question, answer))

    def remove(self, approved_id: int) -> ApprovedAnswer:
        return record_of(ApprovedAnswer, self.client.approved_remove(approved_id)["removed"])


class RemoteStore:
    def __init__(self, client: Client):
        self.client = client
        self.approved = RemoteApproved(client)
        # The server looks turns up by conversation; remember where each one seen here lives.
        self._conversation_of: dict[int, str] = {}

    @property
    def newest_turn_id(self) -> int:
        """The newest turn this app has seen (the server numbers turns in order)."""
        return max(self._conversation_of, default=0)

    def conversations(self, search: str = "") -> list[Conversation]:
        return [record_of(Conversation, d) for d in self.client.conversations(search)]

    def conversation(self, conversation_id: str) -> Conversation:
        return record_of(Conversation, self.client.conversation(conversation_id))

    def turns(self, conversation_id: str) -> list[Turn]:
        turns = [turn_of(d) for d in self.client.conversation(conversation_id)["turns"]]
        for turn in turns:
            self._conversation_of[turn.id] = conversation_id
        return turns

    def remember(self, turn_id: int, conversation_id: str) -> None:
        self._conversation_of[turn_id] = conversation_id

    def turn(self, turn_id: int) -> Turn:
        conversation_id = self._conversation_of.get(turn_id)
        if conversation_id is not None:
            for turn in self.turns(conversation_id):
                if turn.id == turn_id:
                    return turn
        raise ServerError(f"no turn {turn_id} in the conversations opened here: reopen it")

    def flag(
        self, turn_id: int, rating: str, reason: str | None = None, correction: str | None = None
    ) -> Turn:
        return turn_of(self.client.flag(turn_id, rating, reason, correction))

    def edit_answer(self, turn_id: int, text: str) -> Turn:
        return turn_of(self.client.edit_answer(turn_id, text))

    def escalate(self, conversation_id: str, note: str = "") -> Conversation:
        return record_of(Conversation, self.client.escalate(conversation_id, note))

    def feedback_counts(self) -> dict[str, int]:
        return self.client.feedback_counts()
