"""Scoring replies on the tiny random-weight Llama: the shared-prompt computation against a
plain forward pass over each whole sequence, and the bfloat16 copy an adapter scores on."""

import pytest
import torch
from test_hf_model import MESSAGES, make_adapter, tiny  # noqa: F401 (a fixture)

from assistant.backends import Adapter
from assistant.span_scores import bf16_copy, mean_log_probs, native_bf16

REPLIES = [
    "Open Settings, then Security, and choose Reset password.",
    "Press and hold the button for ten seconds.",
    "Yes.",
]


def reference_scores(model, tokenizer, replies: list[str]) -> list[float]:
    """Each reply scored alone: prompt and reply in one forward pass, no cache, no padding."""
    prompt = tokenizer.apply_chat_template(MESSAGES, add_generation_prompt=True)
    prompt = list(prompt["input_ids"] if hasattr(prompt, "keys") else prompt)
    scores = []
    for reply in replies:
        ids = tokenizer.encode(reply, add_special_tokens=False)
        with torch.inference_mode():
            logits = model(input_ids=torch.tensor([prompt + ids])).logits[0].float()
        predicted = torch.log_softmax(logits[len(prompt) - 1 : -1], dim=-1)
        scores.append(predicted.gather(1, torch.tensor(ids).unsqueeze(1)).mean().item())
    return scores


def test_shared_prompt_scores_equal_each_reply_scored_alone(tiny):  # noqa: F811
    shared = mean_log_probs(tiny.model, tiny.tokenizer, MESSAGES, REPLIES)
    alone = reference_scores(tiny.model, tiny.tokenizer, REPLIES)
    assert shared == pytest.approx(alone, abs=1e-4)


def test_the_bf16_copy_has_bf16_weights_float32_buffers_and_its_ties(tiny):  # noqa: F811
    clone = bf16_copy(tiny.model)
    assert {p.dtype for p in clone.parameters()} == {torch.bfloat16}
    assert all(b.dtype == torch.float32 for b in clone.buffers() if b.is_floating_point())
    assert {p.dtype for p in tiny.model.parameters()} == {torch.float32}  # the original kept
    tied = tiny.model.get_input_embeddings().weight is tiny.model.get_output_embeddings().weight
    copied = clone.get_input_embeddings().weight is clone.get_output_embeddings().weight
    assert copied == tied


@pytest.mark.skipif(not native_bf16(), reason="this CPU has no native bfloat16: scores in fp32")
def test_an_adapter_scores_on_a_bf16_copy_close_to_float32(tiny, tmp_path):  # noqa: F811
    first = Adapter("v0001", make_adapter(tiny, tmp_path / "a1", seed=1))
    second = Adapter("v0002", make_adapter(tiny, tmp_path / "a2", seed=2))
    with_first = tiny.score(MESSAGES, REPLIES, first)
    scorer_of_first = tiny._scorer[1]
    assert next(scorer_of_first.parameters()).dtype == torch.bfloat16
    assert with_first == pytest.approx(
        reference_scores(tiny.model, tiny.tokenizer, REPLIES), abs=0.05
    )

    with_second = tiny.score(MESSAGES, REPLIES, second)
    assert tiny._scorer[1] is not scorer_of_first  # a new copy follows the adapter
    assert with_second == pytest.approx(
        reference_scores(tiny.model, tiny.tokenizer, REPLIES), abs=0.05
    )
    assert with_second != pytest.approx(with_first, abs=1e-3)
    assert tiny.score(MESSAGES, REPLIES, second) == with_second  # the same copy again
