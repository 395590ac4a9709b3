"""The real transformers path on the tiny random-weight Llama."""

import threading

import pytest
import torch

from assistant.backends import Adapter
from assistant.errors import DeskloopError
from assistant.hf_model import HFChatModel
from assistant.model_prep import resolve_base_model
from assistant.settings import GenerationSettings, load_settings

MESSAGES = [
    {"role": "system", "content": "You are a support assistant."},
    {"role": "user", "content": "How do I reset my password?"},
]


@pytest.fixture
def tiny(tiny_model_dir, monkeypatch) -> HFChatModel:
    monkeypatch.setenv("DESKLOOP_MODEL", str(tiny_model_dir))
    settings = load_settings()
    return HFChatModel.load(settings, resolve_base_model(settings))


def greedy(max_new_tokens=12) -> GenerationSettings:
    return GenerationSettings(max_new_tokens=max_new_tokens, temperature=0.0)


def make_adapter(model: HFChatModel, folder, seed: int):
    """A LoRA adapter with random (non-zero) weights for the same tiny base."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(model.base.location)
    config = LoraConfig(r=4, target_modules="all-linear", init_lora_weights=False)
    get_peft_model(base, config).save_pretrained(folder)
    return folder


def next_token_logits(model: HFChatModel) -> torch.Tensor:
    inputs = model.tokenizer.apply_chat_template(
        MESSAGES, add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    with torch.no_grad():
        if model.adapter_version is None and model._loaded_adapters:
            with model.model.disable_adapter():
                return model.model(**inputs).logits[0, -1]
        return model.model(**inputs).logits[0, -1]


def test_streams_text_chunks_up_to_the_token_cap(tiny):
    chunks = list(tiny.stream(MESSAGES, greedy(12), None, threading.Event()))
    text = "".join(chunks)
    assert text
    assert tiny.counter.count_text(text) <= 14  # byte-level merges may split a token across chunks


def test_greedy_generation_is_deterministic(tiny):
    first = "".join(tiny.stream(MESSAGES, greedy(10), None, threading.Event()))
    second = "".join(tiny.stream(MESSAGES, greedy(10), None, threading.Event()))
    assert first == second


def test_cancel_stops_generation_promptly(tiny):
    cancel = threading.Event()
    chunks = []
    for chunk in tiny.stream(MESSAGES, greedy(2000), None, cancel):
        chunks.append(chunk)
        if len(chunks) == 3:
            cancel.set()
    assert 3 <= len(chunks) <= 6


def test_abandoning_the_stream_ends_the_worker(tiny):
    stream = tiny.stream(MESSAGES, greedy(2000), None, threading.Event())
    next(stream)
    stream.close()
    assert not any(t.name == "deskloop-generate" for t in threading.enumerate())


def test_counts_and_truncates_with_the_real_tokenizer(tiny):
    assert tiny.counter.count_messages(MESSAGES) > tiny.counter.count_text(MESSAGES[1]["content"])
    cut = tiny.counter.truncate("Refunds arrive in five to ten business days " * 20, 8)
    assert tiny.counter.count_text(cut.removesuffix(" ...")) <= 8


def test_adapters_switch_at_run_time_without_reloading_the_base(tiny, tmp_path):
    base_logits = next_token_logits(tiny)
    base_weights = tiny.model.get_input_embeddings().weight
    tiny.use_adapter("v0001", make_adapter(tiny, tmp_path / "a1", seed=1))
    first = next_token_logits(tiny)
    tiny.use_adapter("v0002", make_adapter(tiny, tmp_path / "a2", seed=2))
    second = next_token_logits(tiny)
    assert not torch.allclose(first, base_logits)
    assert not torch.allclose(first, second)
    assert tiny.model.get_input_embeddings().weight is base_weights  # same base tensors
    tiny.use_adapter("v0001")  # already loaded: no path needed
    assert torch.allclose(next_token_logits(tiny), first)
    tiny.use_adapter(None)
    assert torch.allclose(next_token_logits(tiny), base_logits)
    assert "".join(tiny.stream(MESSAGES, greedy(5), None, threading.Event()))


def test_an_adapter_folder_without_peft_files_is_a_clear_error(tiny, tmp_path):
    with pytest.raises(DeskloopError, match="no PEFT files"):
        tiny.use_adapter("v0009", tmp_path)


def lora_adapter_names(model: HFChatModel) -> set[str]:
    """The adapters whose LoRA weights are in memory, from the layers themselves."""
    return {name for m in model.model.modules() if hasattr(m, "lora_A") for name in m.lora_A}


def test_only_the_adapter_in_service_stays_loaded(tiny, tmp_path):
    versions = ("v0001", "v0002", "v0003")
    paths = {v: make_adapter(tiny, tmp_path / v, seed=i) for i, v in enumerate(versions, 1)}
    for version in versions:
        tiny.use_adapter(version, paths[version])
        assert lora_adapter_names(tiny) == {version}
    third = next_token_logits(tiny)

    tiny.use_adapter("v0001")  # unloaded meanwhile: reloaded from the folder it came from
    assert lora_adapter_names(tiny) == {"v0001"}
    tiny.use_adapter("v0003")
    assert torch.allclose(next_token_logits(tiny), third)

    tiny.use_adapter(None)
    assert lora_adapter_names(tiny) == set()
    assert "".join(tiny.stream(MESSAGES, greedy(5), None, threading.Event()))
    tiny.use_adapter("v0003")
    assert torch.allclose(next_token_logits(tiny), third)


def answer(model: HFChatModel, adapter: Adapter | None) -> str:
    return "".join(model.stream(MESSAGES, greedy(8), adapter, threading.Event()))


def test_each_call_names_its_adapter_and_at_most_one_stays_loaded(tiny, tmp_path):
    first = Adapter("v0001", make_adapter(tiny, tmp_path / "a1", seed=1))
    second = Adapter("v0002", make_adapter(tiny, tmp_path / "a2", seed=2))
    base = answer(tiny, None)
    with_first = answer(tiny, first)
    assert lora_adapter_names(tiny) == {"v0001"}
    with_second = answer(tiny, second)
    assert lora_adapter_names(tiny) == {"v0002"}
    assert len({base, with_first, with_second}) == 3  # each call got its own weights
    assert answer(tiny, first) == with_first  # reloaded from its folder
    assert tiny.score(MESSAGES, [with_second], second) != tiny.score(MESSAGES, [with_second], None)
    assert lora_adapter_names(tiny) == set()  # the base call left the base bare
    assert answer(tiny, None) == base


def test_an_adapter_without_peft_files_fails_the_call_clearly(tiny, tmp_path):
    with pytest.raises(DeskloopError, match="no PEFT files"):
        answer(tiny, Adapter("v0009", tmp_path))
