"""Eval answers the way agents get them: a ChatEngine over the backend that serves them.

The backend is the one the `serving` setting names (assistant/backends): the transformers
model's serving copy once built for the adapter being evaluated, or the OpenAI-compatible
server with that adapter registered; the engine picks the evidence, declines what the sources
do not answer and checks the citations, as in the app. A row that carries its own sources is
answered from them; other rows retrieve from the knowledge base when one is indexed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from assistant.backends import Adapter, Backend, adapter_of
from assistant.engine import AnswerResult, ChatEngine, Retriever
from assistant.model_prep import BaseModelRef
from assistant.settings import Settings
from assistant.store import SourceRef, Store
from tuning.evaluate import EvalExample


class GivenSources:
    """A retriever that returns an eval row's own sources (all of them, numbered in order)."""

    def __init__(self, sources: Sequence[Mapping[str, Any]]):
        self.sources = list(sources)

    def retrieve(self, messages: list[dict], k: int) -> list[SourceRef]:
        return [given_source(n, s) for n, s in enumerate(self.sources, start=1)]


def given_source(n: int, source: Mapping[str, Any]) -> SourceRef:
    """A dataset record's source ({n, title, text}) or a retrieved one's dict, as a SourceRef."""
    name = str(source.get("source") or source.get("title") or f"source {n}")
    return SourceRef(
        n=n,
        chunk_id=str(source.get("chunk_id") or name),
        source=name,
        title=str(source.get("title") or ""),
        section=str(source.get("section") or ""),
        record_id=source.get("record_id"),
        kind=source.get("kind"),
        text=str(source["text"]),
    )


class EvalAnswerer:
    def __init__(
        self,
        model: Backend,
        settings: Settings,
        retriever: Retriever | None = None,
        grounder=None,
        knowledge_base=None,
    ):
        self.model = model
        self.settings = settings
        self.retriever = retriever  # for rows without sources; None: they get none
        self.grounder = grounder
        self.knowledge_base = knowledge_base
        self.store = Store(Path(":memory:"))  # the engine records every answer; keep them apart
        self.adapter: Adapter | None = None

    def use(self, version: str | None, path: Path | None = None) -> None:
        """Answer with adapter ``version`` (None: the base), once the backend serves it."""
        self.adapter = adapter_of(version, path)
        self.model.prepare(self.adapter)

    @property
    def served_form(self) -> str:
        """The form answers come from now (plain when a serving copy failed to build)."""
        return self.model.describe(self.adapter)

    def answer(self, example: EvalExample) -> AnswerResult:
        retriever = GivenSources(example.sources) if example.sources else self.retriever
        # No approved answers: they come from the flagged conversations the eval split holds,
        # so serving one would score a reference against itself.
        engine = ChatEngine(
            self.model,
            self.store,
            self.settings,
            retriever,
            adapter_choice=lambda: (
                (self.adapter.version, self.adapter.path) if self.adapter else (None, None)
            ),
            grounder=self.grounder,
        )
        history = [m for m in example.prompt[:-1] if m["role"] != "system"]
        stream = engine.ask(example.prompt[-1]["content"], history=history)
        stream.text()
        return stream.result

    def close(self) -> None:
        self.store.close()


def eval_settings(settings: Settings, max_new_tokens: int | None) -> Settings:
    if not max_new_tokens:
        return settings
    changed = settings.model_copy(deep=True)
    changed.generation.max_new_tokens = max_new_tokens
    return changed


def indexed_knowledge_base(settings: Settings):
    """The knowledge base when something is indexed, else None (nothing is created)."""
    if not settings.paths.index.exists():
        return None
    from assistant.app import open_knowledge_base

    knowledge_base = open_knowledge_base(settings)
    return None if knowledge_base.is_empty() else knowledge_base


def open_answerer(settings: Settings, base: BaseModelRef, retrieve: bool = True) -> EvalAnswerer:
    """The served model, with the knowledge base's retriever and answer layer as the app has
    them (``retrieve``: whether rows without sources retrieve)."""
    from assistant.answering.grounder import knowledge_base_grounder
    from assistant.backends import open_backend
    from assistant.grounding import KnowledgeBaseRetriever

    model = open_backend(settings, base)
    knowledge_base = indexed_knowledge_base(settings)
    if knowledge_base is None:
        return EvalAnswerer(model, settings)
    grounder = knowledge_base_grounder(knowledge_base, settings.answers)
    retriever = KnowledgeBaseRetriever(knowledge_base) if retrieve else None
    return EvalAnswerer(model, settings, retriever, grounder, knowledge_base)
