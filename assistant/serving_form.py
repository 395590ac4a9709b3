"""The form the model is served in: as loaded, or a copy with fp16 or 4-bit weights for a CPU.

Decoding one token reads every weight once, so on a CPU it is bound by memory bandwidth. The
"fp16-weights" form keeps every Linear layer (the tied lm_head included) as fp16 weights packed
for fbgemm, with fp32 activations and accumulation: half the bytes per token, and under greedy
decoding the same answers as fp32 on the embedded model. (int8 with dynamically quantised
activations, the other CPU kernel torch ships, was measured too: it garbles this model's answers.)
The "int4-weights" form, for CPUs with bf16 arithmetic, keeps weights that were shipped in 4 bits
in 4 bits (`assistant.int4_linear`) and the rest as fp16 weights: the fastest, chosen only on
request, since its bf16 arithmetic changes answers more often.

The serving copy shares embeddings and norms with the loaded model and holds its own packed
weights, with the active LoRA adapter merged in. The loaded model (a PeftModel once an adapter
is loaded) stays as it is, so adapters still load and switch; the copy is rebuilt on a switch.
For a plain Llama (the embedded SmolLM2) the copy is `assistant.lean_llama.LeanLlama`, which
also skips transformers' per-token bookkeeping; other architectures get a module copy served
through `generate`.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from typing import Literal

import torch
from torch import nn

ServingForm = Literal["auto", "plain", "fp16-weights", "int4-weights"]
PLAIN = "plain"
FP16_WEIGHTS = "fp16-weights"
INT4_WEIGHTS = "int4-weights"


def fp16_weights_supported() -> bool:
    """Whether this torch build has the fbgemm fp16-weight linear kernel (x86 CPUs)."""
    try:
        packed = torch.ops.quantized.linear_prepack_fp16(torch.ones(2, 2), None)
        torch.ops.quantized.linear_dynamic_fp16(torch.ones(1, 2), packed)
    except (RuntimeError, AttributeError):
        return False
    return True


def choose_form(requested: str, device: str, dtype: torch.dtype, load_in_4bit: bool) -> str:
    """The serving form to use: 'auto' picks fp16 weights for an fp32 model on an x86 CPU.

    'int4-weights' is only used when asked for: faster, but its bf16 arithmetic changes more
    answers under greedy decoding than fp16 weights do (BENCHMARKS.md, "Chat path").
    """
    from assistant.int4_linear import int4_supported

    if requested == PLAIN:
        return PLAIN
    eligible = device == "cpu" and dtype == torch.float32 and not load_in_4bit
    if requested != "auto" and not eligible:
        raise ValueError(f"serving '{requested}' needs an fp32 model on the CPU (not 4-bit)")
    fp16 = eligible and fp16_weights_supported()  # int4-weights serves lm_head in fp16 too
    if requested == "auto":
        return FP16_WEIGHTS if fp16 else PLAIN
    if not fp16:
        raise ValueError(f"serving '{requested}' needs torch's fbgemm kernels (an x86 CPU)")
    if requested == INT4_WEIGHTS and not int4_supported():
        raise ValueError(f"serving '{requested}' needs a CPU with bf16 arithmetic (AMX, AVX512)")
    return requested


class Fp16WeightLinear(nn.Module):
    """y = x W^T + b with W stored in fp16 (fbgemm-packed); x, y and the sums stay fp32."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None):
        super().__init__()
        self.in_features = weight.shape[1]
        self.out_features = weight.shape[0]
        bias = None if bias is None else bias.detach().float().contiguous()
        self.packed = torch.ops.quantized.linear_prepack_fp16(
            weight.detach().float().contiguous(), bias
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.quantized.linear_dynamic_fp16(x, self.packed)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, fp16 weights"


def lora_layer_type() -> type | None:
    """peft's LoraLayer, if peft is imported; a model can hold LoRA layers only then.

    Looked up rather than imported: importing peft (and bitsandbytes with it) costs seconds at
    start, and a model without an adapter does not need it.
    """
    lora = sys.modules.get("peft.tuners.lora")
    return getattr(lora, "LoraLayer", None)


def peft_base(model: nn.Module) -> nn.Module:
    """The transformers model inside a PeftModel, or `model` itself."""
    # getattr: another thread may be importing peft (a model is a PeftModel only after that)
    peft_model = getattr(sys.modules.get("peft"), "PeftModel", None)
    if peft_model is not None and isinstance(model, peft_model):
        return model.get_base_model()
    return model


def base_layer(module: nn.Module) -> nn.Module:
    """The Linear a PEFT LoRA layer wraps, or `module` itself."""
    return module.get_base_layer() if hasattr(module, "get_base_layer") else module


def effective_weight(module: nn.Module, adapter: str | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The weight a Linear (or a PEFT LoRA-wrapped Linear) applies, the adapter merged in."""
    base = base_layer(module)
    weight = base.weight.detach()
    lora_layer = lora_layer_type()
    is_lora = lora_layer is not None and isinstance(module, lora_layer)
    if is_lora and adapter is not None and adapter in module.lora_A:
        weight = weight + module.get_delta_weight(adapter).to(weight.dtype)
    return weight, base.bias


def _is_linear(module: nn.Module) -> bool:
    lora_layer = lora_layer_type()
    return isinstance(module, nn.Linear) or (
        lora_layer is not None and isinstance(module, lora_layer)
    )


def fp16_weight_copy(model: nn.Module, adapter: str | None = None) -> nn.Module:
    """A serving copy of `model` (a transformers model or a PeftModel) with fp16 Linear weights.

    `adapter` names the LoRA adapter to merge in (None: the base weights). Parameters other than
    the Linear weights (embeddings, norms) are shared with `model`, not copied.
    """
    base = peft_base(model)
    shared = {id(t): t for t in [*base.parameters(), *base.buffers()]}
    skeleton = copy.deepcopy(base, memo=shared)
    with torch.no_grad():
        _replace_linears(skeleton, base, adapter)
    skeleton.eval()
    return skeleton


class BuildSuperseded(Exception):
    """A serving copy stopped being built: the adapter it was for is no longer wanted."""


def build_serving_copy(
    model: nn.Module,
    adapter: str | None = None,
    superseded: Callable[[], bool] | None = None,
    form: str = FP16_WEIGHTS,
):
    """The serving copy for `form`: a lean Llama runner where the architecture allows it.

    A plain Llama (SmolLM2, the embedded model) gets `assistant.lean_llama.LeanLlama`: fused
    projections (4-bit ones for `INT4_WEIGHTS`), a KV cache kept between answers and a lean
    decode loop. Anything else gets `fp16_weight_copy`, served through transformers'
    `generate`. `superseded` is asked between layers; once it says True the build stops with
    BuildSuperseded.
    """
    from assistant import lean_llama

    if lean_llama.supports(model):
        return lean_llama.LeanLlama(model, adapter, superseded, four_bit=form == INT4_WEIGHTS)
    return fp16_weight_copy(model, adapter)


def _replace_linears(copied: nn.Module, original: nn.Module, adapter: str | None) -> None:
    for name, child in list(copied.named_children()):
        source = getattr(original, name)
        if _is_linear(child):
            setattr(copied, name, Fp16WeightLinear(*effective_weight(source, adapter)))
        else:
            _replace_linears(child, source, adapter)
