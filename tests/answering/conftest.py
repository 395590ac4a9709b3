import pytest

from retrieval.embeddings import shared_embedder


@pytest.fixture(scope="session")
def embedder():
    """The packaged MiniLM (the knowledge base's own embedder)."""
    return shared_embedder(None, "cpu")


@pytest.fixture(scope="session")
def embed(embedder):
    return embedder.embed
