"""The engine's retriever, backed by the knowledge base in `retrieval`."""

from __future__ import annotations

from assistant.store import SourceRef


class KnowledgeBaseRetriever:
    def __init__(self, knowledge_base):
        self.knowledge_base = knowledge_base

    def retrieve(self, messages: list[dict], k: int) -> list[SourceRef]:
        from retrieval import build_query

        hits = self.knowledge_base.search(build_query(messages), k=k)
        return [
            SourceRef(
                n=rank,
                chunk_id=hit.id,
                source=str(hit.source),
                title=hit.title or "",
                section=hit.section or "",
                record_id=hit.record_id,
                kind=hit.kind,
                score=round(float(hit.score), 4),
                similarity=round(float(hit.similarity), 4),
                text=hit.text,
            )
            for rank, hit in enumerate(hits, start=1)
        ]
