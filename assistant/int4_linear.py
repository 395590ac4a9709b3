"""Projections served from 4-bit weights, for CPUs with native bf16 arithmetic (AMX, AVX512-BF16).

The embedded SmolLM2 ships as a Q4_1 GGUF: within each group of 32 inputs a weight is
``step * code + low`` with a 4-bit code, so its fp32 weights can be stored as those codes again,
with no loss, at a quarter of fp16's bytes. Decoding a token reads every weight once, so it
goes through torch's int4 CPU kernel (bf16 activations, group-wise scales): about twice the
tokens/s of fp16 weights. A prompt (many tokens at once) is compute-bound instead and goes
through a bf16 copy of the weights, where AMX multiplies several times faster than fp32.

A LoRA update merged into the weights would leave the 4-bit grid, so during decoding the
adapter is applied beside them, ``x A^T B^T * scaling``, in fp32; the prompt's bf16 copy has
it merged in. Weights that are not on a 4-bit group grid (another model) are not served here.

The bf16 activations are the price: logits move by up to about 0.2, which flips near-ties
under greedy decoding, so this form is used only when asked for (`serving_form.choose_form`).
"""

from __future__ import annotations

import logging

import torch
from torch import nn

from assistant.serving_form import base_layer

GROUP = 32  # inputs per group: Q4_0/Q4_1's block size
LEVELS = 15  # the largest 4-bit code
EXACT = 1e-6  # largest rebuild error accepted, relative to the layer's largest weight

logger = logging.getLogger(__name__)


def int4_supported() -> bool:
    """Whether this CPU multiplies bf16 natively and torch has its int4 weight kernel."""
    from retrieval.embeddings import cpu_has_native_bf16

    return cpu_has_native_bf16() and hasattr(torch, "_convert_weight_to_int4pack_for_cpu")


def group_codes(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """(codes, steps, lows) with ``weight == step * code + low`` group by group, or None.

    None when the weight is not on a 4-bit grid of groups of `GROUP` inputs (it would lose
    precision in 4 bits).
    """
    rows, inputs = weight.shape
    if inputs % GROUP:
        return None
    groups = weight.float().reshape(rows, inputs // GROUP, GROUP)
    low = groups.amin(-1)
    step = (groups.amax(-1) - low) / LEVELS
    safe_step = torch.where(step > 0, step, torch.ones_like(step))
    codes = torch.round((groups - low[..., None]) / safe_step[..., None]).clamp(0, LEVELS)
    error = (codes * step[..., None] + low[..., None] - groups).abs().max()
    if error > EXACT * max(float(groups.abs().max()), 1e-30):
        return None
    return codes.reshape(rows, inputs).to(torch.int32), step, low


def lora_factors(module: nn.Module, adapter: str | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(A, B * scaling) of a plain LoRA layer for `adapter`, or empty factors (no update).

    Raises ValueError for a layer kind this module cannot apply unmerged (DoRA, fan-in-fan-out).
    """
    rows, inputs = base_layer(module).weight.shape
    lora_a = getattr(module, "lora_A", {})
    if adapter is None or adapter not in lora_a:
        return torch.zeros(0, inputs), torch.zeros(rows, 0)
    if getattr(module, "use_dora", {}).get(adapter) or getattr(module, "fan_in_fan_out", False):
        raise ValueError("only plain LoRA adapters are applied to 4-bit weights")
    down = lora_a[adapter].weight.detach().float()
    up = module.lora_B[adapter].weight.detach().float() * float(module.scaling[adapter])
    return down, up


class Int4Linear(nn.Module):
    """y = x W^T (+ the adapter's update): 4-bit W for one token, a bf16 copy for a prompt."""

    def __init__(
        self,
        codes: torch.Tensor,
        steps: torch.Tensor,
        lows: torch.Tensor,
        merged: torch.Tensor,
        lora_down: torch.Tensor,
        lora_up: torch.Tensor,
    ):
        super().__init__()
        self.out_features, self.in_features = codes.shape
        self.packed = torch._convert_weight_to_int4pack_for_cpu(codes, 1)
        # the kernel's form: weight = (code - 8) * scale + zero, groups along the input
        zeros = lows + 8 * steps
        self.scales_and_zeros = torch.stack([steps.t(), zeros.t()], dim=-1).to(torch.bfloat16)
        self.prompt_weight = merged.to(torch.bfloat16).contiguous()
        # transposed once here, so that decoding applies the adapter in two calls
        self.lora_down_t = lora_down.t().contiguous() if lora_down.numel() else None
        self.lora_up_t = lora_up.t().contiguous()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] > 1:
            return nn.functional.linear(x.to(torch.bfloat16), self.prompt_weight).float()
        y = torch._weight_int4pack_mm_for_cpu(
            x.to(torch.bfloat16), self.packed, GROUP, self.scales_and_zeros
        ).float()
        if self.lora_down_t is not None:
            y = torch.addmm(y, torch.mm(x, self.lora_down_t), self.lora_up_t)
        return y

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int4 weights"


def fused_int4_linear(
    modules: list[nn.Module], merged: torch.Tensor, adapter: str | None
) -> Int4Linear | None:
    """One Int4Linear computing `modules` (Linear or LoRA layers with the same input) side by side.

    `merged` is their fp32 weights stacked, the adapter merged in. None when a base weight is
    not on a 4-bit grid or the adapter cannot be applied unmerged.
    """
    bases = [base_layer(module) for module in modules]
    if any(base.bias is not None for base in bases):
        return None
    found = [group_codes(base.weight.detach()) for base in bases]
    if any(parts is None for parts in found):
        return None
    try:
        factors = [lora_factors(module, adapter) for module in modules]
    except ValueError as error:
        logger.warning("%s; serving fp16 weights instead", error)
        return None
    codes, steps, lows = (torch.cat(column) for column in zip(*found, strict=True))
    lora_down = torch.cat([down for down, _ in factors])
    lora_up = torch.block_diag(*[up for _, up in factors])
    return Int4Linear(codes, steps, lows, merged, lora_down, lora_up)
