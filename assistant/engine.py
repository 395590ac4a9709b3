"""The chat engine: retrieve, build the prompt, stream the answer, record it with its provenance.

The engine knows nothing about tokenization or weights: it talks to a serving Backend
(assistant/backends: text streamed for messages and the adapter of this answer), the
backend's token counter for the prompt budget, and an optional Retriever.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from assistant.answering.citations import check_citations, split_pieces
from assistant.answering.grounder import Grounder, GroundingPlan
from assistant.answering.policy_leak import policy_runs, recites_policy
from assistant.approved import ApprovedLookup, ApprovedMatch
from assistant.backends.seam import Adapter, Backend, adapter_of
from assistant.prompt import (
    DECLINE_ANSWER,
    SYSTEM_POLICY,
    PromptSource,
    TokenCounter,
    build_messages,
)
from assistant.settings import Settings
from assistant.store import AnswerRecord, SourceRef, Store, Turn


class Retriever(Protocol):
    def retrieve(self, messages: list[dict], k: int) -> list[SourceRef]:
        """The k best sources for the conversation's last user message, best first."""


PUBLIC_STATUS = {"complete": "answered"}  # the store's name -> the one users see
POLICY_RUNS = policy_runs(SYSTEM_POLICY)

# Returns the adapter to answer with now: (version or None for the base, its folder).
AdapterChoice = Callable[[], tuple[str | None, Path | None]]


@dataclass
class AnswerResult:
    conversation_id: str
    turn_id: int
    question_turn_id: int
    answer: str
    status: str
    sources: list[SourceRef]
    model_id: str
    adapter: str | None
    timings: dict = field(default_factory=dict)
    grounding: dict | None = None
    approved: ApprovedMatch | None = None

    def to_dict(self) -> dict:
        return {
            "conversation_id": self.conversation_id,
            "turn_id": self.turn_id,
            "question_turn_id": self.question_turn_id,
            "answer": self.answer,
            "status": PUBLIC_STATUS.get(self.status, self.status),
            "sources": [s.to_dict() for s in self.sources],
            "model_id": self.model_id,
            "adapter": self.adapter or "base",
            "timings": self.timings,
            "grounding": self.grounding,
            "approved": self.approved.origin() if self.approved else None,
        }


def history_messages(turns: list[Turn]) -> list[dict]:
    return [{"role": t.role, "content": t.content} for t in turns if t.content.strip()]


class AnswerStream:
    """Iterate for the answer's text chunks; `result` holds the recorded turn afterwards."""

    def __init__(
        self,
        engine: ChatEngine,
        question: str,
        conversation_id: str | None,
        history: list[dict] | None = None,
        actor: str | None = None,
    ):
        self.engine = engine
        self.actor = actor
        self.question = question
        self.given_history = history
        self.new_conversation = conversation_id is None
        self.conversation_id = conversation_id or uuid.uuid4().hex[:12]
        self.sources: list[SourceRef] = []
        self.result: AnswerResult | None = None
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def __iter__(self) -> Iterator[str]:
        engine = self.engine
        started = time.perf_counter()
        history = self.given_history
        if history is None:
            history = [] if self.new_conversation else engine.history(self.conversation_id)
        adapter = engine.current_adapter()
        version = adapter.version if adapter else None
        approved = engine.approved_answer(self.question, history)
        if approved is not None:
            yield approved.answer
            record = AnswerRecord(approved.answer, status="approved", approved_id=approved.id)
            self._finish(record, started, first_token=None, adapter=version)
            self.result.approved = approved
            return
        asked = [*history, {"role": "user", "content": self.question}]
        retrieved = engine.retrieve(asked)
        self.sources = [s for s in retrieved if engine.is_relevant(s)]
        for number, source in enumerate(self.sources, start=1):
            source.n = number
        if engine.retriever is not None and not self.sources:
            yield from self._decline(started, version, {"reason": "no relevant source"})
            return
        plan = engine.plan(asked, self.sources)
        if plan is not None and not plan.answerable:
            why = {"reason": "the sources do not answer it", **plan.to_dict()}
            yield from self._decline(started, version, why)
            return
        if plan is not None:
            plan = engine.choose_evidence(plan, self.question, history, self.sources, adapter)
        compose = engine.settings.answers.compose
        if plan is not None and compose == "quote":
            messages, chunks = None, iter([engine.grounder.quote(plan)])
        else:
            shown = self.sources
            if plan is not None and compose == "model":
                shown = narrowed_sources(self.sources, engine.grounder.evidence_sources(plan))
            messages = engine.build_messages(self.question, history, shown)
            options = engine.settings.generation
            chunks = engine.model.stream(messages, options, adapter, self._cancel)
        parts: list[str] = []
        first_token = None
        removed: list[int] = []  # markers the checks took out of the model's text
        for chunk in engine.checked_stream(chunks, self.sources, removed):
            if first_token is None and chunk:
                first_token = time.perf_counter()
            parts.append(chunk)
            yield chunk
        answer = "".join(parts).strip()
        record = AnswerRecord(
            answer,
            status="cancelled" if self._cancel.is_set() else "complete",
            prompt_tokens=engine.counter.count_messages(messages) if messages else None,
            completion_tokens=engine.counter.count_text(answer),
            sources=self.sources,
            grounding=engine.grounding_of(answer, self.sources, plan, removed),
        )
        self._finish(record, started, first_token, version)

    def _decline(self, started: float, adapter: str | None, why: dict) -> Iterator[str]:
        yield DECLINE_ANSWER
        record = AnswerRecord(
            DECLINE_ANSWER, status="declined", sources=self.sources, grounding={"declined": why}
        )
        self._finish(record, started, first_token=None, adapter=adapter)

    def text(self) -> str:
        """Run to the end and return the answer."""
        for _ in self:
            pass
        return self.result.answer

    def _finish(
        self, record: AnswerRecord, started: float, first_token: float | None, adapter: str | None
    ) -> None:
        finished = time.perf_counter()
        record.latency_ms = round((finished - started) * 1000, 1)
        if first_token is not None:
            record.first_token_ms = round((first_token - started) * 1000, 1)
        record.model_id = self.engine.model.model_id
        record.adapter_version = adapter
        record.actor = self.actor
        question_id, answer_id = self.engine.store.record_exchange(
            self.conversation_id, self.question, record
        )
        decode_s = finished - (first_token or finished)
        tokens = record.completion_tokens or 0
        self.result = AnswerResult(
            conversation_id=self.conversation_id,
            turn_id=answer_id,
            question_turn_id=question_id,
            answer=record.content,
            status=record.status,
            sources=record.sources,
            model_id=record.model_id,
            adapter=adapter,
            grounding=record.grounding,
            timings={
                "first_token_s": _seconds(record.first_token_ms),
                "total_s": _seconds(record.latency_ms),
                "prompt_tokens": record.prompt_tokens,
                "completion_tokens": record.completion_tokens,
                "tokens_per_s": (
                    round(tokens / decode_s, 1)
                    if record.prompt_tokens and tokens > 1 and decode_s
                    else None  # quoted or declined: nothing was generated
                ),
            },
        )


class ChatEngine:
    def __init__(
        self,
        model: Backend,
        store: Store,
        settings: Settings,
        retriever: Retriever | None = None,
        adapter_choice: AdapterChoice | None = None,
        grounder: Grounder | None = None,
        approved: ApprovedLookup | None = None,
        counter: TokenCounter | None = None,
    ):
        self.model = model
        self.counter = counter or model.counter
        self.store = store
        self.settings = settings
        self.retriever = retriever
        self.adapter_choice = adapter_choice
        self.grounder = grounder
        self.approved = approved

    def ask(
        self,
        question: str,
        conversation_id: str | None = None,
        history: list[dict] | None = None,
        actor: str | None = None,
    ) -> AnswerStream:
        """Answer ``question`` in a conversation of the store, or after a given ``history``
        (a conversation held elsewhere, as evaluation has it); ``actor``: the server's user
        it is asked for, recorded with the turns."""
        question = question.strip()
        if conversation_id is not None:
            self.store.conversation(conversation_id)  # fails clearly on an unknown id
        return AnswerStream(self, question, conversation_id, history, actor)

    def approved_answer(self, question: str, history: list[dict]) -> ApprovedMatch | None:
        """An approved answer that fits this question, served instead of generating one."""
        return self.approved.match(question, history) if self.approved is not None else None

    def history(self, conversation_id: str) -> list[dict]:
        return history_messages(self.store.turns(conversation_id))

    def retrieve(self, messages: list[dict]) -> list[SourceRef]:
        k = self.settings.retrieval.top_k
        if self.retriever is None or k == 0:
            return []
        return self.retriever.retrieve(messages, k)

    def is_relevant(self, source: SourceRef) -> bool:
        similarity = source.similarity if source.similarity is not None else 1.0
        return similarity >= self.settings.retrieval.min_similarity

    def plan(self, messages: list[dict], sources: list[SourceRef]) -> GroundingPlan | None:
        if self.grounder is None or not sources:
            return None
        headings = {s.n: s.section or s.title for s in sources}
        return self.grounder.plan(messages, source_texts(sources), headings)

    def choose_evidence(
        self,
        plan: GroundingPlan,
        question: str,
        history: list[dict],
        sources: list[SourceRef],
        adapter: Adapter | None,
    ) -> GroundingPlan:
        """Let the model pick among the evidence spans once an adapter trained on the agents'
        own answers is in service (the base model's taste in answers is not the team's)."""
        score = getattr(self.model, "score", None)
        if (
            score is None
            or adapter is None
            or len(plan.alternatives) < 2
            or not self.settings.answers.model_weight
        ):
            return plan
        messages = self.build_messages(question, history, sources)
        texts = [Grounder.plain_text(span) for span in plan.alternatives]
        return self.grounder.choose(plan, score(messages, texts, adapter))

    def checked_stream(
        self, chunks: Iterator[str], sources: list[SourceRef], removed: list[int]
    ) -> Iterator[str]:
        """The answer a sentence at a time, each with its citations checked (the markers
        taken out are added to ``removed``)."""
        if self.grounder is None or not sources:
            yield from chunks
            return
        texts = source_texts(sources)
        pending = ""
        for chunk in chunks:
            pending += chunk
            pieces = split_pieces(pending)
            if len(pieces) > 1:
                yield "".join(_checked_piece(p, sep, texts, removed) for p, sep in pieces[:-1])
                pending = "".join(pieces[-1])
        if pending.strip():
            yield _checked_piece(pending, "", texts, removed)

    def grounding_of(
        self,
        answer: str,
        sources: list[SourceRef],
        plan: GroundingPlan | None,
        removed: list[int],
    ) -> dict | None:
        if self.grounder is None or not sources:
            return None
        checked = self.grounder.check(answer, source_texts(sources))
        checked.removed_markers = removed + checked.removed_markers
        return {**checked.to_dict(), **({"plan": plan.to_dict()} if plan else {})}

    def build_messages(
        self, question: str, history: list[dict], sources: list[SourceRef]
    ) -> list[dict]:
        prompt_sources = [
            PromptSource(n=s.n, title=s.title or s.source, text=s.text, section=s.section or "")
            for s in sources
        ]
        return build_messages(
            question,
            history,
            prompt_sources,
            self.counter,
            context_tokens=self.settings.prompt.context_tokens,
            source_tokens=self.settings.prompt.source_tokens,
        )

    def current_adapter(self) -> Adapter | None:
        """The adapter the registry (or the caller) names now; None: the base model."""
        return adapter_of(*self.adapter_choice()) if self.adapter_choice is not None else None

    def prepare(self) -> Adapter | None:
        """Have the backend ready to serve the current adapter (blocks until it is)."""
        adapter = self.current_adapter()
        self.model.prepare(adapter)
        return adapter


def source_texts(sources: list[SourceRef]) -> dict[int, str]:
    return {s.n: s.text for s in sources}


def narrowed_sources(sources: list[SourceRef], texts: dict[int, str]) -> list[SourceRef]:
    """The sources that hold evidence, each with its evidence only (numbers kept)."""
    return [dataclasses.replace(s, text=texts[s.n]) for s in sources if s.n in texts]


def _checked_piece(piece: str, separator: str, texts: dict[int, str], removed: list[int]) -> str:
    if recites_policy(piece, POLICY_RUNS):
        return separator
    checked = check_citations(piece, texts)
    removed.extend(checked.removed_markers)
    return checked.text + separator if checked.text else separator


def _seconds(ms: float | None) -> float | None:
    return None if ms is None else round(ms / 1000, 3)
