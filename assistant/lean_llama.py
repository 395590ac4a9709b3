"""A lean Llama decoder for the CPU serving form: the same maths as transformers, fewer calls.

Decoding one token through transformers' `generate` costs, besides the weights, a few hundred
small eager operations and Python bookkeeping (cache objects, masks, logits processors, the
streamer). On a 135M-parameter model that overhead is as large as the matrix work. This module
runs a Llama-architecture model (SmolLM2 and friends) with:

- the q/k/v projections fused into one fp16-weight matrix and gate/up into another (4 matrix
  calls per layer instead of 7), the LoRA adapter merged in;
- a preallocated KV cache that is kept between answers: a prompt that starts with the tokens
  already in the cache (the fixed system prompt, earlier turns of the conversation) only
  prefills what is new;
- a decode loop that applies the same logits processors as `generate` (repetition penalty,
  no-repeat n-grams, temperature, top-k, top-p, min-p), greedy or sampled, stops on EOS, on
  `max_new_tokens` or when asked to, and hands every token to a streamer as it comes.

Embeddings and norm weights are shared with the model as loaded; the fp16 matrices are its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from assistant import mapped_pages
from assistant.int4_linear import fused_int4_linear
from assistant.serving_form import (
    BuildSuperseded,
    Fp16WeightLinear,
    base_layer,
    effective_weight,
    peft_base,
)

CACHE_STEP = 256  # the KV cache grows in steps of this many positions


def supports(model: nn.Module) -> bool:
    """Whether `model` (transformers or PeftModel) is a plain Llama this module can run."""
    base = peft_base(model)
    return (
        supports_config(getattr(base, "config", None))
        and hasattr(base, "model")
        and hasattr(base.model, "rotary_emb")
    )


def supports_config(config) -> bool:
    """Whether a transformers config describes a plain Llama this module can run."""
    if config is None or getattr(config, "model_type", None) != "llama":
        return False
    rope = getattr(config, "rope_parameters", None) or getattr(config, "rope_scaling", None) or {}
    return (
        not getattr(config, "attention_bias", False)
        and not getattr(config, "mlp_bias", False)
        and getattr(config, "hidden_act", "silu") == "silu"
        and getattr(config, "pretraining_tp", 1) == 1
        and rope.get("rope_type", "default") == "default"
    )


@contextlib.contextmanager
def torch_threads(count: int | None):
    """Within it, torch runs its ops on `count` threads (None: as it was)."""
    previous = torch.get_num_threads()
    if count is None or count == previous:
        yield
        return
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _linear(module: nn.Module, adapter: str | None) -> torch.Tensor:
    weight, bias = effective_weight(module, adapter)
    if bias is not None:
        raise ValueError("lean Llama expects projections without bias")
    return weight.float()


def _projection(modules: list[nn.Module], adapter: str | None, four_bit: bool) -> nn.Module:
    """`modules` (sharing their input) as one matrix: 4-bit where asked and exact, else fp16."""
    merged = torch.cat([_linear(module, adapter) for module in modules])
    if four_bit:
        linear = fused_int4_linear(modules, merged, adapter)
        if linear is not None:
            return linear
    return Fp16WeightLinear(merged, None)


@dataclass
class _Layer:
    input_norm: torch.Tensor
    qkv: nn.Module
    o: nn.Module
    post_norm: torch.Tensor
    gate_up: nn.Module
    down: nn.Module


class LeanLlama:
    """The serving copy of a Llama model: forward with a KV cache, and a generation loop."""

    def __init__(
        self,
        model: nn.Module,
        adapter: str | None = None,
        superseded: Callable[[], bool] | None = None,
        four_bit: bool = False,
    ):
        base = peft_base(model)
        config = base.config
        self.config = config
        self.hidden = config.hidden_size
        self.heads = config.num_attention_heads
        self.kv_heads = config.num_key_value_heads
        self.head_dim = getattr(config, "head_dim", None) or self.hidden // self.heads
        self.eps = config.rms_norm_eps
        self.scale = self.head_dim**-0.5
        self.generation_config = getattr(base, "generation_config", None)
        inner = base.model
        self.embed = inner.embed_tokens.weight.detach()
        self.norm = inner.norm.weight.detach()
        rotary = inner.rotary_emb
        self.inv_freq = rotary.inv_freq.detach().float().clone()
        self.attention_scaling = float(getattr(rotary, "attention_scaling", 1.0))
        self.layers: list[_Layer] = []
        mappings = mapped_pages.FileMappings()
        with torch.no_grad():
            for layer in inner.layers:
                if superseded is not None and superseded():
                    raise BuildSuperseded(f"serving copy for adapter {adapter} no longer wanted")
                attn, mlp = layer.self_attn, layer.mlp
                projections = [
                    *(getattr(attn, p) for p in ("q_proj", "k_proj", "v_proj", "o_proj")),
                    *(getattr(mlp, p) for p in ("gate_proj", "up_proj", "down_proj")),
                ]
                self.layers.append(
                    _Layer(
                        input_norm=layer.input_layernorm.weight.detach(),
                        qkv=_projection(projections[:3], adapter, four_bit),
                        o=_projection(projections[3:4], adapter, four_bit),
                        post_norm=layer.post_attention_layernorm.weight.detach(),
                        gate_up=_projection(projections[4:6], adapter, four_bit),
                        down=_projection(projections[6:], adapter, four_bit),
                    )
                )
                mapped_pages.release((base_layer(p).weight for p in projections), mappings)
            self.lm_head = Fp16WeightLinear(_linear(base.lm_head, adapter), None)
            mapped_pages.release([base_layer(base.lm_head).weight], mappings)
        self.intermediate = self.layers[0].gate_up.out_features // 2
        self.q_size = self.heads * self.head_dim
        self.kv_size = self.kv_heads * self.head_dim
        # the KV cache: (layers, kv heads, positions, head dim), with the tokens it holds
        self.k_cache = torch.empty(0)
        self.v_cache = torch.empty(0)
        self.cos = torch.empty(0, self.head_dim)
        self.sin = torch.empty(0, self.head_dim)
        self.cached: list[int] = []

    # the cache

    def _reserve(self, length: int) -> None:
        capacity = self.k_cache.shape[2] if self.k_cache.dim() == 4 else 0
        if length <= capacity:
            return
        new = -(-length // CACHE_STEP) * CACHE_STEP
        shape = (len(self.layers), self.kv_heads, new, self.head_dim)
        k, v = torch.zeros(shape), torch.zeros(shape)
        if capacity:
            k[:, :, :capacity] = self.k_cache
            v[:, :, :capacity] = self.v_cache
        self.k_cache, self.v_cache = k, v
        # rotary tables as transformers computes them: positions x inverse frequencies in fp32
        positions = torch.arange(new, dtype=torch.float32)
        freqs = positions[:, None] * self.inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        self.cos = emb.cos() * self.attention_scaling
        self.sin = emb.sin() * self.attention_scaling

    def reusable(self, ids: list[int]) -> int:
        """How many leading tokens of `ids` already have their keys and values in the cache."""
        limit = min(len(self.cached), len(ids) - 1)  # at least one token to compute logits from
        n = 0
        while n < limit and self.cached[n] == ids[n]:
            n += 1
        return n

    def clear_cache(self) -> None:
        self.cached = []

    # the model

    def _rms(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        variance = x.pow(2).mean(-1, keepdim=True)
        return weight * (x * torch.rsqrt(variance + self.eps))

    def forward(self, ids: torch.Tensor, start: int) -> torch.Tensor:
        """Logits for the last of `ids` (1-D), placed at positions start..; fills the cache."""
        count = ids.shape[0]
        end = start + count
        self._reserve(end)
        heads, kv_heads, dim = self.heads, self.kv_heads, self.head_dim
        group = heads // kv_heads
        cos = self.cos[start:end].unsqueeze(1)
        sin = self.sin[start:end].unsqueeze(1)
        half = dim // 2
        qk_heads = heads + kv_heads
        mask = None
        if count > 1:
            positions = torch.arange(end)
            mask = positions[None, :] <= torch.arange(start, end)[:, None]  # (count, end)
        h = self.embed[ids]
        for i, layer in enumerate(self.layers):
            x = self._rms(h, layer.input_norm)
            qkv = layer.qkv(x)
            qk = qkv[:, : self.q_size + self.kv_size].view(count, qk_heads, dim)
            rotated = torch.cat((-qk[..., half:], qk[..., :half]), dim=-1)
            qk = qk * cos + rotated * sin
            k_cache, v_cache = self.k_cache[i], self.v_cache[i]
            k_cache[:, start:end] = qk[:, heads:].transpose(0, 1)
            v_cache[:, start:end] = (
                qkv[:, self.q_size + self.kv_size :].view(count, kv_heads, dim).transpose(0, 1)
            )
            keys, values = k_cache[:, :end], v_cache[:, :end]
            if count == 1:
                q = qk[0, :heads].view(kv_heads, group, dim)
                scores = torch.bmm(q, keys.transpose(1, 2)) * self.scale
                attended = torch.bmm(scores.softmax(-1), values).view(1, self.q_size)
            else:
                q = qk[:, :heads].transpose(0, 1).unsqueeze(0)  # (1, heads, count, dim)
                attended = nn.functional.scaled_dot_product_attention(
                    q,
                    keys.repeat_interleave(group, 0).unsqueeze(0),
                    values.repeat_interleave(group, 0).unsqueeze(0),
                    attn_mask=mask,
                    scale=self.scale,
                )
                attended = attended[0].transpose(0, 1).reshape(count, self.q_size)
            h = h + layer.o(attended)
            x = self._rms(h, layer.post_norm)
            gate_up = layer.gate_up(x)
            gate, up = gate_up[:, : self.intermediate], gate_up[:, self.intermediate :]
            h = h + layer.down(nn.functional.silu(gate) * up)
        last = self._rms(h[-1:], self.norm)
        return self.lm_head(last)[0]

    def logits(self, ids: torch.Tensor) -> torch.Tensor:
        """Last-position logits for a whole prompt (1-D ids), from an empty cache."""
        self.clear_cache()
        with torch.inference_mode():
            out = self.forward(ids, 0)
        self.clear_cache()
        return out

    # generation

    def generate(
        self,
        prompt: list[int],
        options,
        eos_token_id: int | None,
        on_token: Callable[[int], None],
        should_stop: Callable[[], bool],
        decode_threads: int | None = None,
    ) -> list[int]:
        """Generate after `prompt` as `model.generate` would with these GenerationSettings.

        The prompt is computed on torch's threads as set; the tokens after it on
        `decode_threads` (None: the same): one token's small matrix products can lose more
        to handing work between threads than they gain.
        """
        processors, sample = self.logits_processors(options)
        start = self.reusable(prompt)
        self.cached = self.cached[:start]
        limit = len(prompt) + options.max_new_tokens
        seen = torch.empty((1, limit), dtype=torch.long)
        seen[0, : len(prompt)] = torch.tensor(prompt, dtype=torch.long)
        length = len(prompt)
        produced: list[int] = []
        logits = self.forward(seen[0, start:length], start)
        self.cached = list(prompt)
        with torch_threads(decode_threads):
            while True:
                scores = processors(seen[:, :length], logits.float()[None])
                if sample:
                    token = int(torch.multinomial(scores.softmax(-1), 1)[0, 0])
                else:
                    token = int(scores[0].argmax())
                seen[0, length] = token
                length += 1
                produced.append(token)
                on_token(token)
                if token == eos_token_id or length >= limit or should_stop():
                    break
                logits = self.forward(seen[0, length - 1 : length], length - 1)
                self.cached.append(token)
        return produced

    def logits_processors(self, options):
        """The processors `generate` would apply for these settings, and whether it samples."""
        from transformers import (
            LogitsProcessorList,
            MinPLogitsWarper,
            NoRepeatNGramLogitsProcessor,
            RepetitionPenaltyLogitsProcessor,
            TemperatureLogitsWarper,
            TopKLogitsWarper,
            TopPLogitsWarper,
        )

        processors = LogitsProcessorList()
        if options.repetition_penalty != 1.0:
            processors.append(RepetitionPenaltyLogitsProcessor(options.repetition_penalty))
        if options.no_repeat_ngram_size:
            processors.append(NoRepeatNGramLogitsProcessor(options.no_repeat_ngram_size))
        sample = options.temperature > 0
        if sample:
            defaults = self.generation_config
            top_k = getattr(defaults, "top_k", None)
            if top_k is None:
                top_k = 50  # generate's global default when the model's config sets none
            min_p = getattr(defaults, "min_p", None)
            if options.temperature != 1.0:
                processors.append(TemperatureLogitsWarper(options.temperature))
            if top_k:
                processors.append(TopKLogitsWarper(top_k=top_k))
            if options.top_p < 1.0:
                processors.append(TopPLogitsWarper(top_p=options.top_p))
            if min_p is not None:
                processors.append(MinPLogitsWarper(min_p=min_p))
        return processors, sample
