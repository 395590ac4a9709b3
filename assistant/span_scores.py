"""How readily a model would give each of several replies: the mean log-probability per token
of each reply after the chat prompt, the prompt computed once for all of them.

This is how an adapter in service chooses among evidence spans, so it runs for every answer
then. Where the CPU multiplies bfloat16 in hardware (x86 AVX-512 BF16 or AMX) it runs on a
bfloat16 copy of the model: about 1.7x float32 here, and the same choice among spans on
every question measured (BENCHMARKS.md, "Choosing among evidence spans").
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path


def mean_log_probs(model, tokenizer, messages: list[dict], replies: list[str]) -> list[float]:
    """Mean log-probability per token of each reply as the answer to ``messages``."""
    import torch

    device = next(model.parameters()).device
    prompt = tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
    )["input_ids"].to(device)
    encoded = [
        tokenizer.encode(text, add_special_tokens=False) or [tokenizer.eos_token_id]
        for text in replies
    ]
    width = max(len(ids) for ids in encoded)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    ids = torch.tensor([row + [pad] * (width - len(row)) for row in encoded], device=device)
    mask = torch.tensor(
        [[1] * len(row) + [0] * (width - len(row)) for row in encoded], device=device
    )
    with torch.inference_mode():
        # only the prompt's last position predicts a reply token: no logits for the rest
        first = model(input_ids=prompt, use_cache=True, logits_to_keep=1)
        cache = first.past_key_values
        cache.batch_repeat_interleave(len(encoded))
        ones = torch.ones(len(encoded), prompt.shape[1], dtype=mask.dtype, device=device)
        rest = model(
            input_ids=ids, attention_mask=torch.cat([ones, mask], dim=1), past_key_values=cache
        )
    logits = torch.cat(
        [first.logits[:, -1:].expand(len(encoded), -1, -1), rest.logits[:, :-1]], dim=1
    )
    picked = torch.log_softmax(logits.float(), dim=-1).gather(2, ids.unsqueeze(-1)).squeeze(-1)
    return ((picked * mask).sum(1) / mask.sum(1)).tolist()


@cache
def native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware; elsewhere it is emulated, no faster."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def scores_faster_in_bf16(model, device: str) -> bool:
    """A float32 model on such a CPU, whose bfloat16 copy scores faster."""
    import torch

    return device == "cpu" and model.dtype == torch.float32 and native_bf16()


def bf16_copy(model):
    """A copy of ``model`` (adapters included) with bfloat16 weights; buffers such as RoPE's
    frequencies stay float32. No float32 copy is made on the way."""
    import torch

    memo = {
        id(parameter): torch.nn.Parameter(
            parameter.detach().to(torch.bfloat16), requires_grad=False
        )
        for parameter in model.parameters()  # tied weights stay tied: one entry per tensor
    }
    clone = copy.deepcopy(model, memo)
    clone.eval()
    return clone
