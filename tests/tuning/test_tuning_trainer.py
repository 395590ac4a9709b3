from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from transformers import TrainerCallback

import tuning.trainer as trainer_module
from assistant.model_prep import BaseModelRef
from assistant.prompt import SYSTEM_POLICY
from tuning.events import read_events
from tuning.trainer import (
    TrainConfig,
    _sft_config,
    cpu_has_native_bf16,
    train_adapter,
    training_compute_dtype,
    training_records,
)

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
        sft_records(1), load_tokenizer(str(tiny_model_dir)), tiny_settings, 384
    )

    prompt = records[0]["prompt"]
    assert prompt[0] == {"role": "system", "content": SYSTEM_POLICY}
    assert prompt[-1]["content"].startswith(
        "Sources:\n<source>\n[1] Account > Password\nUse Security.\n</source>"
    )
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


def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    lines = [line for line in text.splitlines() if line.startswith("flags")]
    return set(lines[0].split(":", 1)[1].split()) if lines else set()


def test_the_native_bf16_check_matches_the_cpu():
    # torch.cpu's checks are private: a torch that renamed them would silently mean fp32.
    assert callable(torch.cpu._is_amx_tile_supported)
    assert callable(torch.cpu._is_avx512_bf16_supported)
    flags = cpu_flags()
    if not flags:
        pytest.skip("no /proc/cpuinfo flags here")
    assert cpu_has_native_bf16() is bool(flags & {"amx_bf16", "amx_tile", "avx512_bf16"})


@pytest.mark.parametrize(
    ("amx", "avx512_bf16", "expected"),
    [
        (True, False, torch.bfloat16),
        (False, True, torch.bfloat16),
        (False, False, torch.float32),  # AVX2 or plain AVX-512: bf16 would be emulated
    ],
)
def test_cpu_rounds_compute_in_bf16_only_where_the_cpu_multiplies_it(
    monkeypatch, tmp_path, amx, avx512_bf16, expected
):
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)

    assert cpu_has_native_bf16() is (expected == torch.bfloat16)
    assert training_compute_dtype("auto", "cpu") == expected
    assert training_compute_dtype("float32", "cpu") == torch.float32  # an explicit dtype wins
    assert training_compute_dtype("bfloat16", "cpu") == torch.bfloat16
    assert training_compute_dtype("auto", "cuda") == torch.bfloat16
    assert _sft_config(tmp_path, TrainConfig(), "cpu", cpu_bf16=True).bf16
    assert not _sft_config(tmp_path, TrainConfig(), "cpu").bf16


class RecordPrecision(TrainerCallback):
    """Trainable parameters' dtypes, the 4-bit layers' compute dtypes and, from a hook on
    the 4-bit layers, the CPU autocast dtype their forward ran under (None: off)."""

    def __init__(self):
        self.trainable: set[torch.dtype] = set()
        self.compute: set[torch.dtype] = set()
        self.autocast: set[torch.dtype | None] = set()

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        from bitsandbytes.nn import Linear4bit

        self.trainable = {p.dtype for p in model.parameters() if p.requires_grad}
        layers = [m for m in model.modules() if isinstance(m, Linear4bit)]
        self.compute = {layer.compute_dtype for layer in layers}
        for layer in layers:
            layer.register_forward_pre_hook(self._record)

    def _record(self, module, inputs):
        enabled = torch.is_autocast_enabled("cpu")
        self.autocast.add(torch.get_autocast_dtype("cpu") if enabled else None)


def test_a_qlora_round_under_bf16_trains_fp32_lora_weights(
    tiny_settings, tiny_model_dir, monkeypatch
):
    pytest.importorskip("bitsandbytes")
    from safetensors.torch import load_file

    config = TrainConfig.from_settings(tiny_settings, method="qlora", max_steps=2)
    runs = {}
    for native in (True, False):
        monkeypatch.setattr(trainer_module, "cpu_has_native_bf16", lambda native=native: native)
        precision = RecordPrecision()
        result = train_adapter(
            tiny_settings,
            base_of(tiny_model_dir),
            sft_records(),
            f"data-native-{native}",  # two runs, not one reused
            config,
            callbacks=[precision],
        )
        runs[native] = (result, precision)

    bf16, precision = runs[True]
    assert bf16.metrics["compute_dtype"] == "bfloat16"
    assert precision.compute == {torch.bfloat16}
    assert precision.autocast == {torch.bfloat16}  # the Trainer's CPU autocast was on
    assert precision.trainable == {torch.float32}  # LoRA weights stay fp32
    assert lora_b_max(bf16.adapter_dir) > 0  # LoRA B starts at zero: training moved it
    saved = load_file(bf16.adapter_dir / "adapter_model.safetensors")
    assert {t.dtype for t in saved.values()} == {torch.float32}
    steps = [e for e in read_events(bf16.run_dir / "events.jsonl") if e["event"] == "train_step"]
    assert len(steps) == 2 and all(math.isfinite(e["loss"]) and e["loss"] > 0 for e in steps)
    assert math.isfinite(bf16.metrics["train_loss"])

    fp32, precision = runs[False]
    assert fp32.metrics["compute_dtype"] == "float32"
    assert precision.compute == {torch.float32} and precision.autocast == {None}
    # Same first batch, same weights: bf16 rounding moves the loss a little, not a lot.
    assert bf16.metrics["first_loss"] != fp32.metrics["first_loss"]
    assert bf16.metrics["first_loss"] == pytest.approx(fp32.metrics["first_loss"], rel=0.02)


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
