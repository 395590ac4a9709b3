"""What a loader returns: a source file cut into sections (or records) before chunking."""

from __future__ import annotations

from dataclasses import dataclass, field

MetadataValue = str | int | float | bool


class LoadError(Exception):
    """A file that cannot be indexed. The message is one line: what is wrong, what to do."""


@dataclass
class Section:
    """A stretch of text under one heading, one PDF page, or one ticket record."""

    text: str
    heading: str = ""  # heading trail, e.g. "Ignoring Files > Patterns"
    page: int | None = None
    record_id: str | None = None  # set by record loaders; manuals derive it from the heading
    title: str | None = None  # a record's own title; manuals use the document title
    metadata: dict[str, MetadataValue] = field(default_factory=dict)


@dataclass
class LoadedDocument:
    source: str
    title: str
    sections: list[Section]
    warnings: list[str] = field(default_factory=list)
