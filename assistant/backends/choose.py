"""The backend the `serving` setting names."""

from __future__ import annotations

import logging
from collections.abc import Callable

from assistant.backends.seam import Backend
from assistant.errors import DeskloopError
from assistant.model_prep import BaseModelRef
from assistant.settings import Settings

OPENAI = "openai"
OPENVINO = "openvino"
AUTO = "auto"

logger = logging.getLogger(__name__)


def open_backend(
    settings: Settings, base: BaseModelRef | None, progress: Callable[[str], None] = lambda _: None
) -> Backend:
    """``serving = "openai"``: the server at openai.base_url, counting tokens with the local
    tokenizer of ``base`` when there is one; "openvino": OpenVINO GenAI at
    ``settings.precision``; "auto": transformers with the hand-written runner for a plain
    Llama on an x86 CPU (it measured faster than OpenVINO there, with identical answers),
    else OpenVINO when it serves this machine and the export works, else transformers; any
    other value: the model loaded here with transformers, in that serving form."""
    if settings.serving == OPENAI:
        from assistant.backends.counting import counter_for
        from assistant.backends.openai_backend import OpenAIBackend

        progress(f"Connecting to the model server at {settings.openai.base_url}")
        counter = counter_for(base.location if base is not None else None)
        return OpenAIBackend(settings.openai, counter, settings.paths.adapters)
    if base is None:
        raise ValueError("a local backend needs a base model")
    if settings.serving == OPENVINO:
        from assistant.backends.openvino_backend import OpenVINOBackend

        return OpenVINOBackend.load(settings, base, progress)
    if (
        settings.serving == AUTO
        and not lean_runner_serves(settings, base)
        and openvino_fits(settings)
    ):
        from assistant.backends.openvino_backend import OpenVINOBackend

        try:
            return OpenVINOBackend.load(settings, base, progress)
        except DeskloopError as exc:
            logger.warning("OpenVINO serving is unavailable (%s); using transformers", exc)
            progress(f"OpenVINO unavailable ({exc}); answering with transformers")
    from assistant.hf_model import HFChatModel

    progress(f"Loading {base.model_id}")
    return HFChatModel.load(settings, base)


def openvino_fits(settings: Settings) -> bool:
    """Whether "auto" tries OpenVINO: installed, on a CPU, with a model not loaded in 4 bits."""
    from assistant.backends.openvino_backend import openvino_installed
    from assistant.hf_model import pick_device

    if settings.load_in_4bit or not openvino_installed():
        return False
    try:
        return pick_device(settings.device) == "cpu"
    except DeskloopError:
        return False


def lean_runner_serves(settings: Settings, base: BaseModelRef) -> bool:
    """Whether "auto" keeps transformers with the lean runner: an fp32 plain Llama on an x86
    CPU (fbgemm's fp16 kernels), where it beat OpenVINO exact (BENCHMARKS.md, "Serving
    engines")."""
    from transformers import AutoConfig

    from assistant import lean_llama
    from assistant.hf_model import pick_device
    from assistant.serving_form import fp16_weights_supported

    if settings.load_in_4bit or settings.dtype not in ("auto", "float32"):
        return False
    try:
        if pick_device(settings.device) != "cpu":
            return False
        config = AutoConfig.from_pretrained(base.location)
    except (DeskloopError, OSError, ValueError):
        return False
    return lean_llama.supports_config(config) and fp16_weights_supported()
