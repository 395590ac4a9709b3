"""The evaluation answers through the served model form, exactly as ChatEngine.ask does."""

from __future__ import annotations

import pytest
import torch

from assistant.app import fixed_adapter
from assistant.engine import ChatEngine
from assistant.hf_model import HFChatModel
from assistant.model_prep import resolve_base_model
from assistant.serving_form import PLAIN
from assistant.store import SourceRef, Store
from tuning.eval_answers import EvalAnswerer
from tuning.evaluate import EvalExample, evaluate_examples

SOURCES = [{"n": 1, "title": "Camera > Offline", "text": "Restart the camera and check Wi-Fi."}]
EXAMPLES = [
    EvalExample([{"role": "user", "content": "How do I reset my password?"}], "Open Settings."),
    EvalExample(
        [
            {"role": "user", "content": "My camera is offline."},
            {"role": "assistant", "content": "Which camera?"},
            {"role": "user", "content": "The one by the door. What now?"},
        ],
        "Restart it.",
        sources=SOURCES,
    ),
]


class RowSources:
    """The second example's sources, as the app's retriever would hand them over."""

    def retrieve(self, messages: list[dict], k: int) -> list[SourceRef]:
        source = SOURCES[0]
        return [SourceRef(1, "cam", source["title"], source["title"], text=source["text"])]


def make_adapter(location: str, folder, seed: int):
    """A LoRA adapter with random (non-zero) weights for the tiny base."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(location)
    config = LoraConfig(r=4, target_modules="all-linear", init_lora_weights=False)
    get_peft_model(base, config).save_pretrained(folder)
    return folder


@pytest.fixture
def served(tiny_settings) -> HFChatModel:
    model = HFChatModel.load(tiny_settings, resolve_base_model(tiny_settings))
    if model.serving_form == PLAIN:
        pytest.skip("this CPU serves the plain model: no serving copy to evaluate")
    return model


def test_eval_answers_come_from_the_serving_copy_and_equal_the_engines(
    tiny_settings, served, tmp_path
):
    adapter = make_adapter(served.base.location, tmp_path / "adapter", seed=3)
    answerer = EvalAnswerer(served, tiny_settings)
    answerer.use(None)
    base_report = evaluate_examples(answerer, EXAMPLES)
    answerer.use("v0007", adapter)
    copy = served.serving
    calls = []
    generate = copy.generate
    copy.generate = lambda *args, **kwargs: calls.append(1) or generate(*args, **kwargs)

    report = evaluate_examples(answerer, EXAMPLES)

    assert len(calls) == len(EXAMPLES) and answerer.served_form == served.serving_form
    store = Store(tmp_path / "chat.db")
    asked = []
    for example, retriever in zip(EXAMPLES, (None, RowSources()), strict=True):
        engine = ChatEngine(
            served, store, tiny_settings, retriever, fixed_adapter("v0007", adapter)
        )
        history, question = example.prompt[:-1], example.prompt[-1]["content"]
        asked.append(engine.ask(question, history=history).text())
    assert [row["answer"] for row in report.rows] == asked
    assert [row["answer"] for row in base_report.rows] != asked  # the adapter was applied
    assert report.rows[1]["sources"] == ["Camera > Offline"]
