"""The Chroma side of the index."""

from retrieval.store.chroma_index import ChromaIndex, StoredChunk

__all__ = ["ChromaIndex", "StoredChunk"]
