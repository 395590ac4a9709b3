"""The training round's speed settings keep its loss: compact LM head, shared prompt prefix."""

from __future__ import annotations

import pytest
import torch

from tuning.trainer import (
    TrainConfig,
    _lora_model,
    _sft_config,
    _trainer_class,
    shared_prefix_length,
    training_records,
)


def varied_records(count: int = 4) -> list[dict]:
    answers = [
        "Open Settings.",
        "Open Settings, choose Account, then Security, then reset it there.",
        "Ask the team.",
        "Go to the billing page and pick the plan you want; the change applies at once.",
    ]
    return [
        {
            "messages": [
                {"role": "user", "content": f"How do I fix problem number {i}?" + " please" * i},
                {"role": "assistant", "content": answers[i % len(answers)]},
            ],
            "sources": [],
        }
        for i in range(count)
    ]


def one_batch_loss(settings, model_dir, tmp_path, method, compact, share):
    """Loss and LoRA gradients of the first training batch, and the LM head's row counts."""
    import trl.trainer.utils as trl_utils

    from assistant.hf_model import load_tokenizer
    from tuning.dataset import to_hf_dataset

    torch.manual_seed(0)
    config = TrainConfig(method=method, batch_size=4, grad_accum=1, lora_r=4, lora_dropout=0.0)
    tokenizer = load_tokenizer(str(model_dir))
    records = training_records(varied_records(), tokenizer, settings, 256)
    model = _lora_model(str(model_dir), "cpu", torch.float32, config)
    args = _sft_config(tmp_path / f"{method}-{compact}-{share}", config, "cpu")
    trainer = _trainer_class()(
        compact_lm_head=compact,
        share_prefix=share,
        model=model,
        args=args,
        train_dataset=to_hf_dataset(records),
        processing_class=tokenizer,
    )
    batch = next(iter(trainer.get_train_dataloader()))
    head_rows = []
    original = trl_utils._ChunkedLogProbFunction.apply

    def spy(hidden, *rest):
        head_rows.append(hidden.shape[0])
        return original(hidden, *rest)

    trainer.model.train()
    trl_utils._ChunkedLogProbFunction.apply = spy
    try:
        loss = trainer.compute_loss(trainer.model, dict(batch))
    finally:
        trl_utils._ChunkedLogProbFunction.apply = original
    loss.backward()
    grads = {
        name: param.grad.detach().clone()
        for name, param in trainer.model.named_parameters()
        if param.requires_grad and param.grad is not None
    }
    labelled = int((batch["labels"][:, 1:] != -100).sum())
    return float(loss.detach()), grads, head_rows, labelled, trainer


@pytest.mark.parametrize("method", ["lora", "qlora"])
def test_speed_settings_keep_the_loss_and_gradients(
    tiny_settings, tiny_model_dir, tmp_path, method
):
    plain = one_batch_loss(tiny_settings, tiny_model_dir, tmp_path, method, False, False)
    fast = one_batch_loss(tiny_settings, tiny_model_dir, tmp_path, method, True, True)
    loss, grads, rows, labelled, _ = plain
    fast_loss, fast_grads, fast_rows, _, trainer = fast

    assert fast_loss == pytest.approx(loss, rel=1e-5)
    assert fast_grads.keys() == grads.keys() and grads
    for name, grad in grads.items():
        # fp32 LoRA weights: float rounding only; bf16 ones (QLoRA on the tiny model): bf16's
        tolerance = 1e-2 if grad.dtype == torch.bfloat16 else 1e-5
        error = float((fast_grads[name].float() - grad.float()).norm())
        assert error <= tolerance * float(grad.float().norm()) + 1e-12, (name, error)
    assert any(float(grad.abs().max()) > 0 for grad in grads.values())
    # The compact head projects only the labelled positions, TRL's CPU path every one.
    assert fast_rows == [labelled]
    assert rows[0] > labelled
    # The system policy was computed once for the batch's four rows.
    assert trainer.prefix_positions_saved > 3 * 20


def test_shared_prefix_stops_before_a_labelled_position():
    ids = torch.tensor([[1, 2, 3, 4, 5], [1, 2, 3, 4, 6]])
    mask = torch.ones_like(ids)
    labels = torch.full_like(ids, -100)
    assert shared_prefix_length(ids, mask, labels) == 4

    labels[0, 4] = 5  # position 4 is predicted from position 3: 3 must stay in the suffix
    assert shared_prefix_length(ids, mask, labels) == 3

    labels[:, 2:] = ids[:, 2:]
    assert shared_prefix_length(ids, mask, labels) == 1
    mask[1, 0] = 0  # left padding: nothing is shared
    assert shared_prefix_length(ids, mask, labels) == 0


def test_training_speed_benchmark_counts_padding_per_micro_batch():
    from bench.training_speed import epoch_padding, padding_share

    lengths = [10, 2, 10, 2]
    assert padding_share(lengths, [0, 2, 1, 3], 2) == 0.0
    assert padding_share(lengths, [0, 1, 2, 3], 2) == 0.4  # 16 padded of 40 positions
    shares = epoch_padding([5, 9, 3, 7, 8, 2, 6, 4] * 8, 4, 2, seed=0)
    assert shares["sorted (floor)"] <= shares["group_by_length"] <= shares["random"]


def test_no_shared_prefix_under_activation_checkpointing(tiny_model_dir):
    from transformers import AutoModelForCausalLM

    from tuning.trainer import with_shared_prefix

    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    ids = torch.tensor([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]] * 2)
    labels = torch.full_like(ids, -100)
    labels[:, -1] = 3
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}
    model.train()
    assert with_shared_prefix(model, batch) is not None
    model.gradient_checkpointing_enable()
    assert with_shared_prefix(model, batch) is None
