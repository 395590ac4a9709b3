"""Settings for one retrieval index."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from retrieval.errors import InvalidIndexSettings


@dataclass(frozen=True)
class IndexSettings:
    """Where the index lives and how documents are cut and embedded.

    ``directory`` always holds the BM25 files; it also holds the Chroma database unless
    ``chroma_host``/``chroma_port`` point at a Chroma server.
    """

    directory: Path
    chroma_host: str | None = None
    chroma_port: int | None = None
    collection: str = "deskloop"
    embedding_model: str | None = None  # None: the packaged all-MiniLM-L6-v2
    chunk_tokens: int = 200  # measured in the embedding model's tokens
    chunk_overlap: int = 30
    max_file_mb: float = 20.0
    device: str = "cpu"

    def __post_init__(self) -> None:
        object.__setattr__(self, "directory", Path(self.directory).expanduser())
        if self.chunk_tokens < 16:
            raise InvalidIndexSettings(f"chunk_tokens must be at least 16, got {self.chunk_tokens}")
        if not 0 <= self.chunk_overlap < self.chunk_tokens:
            raise InvalidIndexSettings(
                f"chunk_overlap must be between 0 and chunk_tokens ({self.chunk_tokens}), "
                f"got {self.chunk_overlap}"
            )
        if self.max_file_mb <= 0:
            raise InvalidIndexSettings(f"max_file_mb must be positive, got {self.max_file_mb}")

    @property
    def uses_server(self) -> bool:
        return self.chroma_host is not None or self.chroma_port is not None

    @property
    def chroma_directory(self) -> Path:
        return self.directory / "chroma"

    @property
    def bm25_directory(self) -> Path:
        return self.directory / "bm25"
