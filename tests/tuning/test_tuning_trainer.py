from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from transformers import TrainerCallback

from assistant.model_prep import BaseModelRef
from assistant.prompt import SYSTEM_POLICY
from tuning.events import read_events
from tuning.trainer import TrainConfig, _sft_config, train_adapter, training_records

ROOT = Path(__file__).resolve().parents[2]


def sft_records(count: int = 8) -> list[dict]:
    return [
        {
            "messages": [
                {"role": "user", "content": f"How do I reset my password {i}?"},
                {"role": "assistant", "content": "Open Settings, choose Account, then Security."},
            ],
            "sources": [
                {"n": 1, "title": "Account > Password", "source": "a.md", "text": "Use Security."}
            ],
        }
        for i in range(count)
    ]


def base_of(folder: Path) -> BaseModelRef:
    return BaseModelRef(str(folder), "tiny-llama", "tiny-sha")


def lora_b_max(adapter_dir: Path) -> float:
    from safetensors.torch import load_file

    weights = load_file(adapter_dir / "adapter_model.safetensors")
    lora_b = [t for name, t in weights.items() if "lora_B" in name]
    assert lora_b, "no LoRA B matrices saved"
    return max(float(t.abs().max()) for t in lora_b)


def test_training_records_use_the_serving_layout(tiny_settings, tiny_model_dir):
    from assistant.hf_model import load_tokenizer

    records = training_records(
        sft_records(1), load_tokenizer(str(tiny_model_dir)), tiny_settings, 256
    )

    prompt = records[0]["prompt"]
    assert prompt[0] == {"role": "system", "content": SYSTEM_POLICY}
    assert prompt[-1]["content"].startswith("Sources:\n[1] Account > Password\nUse Security.")
    assert prompt[-1]["content"].endswith("Customer question: How do I reset my password 0?")
    assert records[0]["completion"][0]["role"] == "assistant"


@pytest.mark.parametrize("method", ["qlora", "lora"])
def test_no_activation_checkpointing_on_the_cpu(tmp_path, method):
    # TRL turns checkpointing on by default; on the CPU it only recomputes activations.
    args = _sft_config(tmp_path, TrainConfig(method=method), "cpu")
    assert not args.activation_checkpointing
    assert not args.gradient_checkpointing


def test_two_lora_steps_change_the_adapter_and_log_the_loss(tiny_settings, tiny_model_dir):
    config = TrainConfig.from_settings(tiny_settings, method="lora", max_steps=2)
    events = []

    result = train_adapter(
        tiny_settings, base_of(tiny_model_dir), sft_records(), "data-1", config, events.append
    )

    assert lora_b_max(result.adapter_dir) > 0  # LoRA B starts at zero: training moved it
    assert (result.adapter_dir / "adapter_config.json").is_file()
    steps = [e for e in read_events(result.run_dir / "events.jsonl") if e["event"] == "train_step"]
    assert [e["step"] for e in steps] == [1, 2]
    assert all(e["loss"] > 0 and e["tokens_per_s"] > 0 for e in steps)
    assert steps[-1]["eta_s"] == 0 and steps[0]["learning_rate"] > 0
    assert [e["step"] for e in events if e["event"] == "train_step"] == [1, 2]
    assert result.metrics["global_step"] == 2 and result.metrics["peak_memory_mb"] > 0
    assert json.loads((result.run_dir / "run.json").read_text())["status"] == "trained"


class RecordLayers(TrainerCallback):
    def __init__(self):
        self.layer_types: set[str] = set()

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.layer_types = {type(m).__name__ for m in model.modules()}


def test_qlora_trains_a_4bit_nf4_base_on_the_cpu(tiny_settings, tiny_model_dir):
    pytest.importorskip("bitsandbytes")
    config = TrainConfig.from_settings(tiny_settings, method="qlora", max_steps=2)
    layers = RecordLayers()

    result = train_adapter(
        tiny_settings, base_of(tiny_model_dir), sft_records(), "data-1", config, callbacks=[layers]
    )

    assert "Linear4bit" in layers.layer_types
    assert result.metrics["global_step"] == 2 and result.metrics["method"] == "qlora"
    assert lora_b_max(result.adapter_dir) > 0


KILLED_RUN = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {root!r}); sys.path.insert(0, {tests!r})
    from transformers import TrainerCallback
    from assistant.settings import load_settings
    from tuning.trainer import TrainConfig, train_adapter
    from test_tuning_trainer import base_of, sft_records

    class DieAfterCheckpoint(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            if state.global_step == 2:
                os.kill(os.getpid(), signal.SIGKILL)

    settings = load_settings()
    config = TrainConfig.from_settings(settings, method="lora", max_steps=4, save_steps=2)
    train_adapter(settings, base_of({model!r}), sft_records(), "data-1", config,
                  callbacks=[DieAfterCheckpoint()])
    """
)


def test_a_killed_run_resumes_from_its_checkpoint(tiny_settings, tiny_model_dir):
    code = KILLED_RUN.format(
        root=str(ROOT), tests=str(Path(__file__).parent), model=str(tiny_model_dir)
    )
    killed = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=240)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
    config = TrainConfig.from_settings(tiny_settings, method="lora", max_steps=4, save_steps=2)

    result = train_adapter(tiny_settings, base_of(tiny_model_dir), sft_records(), "data-1", config)

    assert result.resumed_from_step == 2 and result.metrics["global_step"] == 4
    steps = [
        e["step"]
        for e in read_events(result.run_dir / "events.jsonl")
        if e["event"] == "train_step"
    ]
    assert steps == [1, 2, 3, 4]  # the same run, continued
    assert len(list(tiny_settings.paths.runs.iterdir())) == 1

    changed = TrainConfig.from_settings(tiny_settings, method="lora", max_steps=1, save_steps=2)
    fresh = train_adapter(tiny_settings, base_of(tiny_model_dir), sft_records(), "data-1", changed)
    assert fresh.resumed_from_step is None and fresh.run_id != result.run_id
