"""The int4-weights serving form: exact 4-bit codes, bf16 arithmetic, LoRA applied beside them."""

import shutil
import threading

import pytest
import torch
from transformers import AutoModelForCausalLM

from assistant import int4_linear
from assistant.hf_model import HFChatModel
from assistant.int4_linear import GROUP, Int4Linear, group_codes
from assistant.lean_llama import LeanLlama
from assistant.model_prep import resolve_base_model
from assistant.serving_form import Fp16WeightLinear, fp16_weights_supported
from assistant.settings import GenerationSettings, load_settings

pytestmark = pytest.mark.skipif(not fp16_weights_supported(), reason="needs fbgemm (x86 CPU)")

# bf16 activations: about 3 significant digits, so logits agree to a few hundredths of their range
BF16_TOLERANCE = 0.03


def on_4bit_grid(weight: torch.Tensor) -> torch.Tensor:
    """`weight` rounded to the Q4_1 grid: step * code + low in each group of 32 inputs."""
    rows, inputs = weight.shape
    groups = weight.reshape(rows, inputs // GROUP, GROUP)
    low = groups.amin(-1, keepdim=True)
    step = (groups.amax(-1, keepdim=True) - low) / 15
    return (torch.round((groups - low) / step) * step + low).reshape(rows, inputs)


@pytest.fixture(scope="module")
def grid_model(tiny_model_dir):
    """The tiny Llama with its layers' projections moved onto a 4-bit grid, as a Q4_1 model's."""
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    with torch.no_grad():
        for name, module in model.model.layers.named_modules():
            if name.endswith("_proj"):
                module.weight.copy_(on_4bit_grid(module.weight))
    return model


def prompt_ids(count: int) -> torch.Tensor:
    return torch.arange(3, 3 + count) % 200 + 3


def lean_logits(lean: LeanLlama) -> tuple[torch.Tensor, torch.Tensor]:
    """(last-position logits of a 12-token prompt, logits of the one token after it)."""
    ids = prompt_ids(13)
    with torch.inference_mode():
        lean.clear_cache()
        prompt = lean.forward(ids[:12], 0)
        step = lean.forward(ids[12:], 12)
    return prompt, step


def assert_close(actual: torch.Tensor, expected: torch.Tensor) -> None:
    span = (expected.max() - expected.min()).item()
    assert (actual - expected).abs().max().item() <= BF16_TOLERANCE * span


def test_grid_weights_become_exact_codes_and_others_are_refused():
    torch.manual_seed(0)
    weight = torch.randn(8, 64)
    assert group_codes(weight) is None  # random weights would lose precision in 4 bits
    assert group_codes(torch.randn(8, 48)) is None  # inputs not a multiple of 32
    snapped = on_4bit_grid(weight)
    codes, steps, lows = group_codes(snapped)
    assert codes.dtype == torch.int32 and int(codes.min()) == 0 and int(codes.max()) == 15
    rebuilt = codes.reshape(8, 2, GROUP) * steps[..., None] + lows[..., None]
    assert torch.allclose(rebuilt.reshape(8, 64), snapped, rtol=0, atol=1e-6)


def test_an_int4_layer_computes_the_fp32_product_to_bf16_precision():
    torch.manual_seed(1)
    weight = on_4bit_grid(torch.randn(96, 64) * 0.05)
    codes, steps, lows = group_codes(weight)
    layer = Int4Linear(codes, steps, lows, weight, torch.zeros(0, 64), torch.zeros(96, 0))
    for rows in (1, 5):  # one token (4-bit kernel), a prompt (bf16 copy)
        x = torch.randn(rows, 64)
        expected = x @ weight.t()
        actual = layer(x)
        assert actual.dtype == torch.float32 and actual.shape == (rows, 96)
        assert_close(actual, expected)


def test_grid_projections_are_served_in_4_bits_the_rest_in_fp16(grid_model, tiny_model_dir):
    lean = LeanLlama(grid_model, four_bit=True)
    projections = [p for layer in lean.layers for p in (layer.qkv, layer.o, layer.gate_up)]
    assert all(isinstance(p, Int4Linear) for p in projections)
    assert isinstance(lean.lm_head, Fp16WeightLinear)  # the tied embeddings are not on a grid
    off_grid = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    fallback = LeanLlama(off_grid, four_bit=True)
    assert all(isinstance(layer.qkv, Fp16WeightLinear) for layer in fallback.layers)


def test_int4_logits_follow_fp16_ones(grid_model):
    int4_prompt, int4_step = lean_logits(LeanLlama(grid_model, four_bit=True))
    fp16_prompt, fp16_step = lean_logits(LeanLlama(grid_model))
    assert_close(int4_prompt, fp16_prompt)
    assert_close(int4_step, fp16_step)


def test_a_lora_adapter_is_applied_beside_the_4bit_weights(grid_model):
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(2)
    config = LoraConfig(r=4, lora_alpha=32, target_modules="all-linear", init_lora_weights=False)
    adapted = get_peft_model(grid_model, config, adapter_name="v1").eval()
    try:
        int4 = LeanLlama(adapted, "v1", four_bit=True)
        assert isinstance(int4.layers[0].qkv, Int4Linear)
        assert int4.layers[0].qkv.lora_down_t is not None
        merged = lean_logits(LeanLlama(adapted, "v1"))  # fp16 weights, the adapter merged in
        base = lean_logits(LeanLlama(adapted, None))
        with_adapter = lean_logits(int4)
        for actual, expected, without in zip(with_adapter, merged, base, strict=True):
            assert_close(actual, expected)
            # the adapter moves the logits well beyond the tolerance: it was applied
            assert (expected - without).abs().max() > 3 * BF16_TOLERANCE * (
                expected.max() - expected.min()
            )
    finally:
        adapted.unload()


def test_the_chat_model_serves_int4_weights_when_asked(grid_model, tiny_model_dir, tmp_path):
    grid_model.save_pretrained(tmp_path)
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        shutil.copy(tiny_model_dir / name, tmp_path / name)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(int4_linear, "int4_supported", lambda: True)
        settings = load_settings(model=str(tmp_path), serving="int4-weights")
        model = HFChatModel.load(settings, resolve_base_model(settings))
    assert model.serving_form == "int4-weights"
    assert model.wait_for_serving_form(timeout=120)
    assert isinstance(model.serving.layers[0].gate_up, Int4Linear)
    messages = [{"role": "user", "content": "How do I reset my password?"}]
    options = GenerationSettings(max_new_tokens=6, temperature=0.0)
    assert "".join(model.stream(messages, options, None, threading.Event()))
