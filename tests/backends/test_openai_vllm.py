"""serving = "openai" against a real vLLM server (CPU build) on loopback, with the embedded
model and a LoRA adapter registered at run time (slow: runs in CI, where `make server`
builds the server's venv)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
import torch
from vllm_server import SERVED_NAME, VLLMServer, server_python

from assistant.answering.grounder import Grounder
from assistant.backends import Adapter, open_backend
from assistant.backends.server_adapters import adapter_name
from assistant.engine import ChatEngine
from assistant.hf_model import HFChatModel
from assistant.model_prep import prepare_base_model
from assistant.settings import GenerationSettings, load_settings
from assistant.store import SourceRef, Store

pytestmark = [
    pytest.mark.slow,
    # CI builds the server venv (.ci/run runs `make server`): there a missing one fails
    pytest.mark.skipif(
        server_python() is None and not os.environ.get("CI"),
        reason="no server venv: run `make server`",
    ),
]

RECOVERY = (
    "If you have no backup codes left, tap Can't get a code? and choose Request account "
    "recovery. Korvo Support will contact you by email to verify your identity."
)
PAYMENTS = "You can pay with Visa, Mastercard, PayPal and SEPA Direct Debit."
KNOWN_WORDS = "pay visa paypal code backup account recoveri phone korvo"
VOCABULARY = frozenset(KNOWN_WORDS.split())
QUESTION = "Which cards can I pay with?"


class ListRetriever:
    def retrieve(self, messages, k):
        texts = enumerate((PAYMENTS, RECOVERY), start=1)
        return [
            SourceRef(n=i, chunk_id=f"c{i}", source=f"m{i}", title=f"P{i}", similarity=0.7, text=t)
            for i, t in texts
        ][:k]


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("openai-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DESKLOOP_HOME", str(home))
        prepare_base_model(load_settings())
    return home


@pytest.fixture(scope="module")
def server(home, tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DESKLOOP_HOME", str(home))
        model_dir = prepare_base_model(load_settings()).location
    log = tmp_path_factory.mktemp("vllm") / "server.log"
    server = VLLMServer(server_python(), model_dir, log)
    try:
        server.wait_until_up()
        yield server
    finally:
        server.stop()


@pytest.fixture
def settings(home, server, monkeypatch):
    monkeypatch.setenv("DESKLOOP_HOME", str(home))
    monkeypatch.setenv("DESKLOOP_SERVING", "openai")
    monkeypatch.setenv("DESKLOOP_OPENAI__BASE_URL", server.base_url)
    monkeypatch.setenv("DESKLOOP_GENERATION__MAX_NEW_TOKENS", "32")
    monkeypatch.setenv("DESKLOOP_ANSWERS__COMPOSE", "free")
    return load_settings()


def make_adapter(location: str, folder: Path) -> Path:
    """A LoRA adapter (r=8) big enough to change greedy answers."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(5)
    config = LoraConfig(r=8, lora_alpha=16, target_modules="all-linear", init_lora_weights=False)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(location), config)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.mul_(0.5)
    model.save_pretrained(folder)
    return folder


def engine_over(settings, backend, tmp_path) -> ChatEngine:
    from retrieval.embeddings import shared_embedder

    embedder = shared_embedder(None, "cpu")
    grounder = Grounder(embedder.embed, settings.answers, lambda: VOCABULARY, embedder.is_rare_word)
    store = Store(tmp_path / "chat.db")
    return ChatEngine(backend, store, settings, ListRetriever(), grounder=grounder)


def test_a_grounded_cited_answer_and_an_adapter_come_through_the_server(settings, server, tmp_path):
    base = prepare_base_model(settings)
    backend = open_backend(settings, base)
    engine = engine_over(settings, backend, tmp_path)

    plain = engine.ask(QUESTION)
    plain.text()
    result = plain.result
    assert backend.requested_models == [SERVED_NAME]  # first model the server lists
    assert result.status == "complete" and result.timings["prompt_tokens"] > 0
    assert result.grounding["cited"] == [1] and "[1]" in result.answer
    assert type(backend.counter).__name__ == "TokenizerCounter"  # the local tokenizer

    adapter = Adapter("v0001", make_adapter(base.location, tmp_path / "adapters" / "v0001"))
    engine.adapter_choice = lambda: (adapter.version, adapter.path)
    adapted = engine.ask(QUESTION)
    adapted.text()
    name = adapter_name(adapter)
    assert backend.requested_models[-1] == name and name in server.models()
    assert adapted.result.adapter == "v0001"
    assert adapted.result.answer != result.answer

    # the server's text with the adapter is what transformers+peft says on the same prompt
    messages = engine.build_messages(QUESTION, [], ListRetriever().retrieve([], 2))
    options = GenerationSettings(max_new_tokens=24, temperature=0.0)
    served = "".join(backend.stream(messages, options, adapter, threading.Event()))
    local = HFChatModel.load(settings.model_copy(update={"serving": "plain"}), base)
    expected = "".join(local.stream(messages, options, adapter, threading.Event()))
    base_text = "".join(local.stream(messages, options, None, threading.Event()))
    assert served.strip() == expected.strip() != base_text.strip()


def test_cancel_stops_the_server_stream_promptly(settings):
    backend = open_backend(settings, prepare_base_model(settings))
    cancel = threading.Event()
    options = GenerationSettings(max_new_tokens=1500, temperature=0.0)
    messages = [{"role": "user", "content": "Write a very long story about a lighthouse."}]
    chunks = []
    for chunk in backend.stream(messages, options, None, cancel):
        chunks.append(chunk)
        if len(chunks) == 3:
            cancel.set()
    assert len(chunks) == 3
