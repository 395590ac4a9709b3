import numpy as np

from retrieval.embeddings import Embedder


def test_batching_by_length_keeps_the_input_order(embedder: Embedder) -> None:
    texts = ["short", "a much longer text about resetting the router to factory settings", "mid"]
    together = embedder.embed(texts, batch_size=2)
    one_by_one = np.vstack([embedder.embed([text]) for text in texts])
    assert np.allclose(together, one_by_one, atol=1e-5)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)


def test_embeddings_of_repeated_texts_are_remembered(embedder: Embedder, monkeypatch) -> None:
    first = embedder.embed_remembered(["refund time", "printer jam", "refund time"])
    assert np.allclose(first[0], first[2])
    assert np.allclose(first[1], embedder.embed(["printer jam"])[0], atol=1e-5)
    monkeypatch.setattr(embedder, "embed", lambda *args, **kwargs: 1 / 0)
    assert np.allclose(embedder.embed_query("printer jam"), first[1])
