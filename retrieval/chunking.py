"""Cut loaded sections into chunks sized in the embedding model's tokens."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from langchain_text_splitters import RecursiveCharacterTextSplitter

from retrieval.loaders import HEADING_SEPARATOR, LoadedDocument, Section

MetadataValue = str | int | float | bool


@dataclass(frozen=True)
class Chunk:
    id: str
    text: str  # what is shown to the user and stored in Chroma
    metadata: dict[str, MetadataValue]

    @property
    def embedding_text(self) -> str:
        return embedding_text(
            str(self.metadata.get("title", "")), str(self.metadata.get("section", "")), self.text
        )


def heading(title: str, section: str) -> str:
    """The title, then the section's headings under it (the title once where both name it)."""
    trail = section
    if title and trail.startswith(title):
        trail = trail[len(title) :].removeprefix(HEADING_SEPARATOR)
    return HEADING_SEPARATOR.join(part for part in (title, trail) if part)


def embedding_text(title: str, section: str, text: str) -> str:
    """The text that is embedded and BM25-indexed: the chunk under its title and heading."""
    header = heading(title, section)
    return f"{header}\n{text}" if header else text


def chunk_id(source: str, content_hash: str, index: int) -> str:
    source_key = hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]
    return f"{source_key}-{content_hash[:16]}-{index:05d}"


class Chunker:
    def __init__(self, tokenizer: Any, chunk_tokens: int, chunk_overlap: int) -> None:
        self.tokenizer = tokenizer
        self.chunk_tokens = chunk_tokens
        # Sized like from_huggingface_tokenizer, without its warning about texts longer
        # than the model's maximum (whole sections are measured before they are split).
        self.splitter = RecursiveCharacterTextSplitter(
            chunk_size=chunk_tokens, chunk_overlap=chunk_overlap, length_function=self.count_tokens
        )

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    def split(self, text: str) -> list[str]:
        text = text.strip()
        if self.count_tokens(text) <= self.chunk_tokens:  # short records stay whole
            return [text] if text else []
        return [piece.strip() for piece in self.splitter.split_text(text) if piece.strip()]

    def chunk(self, document: LoadedDocument, kind: str, content_hash: str) -> list[Chunk]:
        pieces: list[tuple[Section, str]] = [
            (section, piece) for section in document.sections for piece in self.split(section.text)
        ]
        chunks = []
        for index, (section, text) in enumerate(pieces):
            metadata: dict[str, MetadataValue] = {
                **section.metadata,
                "source": document.source,
                "kind": kind,
                "title": section.title or document.title,
                "section": section.heading,
                "record_id": section.record_id or _manual_record_id(document.source, section),
                "content_hash": content_hash,
                "chunk_index": index,
                "chunk_count": len(pieces),
            }
            if section.page is not None:
                metadata["page"] = section.page
            chunks.append(Chunk(chunk_id(document.source, content_hash, index), text, metadata))
        return chunks


def _manual_record_id(source: str, section: Section) -> str:
    if section.page is not None:
        return f"{source}#page={section.page}"
    return f"{source}#{section.heading}" if section.heading else source
