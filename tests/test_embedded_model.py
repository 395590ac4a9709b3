"""The real embedded SmolLM2 and the real MiniLM, end to end (slow: runs in CI)."""

import shutil
from pathlib import Path

import pytest

from assistant import model_prep
from assistant.app import open_engine, shipped_corpora
from assistant.prompt import DECLINE_ANSWER
from assistant.settings import load_settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def prepared_home(tmp_path_factory) -> Path:
    """A data dir holding the embedded model, converted once for the whole session."""
    home = tmp_path_factory.mktemp("embedded-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DESKLOOP_HOME", str(home))
        model_prep.prepare_base_model(load_settings())
    return home


@pytest.fixture
def embedded_settings(prepared_home, monkeypatch, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(prepared_home / "models", home / "models")
    monkeypatch.setenv("DESKLOOP_HOME", str(home))
    monkeypatch.setenv("DESKLOOP_GENERATION__MAX_NEW_TOKENS", "48")
    return load_settings()


def test_preparation_is_reused_without_converting_again(embedded_settings, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("converted the model a second time")

    monkeypatch.setattr(model_prep, "convert_embedded", fail)
    ref = model_prep.prepare_base_model(embedded_settings)
    assert ref.prepared and "SmolLM2-135M-Instruct" in ref.model_id
    assert len(ref.sha256) == 64
    assert (Path(ref.location) / "model.safetensors").is_file()


def test_grounded_answer_is_produced_and_recorded_with_provenance(embedded_settings):
    from assistant.app import open_knowledge_base

    manuals = shipped_corpora() / "manuals"
    report = open_knowledge_base(embedded_settings).ingest(
        [manuals / "account-password-reset.md", manuals / "cloud-refund-policy.md"]
    )
    assert report.ok and report.chunks_added > 0

    engine = open_engine(embedded_settings)
    stream = engine.ask("How do I reset my password?")
    answer = stream.text()
    result = stream.result
    assert len(answer.split()) >= 5
    assert result.status == "complete"
    assert result.sources and Path(result.sources[0].source).name == "account-password-reset.md"
    recorded = engine.store.turn(result.turn_id)
    assert recorded.content == answer
    assert "SmolLM2-135M-Instruct" in recorded.model_id
    assert recorded.sources[0].similarity >= embedded_settings.retrieval.min_similarity
    assert recorded.completion_tokens > 0 and recorded.first_token_ms > 0

    unanswerable = engine.ask("Does the camera work with my car's dashboard screen?")
    assert unanswerable.text() == DECLINE_ANSWER
    assert unanswerable.result.status == "declined"
