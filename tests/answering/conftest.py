import pytest

from retrieval.embeddings import shared_embedder


@pytest.fixture(scope="session")
def embed():
    """The packaged MiniLM (the knowledge base's own embedder)."""
    return shared_embedder(None, "cpu").embed
