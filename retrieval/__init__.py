"""Retrieval for deskloop: load manuals and tickets, chunk, embed, index, and search them.

Depends on none of deskloop's other packages.
"""

from retrieval.errors import RetrievalError
from retrieval.knowledge_base import KnowledgeBase
from retrieval.query import build_query
from retrieval.settings import IndexSettings
from retrieval.types import (
    FileIssue,
    Hit,
    IngestEvent,
    IngestReport,
    SourceInfo,
    UnknownSourceError,
)

__all__ = [
    "FileIssue",
    "Hit",
    "IndexSettings",
    "IngestEvent",
    "IngestReport",
    "KnowledgeBase",
    "RetrievalError",
    "SourceInfo",
    "UnknownSourceError",
    "build_query",
]
