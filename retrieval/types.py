"""Values the retrieval package hands to its callers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Kind = Literal["manual", "ticket"]
KINDS: tuple[str, ...] = ("manual", "ticket")
IngestStage = Literal["load", "embed", "write"]


@dataclass
class Hit:
    """One retrieved chunk."""

    id: str
    record_id: str
    source: str
    title: str
    section: str
    kind: str
    page: int | None
    score: float  # fused rank score: only comparable within one result list
    similarity: float  # dense cosine similarity of query and chunk: an absolute relevance bar
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)  # other record fields (product...)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FileIssue:
    path: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}


@dataclass
class IngestReport:
    files_seen: int = 0
    files_indexed: int = 0  # new or changed files written in this run
    files_unchanged: int = 0
    chunks_added: int = 0
    chunks_replaced: int = 0  # old chunks of changed files that were deleted
    chunks_unchanged: int = 0
    failed: list[FileIssue] = field(default_factory=list)
    skipped: list[FileIssue] = field(default_factory=list)  # unsupported extensions
    warnings: list[FileIssue] = field(default_factory=list)  # indexed, but look at these

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "files_seen": self.files_seen,
            "files_indexed": self.files_indexed,
            "files_unchanged": self.files_unchanged,
            "chunks_added": self.chunks_added,
            "chunks_replaced": self.chunks_replaced,
            "chunks_unchanged": self.chunks_unchanged,
            "failed": [issue.to_dict() for issue in self.failed],
            "skipped": [issue.to_dict() for issue in self.skipped],
            "warnings": [issue.to_dict() for issue in self.warnings],
        }


@dataclass(frozen=True)
class IngestEvent:
    """Progress of an ingest: ``done`` out of ``total`` files (load) or chunks (embed, write)."""

    stage: IngestStage
    done: int
    total: int
    current: str | None = None  # the file being worked on


@dataclass(frozen=True)
class SourceInfo:
    source: str
    kind: str
    chunks: int
    title: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class UnknownSourceError(KeyError):
    """``remove`` was given a source that is not in the index."""

    def __str__(self) -> str:  # KeyError would print the repr of the message
        return str(self.args[0]) if self.args else "unknown source"
