"""Random-weight models of real 1-2B architectures for bench/chat_path (--model-shape).

Decoding speed depends on the shapes, not on the weights' values, so a model built here from a
locally written transformers config (with the embedded model's tokenizer and chat template)
stands in for the real one. The tokenizer is smaller than the real vocabulary, and an answer's
tokens are counted by tokenizing its text, so the embedding rows past the tokenizer (tied to
the output layer) are zero: greedy decoding never picks an id the tokenizer cannot write, while
the output layer still computes every row. Weights are saved in bf16 (half the disk; loaded as
fp32 and exported as fp16 without rounding, so agreement figures stay meaningful).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

SHAPES: dict[str, tuple[str, dict]] = {
    "qwen2.5-1.5b": (
        "qwen2",
        dict(
            hidden_size=1536,
            num_hidden_layers=28,
            num_attention_heads=12,
            num_key_value_heads=2,
            intermediate_size=8960,
            vocab_size=151936,
            tie_word_embeddings=True,
            max_position_embeddings=32768,
            rope_theta=1000000.0,
            rms_norm_eps=1e-6,
        ),
    ),
    "llama3.2-1b": (
        "llama",
        dict(
            hidden_size=2048,
            num_hidden_layers=16,
            num_attention_heads=32,
            num_key_value_heads=8,
            head_dim=64,
            intermediate_size=8192,
            vocab_size=128256,
            tie_word_embeddings=True,
            max_position_embeddings=131072,
            rope_theta=500000.0,
            rms_norm_eps=1e-5,
        ),
    ),
}

DONE = "deskloop-shape-v2.json"  # v2: ids past the tokenizer are never the greedy choice


def shape_model(shape: str, folder: Path, tokenizer_from: str, log: Callable[[str], None]) -> Path:
    """The random-weight model of ``shape`` in ``folder`` (built once)."""
    import json

    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    if (folder / DONE).is_file():
        return folder
    model_type, dims = SHAPES[shape]
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_from)
    config = AutoConfig.for_model(
        model_type,
        **dims,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    log(f"building a random-weight {shape} model in {folder} (once)")
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    with torch.no_grad():  # (tied) rows past the tokenizer: logit 0, below the best real id's
        model.get_input_embeddings().weight[len(tokenizer) :] = 0
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / DONE).write_text(json.dumps({"shape": shape, "parameters": model.num_parameters()}))
    return folder
