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

    steps: list[str] = []
    engine = open_engine(embedded_settings, steps.append)
    # the first question does not wait for the embedding model: it loads with the engine
    assert steps[-2:] == ["Opening the knowledge base", "Loading the embedding model"]
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


@pytest.fixture
def korvo_engine(embedded_settings):
    """The app's engine on the whole shipped knowledge base, as `make run` builds it."""
    from assistant.app import open_knowledge_base

    knowledge_base = open_knowledge_base(embedded_settings)
    assert knowledge_base.ingest([shipped_corpora() / "manuals"]).ok
    assert knowledge_base.ingest([shipped_corpora() / "tickets"], tickets=True).ok
    return open_engine(embedded_settings)


def test_the_lost_2fa_phone_question_gets_the_recovery_steps_cited(korvo_engine):
    stream = korvo_engine.ask(
        "my old phone with the authenticator app died and i never saved those backup codes, "
        "how do i get back into my account??"
    )
    answer = stream.text()
    result = stream.result
    assert result.status == "complete"
    assert "Request account recovery" in answer or "account recovery" in answer.lower()
    cited = result.grounding["cited"]
    assert cited and all(1 <= n <= len(result.sources) for n in cited)
    cited_files = {Path(result.sources[n - 1].source).name for n in cited}
    assert cited_files <= {"account-two-factor-authentication.md", "tickets.csv"}
    assert all(s["supported"] for s in result.grounding["sentences"])


def test_an_in_domain_question_the_sources_do_not_answer_is_declined(korvo_engine):
    stream = korvo_engine.ask("Can I pay for my Korvo Cloud subscription with Bitcoin?")
    assert stream.text() == DECLINE_ANSWER
    assert stream.result.status == "declined"
    assert "bitcoin" in stream.result.grounding["declined"]["unknown"]


def test_a_process_that_ends_while_the_serving_copy_builds_exits_cleanly(embedded_settings):
    """The fp16 serving copy builds in a daemon thread; ending the process in the middle of it
    used to abort it ("terminate called without an active exception", exit status 134)."""
    import os
    import subprocess
    import sys

    script = (
        "from assistant.app import open_engine\n"
        "from assistant.settings import load_settings\n"
        "engine = open_engine(load_settings(), grounded=False)\n"
        "assert engine.model.describe(None) == 'plain', 'the copy was built already'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "DESKLOOP_SERVING": "fp16-weights"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "terminate called" not in done.stderr
