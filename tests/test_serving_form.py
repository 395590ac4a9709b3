"""The fp16-weights serving form: a merged copy that streams, cancels, follows adapters, agrees."""

import logging
import threading
import time

import pytest
import torch
from torch import nn

from assistant import hf_model, int4_linear
from assistant.backends import Adapter
from assistant.hf_model import HFChatModel
from assistant.lean_llama import LeanLlama
from assistant.model_prep import prepare_base_model, resolve_base_model
from assistant.serving_form import (
    FP16_WEIGHTS,
    INT4_WEIGHTS,
    PLAIN,
    BuildSuperseded,
    Fp16WeightLinear,
    build_serving_copy,
    choose_form,
    fp16_weight_copy,
    fp16_weights_supported,
)
from assistant.settings import GenerationSettings, load_settings

pytestmark = pytest.mark.skipif(not fp16_weights_supported(), reason="needs fbgemm (x86 CPU)")

MESSAGES = [
    {"role": "system", "content": "You are a support assistant."},
    {"role": "user", "content": "How do I reset my password?"},
]


def load(model_dir, monkeypatch, serving: str) -> HFChatModel:
    monkeypatch.setenv("DESKLOOP_MODEL", str(model_dir))
    monkeypatch.setenv("DESKLOOP_SERVING", serving)
    settings = load_settings()
    model = HFChatModel.load(settings, resolve_base_model(settings))
    assert model.wait_for_serving_form(timeout=120)
    return model


@pytest.fixture
def served(tiny_model_dir, monkeypatch) -> HFChatModel:
    return load(tiny_model_dir, monkeypatch, FP16_WEIGHTS)


def greedy(max_new_tokens: int) -> GenerationSettings:
    return GenerationSettings(max_new_tokens=max_new_tokens, temperature=0.0)


def make_adapter(model: HFChatModel, folder, seed: int):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(model.base.location)
    config = LoraConfig(r=4, target_modules="all-linear", init_lora_weights=False)
    get_peft_model(base, config).save_pretrained(folder)
    return folder


def logits(module, tokenizer) -> torch.Tensor:
    inputs = tokenizer.apply_chat_template(
        MESSAGES, add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    if isinstance(module, LeanLlama):
        return module.logits(inputs["input_ids"][0])
    with torch.no_grad():
        return module(**inputs).logits[0, -1]


def reference_logits(model: HFChatModel) -> torch.Tensor:
    """What the model as loaded (PEFT, unmerged, fp32) gives for the active adapter."""
    if model.adapter_version is None and model._loaded_adapters:
        with model.model.disable_adapter():
            return logits(model.model, model.tokenizer)
    return logits(model.model, model.tokenizer)


def assert_close(actual: torch.Tensor, expected: torch.Tensor) -> None:
    assert torch.allclose(actual, expected, atol=5e-3 * expected.abs().max().item())


@pytest.mark.parametrize("bf16_cpu", [True, False])
def test_auto_picks_fp16_weights_only_for_an_fp32_model_on_the_cpu(bf16_cpu, monkeypatch):
    monkeypatch.setattr(int4_linear, "int4_supported", lambda: bf16_cpu)
    assert choose_form("auto", "cpu", torch.float32, False) == FP16_WEIGHTS
    assert choose_form(FP16_WEIGHTS, "cpu", torch.float32, False) == FP16_WEIGHTS
    assert choose_form("auto", "cpu", torch.bfloat16, False) == PLAIN
    assert choose_form("auto", "cuda", torch.float32, False) == PLAIN
    assert choose_form("auto", "cpu", torch.float32, True) == PLAIN
    assert choose_form("plain", "cpu", torch.float32, False) == PLAIN
    with pytest.raises(ValueError, match="fp32 model on the CPU"):
        choose_form(FP16_WEIGHTS, "cuda", torch.bfloat16, False)
    if bf16_cpu:
        assert choose_form(INT4_WEIGHTS, "cpu", torch.float32, False) == INT4_WEIGHTS
    else:
        with pytest.raises(ValueError, match="bf16 arithmetic"):
            choose_form(INT4_WEIGHTS, "cpu", torch.float32, False)


def test_the_copy_replaces_every_linear_and_shares_the_rest(served):
    copy = fp16_weight_copy(served.model)
    assert not any(isinstance(m, nn.Linear) for m in copy.modules())
    assert isinstance(copy.lm_head, Fp16WeightLinear)
    embeddings = copy.get_input_embeddings().weight
    assert embeddings is served.model.get_input_embeddings().weight
    assert_close(logits(copy, served.tokenizer), reference_logits(served))


def test_a_llama_is_served_by_the_lean_runner_with_fused_projections(served):
    lean = served.serving
    assert isinstance(lean, LeanLlama)
    assert lean.embed.data_ptr() == served.model.get_input_embeddings().weight.data_ptr()
    config = served.model.config
    layer = lean.layers[0]
    head_dim = config.hidden_size // config.num_attention_heads
    qkv_rows = (config.num_attention_heads + 2 * config.num_key_value_heads) * head_dim
    assert layer.qkv.out_features == qkv_rows
    assert layer.gate_up.out_features == 2 * config.intermediate_size
    assert_close(logits(lean, served.tokenizer), reference_logits(served))
    assert torch.allclose(
        logits(lean, served.tokenizer),
        logits(fp16_weight_copy(served.model), served.tokenizer),
        atol=1e-4,
    )


def test_streams_and_cancels_through_the_copy(served):
    text = "".join(served.stream(MESSAGES, greedy(12), None, threading.Event()))
    assert text
    cancel = threading.Event()
    chunks = []
    for chunk in served.stream(MESSAGES, greedy(2000), None, cancel):
        chunks.append(chunk)
        if len(chunks) == 3:
            cancel.set()
    # the generating thread may be a few tokens ahead of this reader when the cancel comes; it
    # stops at its next token, far short of the 2000 asked for
    assert 3 <= len(chunks) <= 50


def test_adapter_switches_rebuild_the_merged_copy(served, tmp_path):
    base_copy = served.serving
    base_logits = logits(base_copy, served.tokenizer)

    served.use_adapter("v0001", make_adapter(served, tmp_path / "a1", seed=1))
    assert served.wait_for_serving_form(timeout=120)
    first = logits(served.serving, served.tokenizer)
    assert served.serving is not base_copy
    assert not torch.allclose(first, base_logits)
    assert_close(first, reference_logits(served))

    served.use_adapter("v0002", make_adapter(served, tmp_path / "a2", seed=2))
    assert served.wait_for_serving_form(timeout=120)
    second = logits(served.serving, served.tokenizer)
    assert not torch.allclose(first, second)
    assert_close(second, reference_logits(served))

    served.use_adapter(None)
    assert served.wait_for_serving_form(timeout=120)
    assert torch.allclose(logits(served.serving, served.tokenizer), base_logits)
    assert "".join(served.stream(MESSAGES, greedy(5), None, threading.Event()))


def test_the_loaded_model_answers_while_the_copy_builds(served, tmp_path, monkeypatch):
    gate = threading.Event()
    build = hf_model.build_serving_copy

    def held_back(*args, **kwargs):
        gate.wait(timeout=120)
        return build(*args, **kwargs)

    monkeypatch.setattr(hf_model, "build_serving_copy", held_back)
    adapter = Adapter("v0001", make_adapter(served, tmp_path / "a1", seed=1))
    served.use_adapter(adapter.version, adapter.path)
    assert served.serving is None
    assert "".join(served.stream(MESSAGES, greedy(5), adapter, threading.Event()))
    gate.set()
    assert served.wait_for_serving_form(timeout=120)
    assert_close(logits(served.serving, served.tokenizer), reference_logits(served))


def test_a_failed_build_is_reported_and_retried_on_the_next_switch(
    served, tmp_path, monkeypatch, caplog
):
    build = hf_model.build_serving_copy

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(hf_model, "build_serving_copy", broken)
    adapter = make_adapter(served, tmp_path / "a1", seed=1)
    with caplog.at_level(logging.WARNING, logger="assistant.hf_model"):
        served.use_adapter("v0001", adapter)
        assert not served.wait_for_serving_form(timeout=120)
    assert served.serving_error == "RuntimeError: out of memory"
    assert "out of memory" in caplog.text
    slow_path = served.stream(MESSAGES, greedy(5), Adapter("v0001", adapter), threading.Event())
    assert "".join(slow_path)

    monkeypatch.setattr(hf_model, "build_serving_copy", build)
    served.use_adapter("v0001", adapter)  # asked for again: the build is retried
    assert served.wait_for_serving_form(timeout=120)
    assert served.serving_error is None
    assert_close(logits(served.serving, served.tokenizer), reference_logits(served))


def test_an_adapter_chosen_at_start_stops_the_base_build(tiny_model_dir, monkeypatch, tmp_path):
    started, stopped = threading.Event(), threading.Event()
    build = hf_model.build_serving_copy

    def base_build_that_waits(model, adapter, superseded=None, form=FP16_WEIGHTS):
        if adapter is not None:
            return build(model, adapter, superseded, form)
        started.set()
        deadline = time.monotonic() + 20
        while not superseded() and time.monotonic() < deadline:
            time.sleep(0.01)
        stopped.set()
        raise BuildSuperseded("base copy no longer wanted")

    monkeypatch.setattr(hf_model, "build_serving_copy", base_build_that_waits)
    monkeypatch.setenv("DESKLOOP_MODEL", str(tiny_model_dir))
    monkeypatch.setenv("DESKLOOP_SERVING", FP16_WEIGHTS)
    settings = load_settings()
    model = HFChatModel.load(settings, resolve_base_model(settings))
    assert started.wait(timeout=60)
    asked = time.monotonic()
    model.use_adapter("v0001", make_adapter(model, tmp_path / "a1", seed=1))
    assert stopped.is_set() and time.monotonic() - asked < 15
    assert model.wait_for_serving_form(timeout=120)
    assert_close(logits(model.serving, model.tokenizer), reference_logits(model))


def test_plain_serving_builds_no_copy(tiny_model_dir, monkeypatch):
    model = load(tiny_model_dir, monkeypatch, PLAIN)
    assert model.serving is None and model.serving_form == PLAIN


def test_the_copy_of_a_plain_model_equals_the_copy_of_its_peft_base(served, tmp_path):
    served.use_adapter("v0001", make_adapter(served, tmp_path / "a1", seed=1))
    peft_base_copy = build_serving_copy(served.model, None)
    served.use_adapter(None)
    assert served.wait_for_serving_form(timeout=120)
    expected = logits(served.serving, served.tokenizer)
    assert torch.allclose(logits(peft_base_copy, served.tokenizer), expected)


@pytest.mark.slow
def test_greedy_answers_match_fp32_on_the_embedded_model(monkeypatch, tmp_path):
    from rouge_score import rouge_scorer

    monkeypatch.setenv("DESKLOOP_HOME", str(tmp_path / "home"))
    ref = prepare_base_model(load_settings())
    plain = load(ref.location, monkeypatch, PLAIN)
    served = load(ref.location, monkeypatch, FP16_WEIGHTS)
    questions = [
        "How do I reset my password?",
        "My Korvo Cam shows a red light and will not connect to Wi-Fi. What should I try?",
    ]
    options = GenerationSettings(max_new_tokens=48, temperature=0.0)
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    scores = []
    for question in questions:
        messages = [MESSAGES[0], {"role": "user", "content": question}]
        expected = "".join(plain.stream(messages, options, None, threading.Event()))
        answer = "".join(served.stream(messages, options, None, threading.Event()))
        scores.append(scorer.score(expected, answer)["rougeL"].fmeasure)
    # fp16 weights are near-lossless, not lossless: a near-tie in an answer can flip the rest of
    # it (measured: the second question's 48 tokens reach ROUGE-L 0.75 against fp32).
    assert scores[0] == 1.0, scores
    assert min(scores) >= 0.7, scores
