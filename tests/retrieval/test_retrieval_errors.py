"""retrieval's failures share one base class that the command line turns into one line."""

from pathlib import Path

import pytest

from retrieval import IndexSettings, RetrievalError
from retrieval.store.chroma_index import EmbeddingModelMismatchError


@pytest.mark.parametrize(
    "values",
    [{"chunk_tokens": 8}, {"chunk_tokens": 64, "chunk_overlap": 64}, {"max_file_mb": 0}],
)
def test_invalid_index_settings_are_retrieval_errors(values):
    with pytest.raises(RetrievalError):
        IndexSettings(directory=Path("index"), **values)


def test_embedding_model_mismatch_is_a_retrieval_error():
    assert issubclass(EmbeddingModelMismatchError, RetrievalError)
