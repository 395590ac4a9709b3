"""An index a failed run created, holding nothing, does not bind the embedding model.

Found by the bad-input suite: `deskloop search` with a missing embedding model created the
collection labelled with that model before failing, and every later ingest with the right
model then failed with "built with embedding model ...".
"""

from __future__ import annotations

import pytest

from retrieval import IndexSettings
from retrieval.store.chroma_index import ChromaIndex, EmbeddingModelMismatchError


def test_an_empty_collection_takes_the_model_in_use(tmp_path):
    settings = IndexSettings(directory=tmp_path / "index")
    assert ChromaIndex(settings, "/no/such/model").count() == 0  # created, nothing embedded

    index = ChromaIndex(settings, "all-MiniLM-L6-v2")
    index.upsert(["c1"], [[1.0, 0.0, 0.0]], ["text"], [{"source": "a.md"}])
    assert index.collection.metadata["embedding_model"] == "all-MiniLM-L6-v2"

    with pytest.raises(EmbeddingModelMismatchError):  # now it holds vectors: bound
        _ = ChromaIndex(settings, "another-model").collection
