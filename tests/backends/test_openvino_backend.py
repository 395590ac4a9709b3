"""serving = "openvino": a real export of the tiny model and real generation in OpenVINO GenAI,
against transformers fp32 (and transformers + peft with an adapter)."""

from __future__ import annotations

import os
import stat
import sys
import threading
from pathlib import Path

import pytest
import torch

from assistant.backends import Adapter, choose, open_backend
from assistant.backends.openvino_backend import OpenVINOBackend, openvino_installed
from assistant.backends.openvino_export import (
    EXPORT_ENV,
    ExporterMissing,
    cache_folder,
    exported_model,
)
from assistant.errors import DeskloopError
from assistant.hf_model import HFChatModel
from assistant.model_prep import resolve_base_model
from assistant.serving_form import fp16_weights_supported
from assistant.settings import GenerationSettings, load_settings

EXPORTER = Path(sys.prefix).parent / EXPORT_ENV / "bin" / "optimum-cli"
needs_exporter = pytest.mark.skipif(
    # CI builds the export venv (make install): there a missing one fails
    not (EXPORTER.is_file() and openvino_installed()) and not os.environ.get("CI"),
    reason="no OpenVINO export env: run `make install`",
)

PROMPTS = [
    [{"role": "user", "content": "How do I reset my password?"}],
    [
        {"role": "system", "content": "You are a customer support assistant."},
        {"role": "user", "content": "Why is my camera offline? The hub LED blinks blue."},
    ],
]
OPTIONS = GenerationSettings(max_new_tokens=40)


def answer(backend, messages, adapter=None, options=OPTIONS) -> str:
    return "".join(backend.stream(messages, options, adapter, threading.Event()))


def make_adapter(location: str, folder: Path, seed: int, rank: int) -> Adapter:
    """A LoRA adapter with random non-zero weights on every linear layer of the tiny base."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(location)
    config = LoraConfig(
        r=rank, lora_alpha=2 * rank, target_modules="all-linear", init_lora_weights=False
    )
    get_peft_model(base, config).save_pretrained(folder)
    return Adapter(f"v{seed:04d}", folder)


@pytest.fixture(scope="module")
def settings_for(tiny_model_dir, tmp_path_factory):
    home = tmp_path_factory.mktemp("openvino-home")

    def settings_for(**overrides):
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("DESKLOOP_CONFIG", str(home / "no-config.toml"))
            for name in [n for n in os.environ if n.startswith("DESKLOOP_")]:
                patch.delenv(name)
            values = dict(home=home, model=str(tiny_model_dir), serving="openvino")
            return load_settings(**{**values, **overrides})

    return settings_for


@pytest.fixture(scope="module")
def served(settings_for) -> OpenVINOBackend:
    settings = settings_for()
    if not EXPORTER.is_file():
        pytest.fail(f"the export env is missing in CI ({EXPORTER}): make install builds it")
    return OpenVINOBackend.load(settings, resolve_base_model(settings))


@pytest.fixture(scope="module")
def reference(settings_for) -> HFChatModel:
    settings = settings_for(serving="plain")
    return HFChatModel.load(settings, resolve_base_model(settings))


@pytest.fixture(scope="module")
def adapters(reference, tmp_path_factory) -> tuple[Adapter, Adapter]:
    folder = tmp_path_factory.mktemp("adapters")
    location = reference.base.location
    return (
        make_adapter(location, folder / "a", seed=1, rank=4),
        make_adapter(location, folder / "b", seed=2, rank=8),
    )


@needs_exporter
def test_greedy_answers_equal_transformers_fp32(served, reference):
    # the tiny model's base answer is a run of newlines: a strong penalty makes it vary
    varied = GenerationSettings(max_new_tokens=40, repetition_penalty=2.0)
    compared = []
    for messages in PROMPTS:
        for options in (OPTIONS, varied):
            compared.append(answer(reference, messages, options=options))
            assert answer(served, messages, options=options) == compared[-1]
    assert max(len(set(text)) for text in compared) >= 3
    assert served.describe(None) == "openvino exact"


@needs_exporter
def test_adapter_a_then_b_on_the_same_prompt_matches_peft_with_b(served, reference, adapters):
    first, second = adapters
    messages = PROMPTS[1]
    served.prepare(first)
    with_first = answer(served, messages, first)
    with_second = answer(served, messages, second)  # right after A: no prefix computed under A

    assert with_second == answer(reference, messages, second)
    assert with_first == answer(reference, messages, first)
    assert with_first != with_second != answer(reference, messages)  # the adapters applied
    assert answer(served, messages) == answer(reference, messages)  # and the base is back


@needs_exporter
def test_cancel_stops_the_stream(served, adapters):
    long = GenerationSettings(max_new_tokens=300)
    messages = PROMPTS[0]
    whole = answer(served, messages, adapters[0], long)
    cancel = threading.Event()
    parts = []
    for chunk in served.stream(messages, long, adapters[0], cancel):
        parts.append(chunk)
        cancel.set()
    assert parts and whole.startswith("".join(parts))
    assert len("".join(parts)) < len(whole) / 2


@needs_exporter
def test_the_export_is_cached_under_the_model_identity_and_precision(served, settings_for):
    settings = settings_for()
    base = resolve_base_model(settings)
    folder = cache_folder(settings, base, "exact")
    assert served.ir_folder == folder and (folder / "openvino_model.xml").is_file()
    assert exported_model(settings, base, "exact") == folder  # no second export
    assert cache_folder(settings, base, "int8") != folder
    assert not [p for p in folder.parent.iterdir() if ".partial-" in p.name]


def test_a_missing_export_env_is_one_line_saying_what_to_do(tiny_model_dir, tmp_path):
    settings = load_settings(
        model=str(tiny_model_dir), serving="openvino", export_env=tmp_path / "nowhere"
    )
    with pytest.raises(DeskloopError) as caught:
        open_backend(settings, resolve_base_model(settings))
    message = str(caught.value)
    assert isinstance(caught.value, ExporterMissing) or not openvino_installed()
    assert "\n" not in message and "make install" in message


def test_auto_keeps_the_lean_runner_for_a_plain_llama(tiny_model_dir):
    settings = load_settings(model=str(tiny_model_dir), serving="auto")
    base = resolve_base_model(settings)
    assert choose.lean_runner_serves(settings, base) == fp16_weights_supported()
    assert not choose.lean_runner_serves(
        load_settings(model=str(tiny_model_dir), dtype="bfloat16"), base
    )


def test_auto_falls_back_to_transformers_without_the_export_env(
    tiny_model_dir, tmp_path, monkeypatch
):
    monkeypatch.setattr(choose, "lean_runner_serves", lambda settings, base: False)  # not Llama
    settings = load_settings(
        model=str(tiny_model_dir), serving="auto", export_env=tmp_path / "nowhere"
    )
    backend = open_backend(settings, resolve_base_model(settings))
    assert isinstance(backend, HFChatModel)
    assert answer(backend, PROMPTS[0])


@pytest.mark.skipif(not openvino_installed(), reason="openvino-genai is not installed")
def test_a_failed_export_leaves_no_folder_and_says_where_the_log_is(tiny_model_dir, tmp_path):
    cli = tmp_path / "env" / "bin" / "optimum-cli"
    cli.parent.mkdir(parents=True)
    cli.write_text(
        "#!/bin/sh\necho 'Exporting model'\necho 'ValueError: unsupported' >&2\nexit 1\n"
    )
    cli.chmod(cli.stat().st_mode | stat.S_IXUSR)
    settings = load_settings(
        model=str(tiny_model_dir), serving="openvino", export_env=tmp_path / "env"
    )
    base = resolve_base_model(settings)
    seen: list[str] = []
    with pytest.raises(DeskloopError) as caught:
        exported_model(settings, base, "exact", seen.append)
    message = str(caught.value)
    assert "ValueError: unsupported" in message and "export.log" in message
    assert "\n" not in message
    assert not cache_folder(settings, base, "exact").exists()
    assert any("Exporting" in line for line in seen)  # the exporter's progress was shown


@needs_exporter
def test_eval_answers_come_from_openvino_and_equal_the_engines(
    served, settings_for, adapters, tmp_path
):
    from assistant.app import fixed_adapter
    from assistant.engine import ChatEngine
    from assistant.store import Store
    from tuning.eval_answers import EvalAnswerer
    from tuning.evaluate import EvalExample, evaluate_examples

    settings = settings_for()
    adapter = adapters[1]
    examples = [EvalExample(messages, "Open Settings.") for messages in PROMPTS]
    answerer = EvalAnswerer(served, settings)
    answerer.use(adapter.version, adapter.path)
    calls = []
    generate = served._generate
    served._generate = lambda *args: calls.append(args[-1]) or generate(*args)
    try:
        report = evaluate_examples(answerer, examples)
    finally:
        del served._generate
    assert answerer.served_form == "openvino exact"
    assert len(calls) == len(examples) and all(loaded is not None for loaded in calls)
    engine = ChatEngine(
        served,
        Store(tmp_path / "chat.db"),
        settings,
        None,
        fixed_adapter(adapter.version, adapter.path),
    )
    asked = [
        engine.ask(example.prompt[-1]["content"], history=history).text()
        for example in examples
        for history in [[m for m in example.prompt[:-1] if m["role"] != "system"]]
    ]
    assert [row["answer"] for row in report.rows] == asked
