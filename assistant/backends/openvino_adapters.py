"""PEFT LoRA adapters for OpenVINO GenAI, applied per call.

A pipeline applies adapters only to the layers it was built to take them on. It is built with
a zero "template" adapter (rank 1, every linear layer of the decoder, alpha 0) in dynamic
mode; each call then names its own adapter, of any rank, loaded from the PEFT folder as is.
"""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path

from assistant.errors import DeskloopError

TEMPLATE = "deskloop-lora-template.safetensors"
PEFT_PREFIX = "base_model.model."


def write_lora_template(model_folder: Path, out: Path) -> Path | None:
    """A zero rank-1 adapter on every 2-D weight inside the decoder's layers, from the
    safetensors headers (no weights are read); None for a model without safetensors."""
    import numpy as np
    from safetensors import safe_open
    from safetensors.numpy import save_file

    tensors = {}
    for weights in sorted(model_folder.glob("*.safetensors")):
        with safe_open(str(weights), "np") as handle:
            for key in handle.keys():  # noqa: SIM118 (safe_open is not a dict)
                shape = handle.get_slice(key).get_shape()
                if len(shape) == 2 and ".layers." in key and key.endswith(".weight"):
                    stem = PEFT_PREFIX + key.removesuffix(".weight")
                    tensors[f"{stem}.lora_A.weight"] = np.zeros((1, shape[1]), np.float32)
                    tensors[f"{stem}.lora_B.weight"] = np.zeros((shape[0], 1), np.float32)
    if not tensors:
        return None
    path = out / TEMPLATE
    save_file(tensors, str(path))
    return path


def peft_scale(config: dict) -> float:
    """The multiplier PEFT applies to B @ A: lora_alpha / r (or / sqrt(r) with rsLoRA)."""
    rank = config.get("r") or 8
    alpha = config.get("lora_alpha") or rank
    if config.get("rank_pattern") or config.get("alpha_pattern"):
        raise DeskloopError(
            "adapters with per-layer ranks or alphas are not served by OpenVINO: set "
            "DESKLOOP_SERVING=plain"
        )
    return alpha / (math.sqrt(rank) if config.get("use_rslora") else rank)


class AdapterCache:
    """Each adapter folder's OpenVINO Adapter, loaded once (milliseconds)."""

    def __init__(self):
        self._loaded: dict[Path, tuple[object, float]] = {}
        self._lock = threading.Lock()

    def get(self, folder: Path | None, version: str) -> tuple[object, float]:
        import openvino_genai

        if folder is None:
            raise DeskloopError(f"adapter {version} has no PEFT files (no folder given)")
        folder = Path(folder).resolve()
        with self._lock:
            if folder not in self._loaded:
                config_file = folder / "adapter_config.json"
                weights = folder / "adapter_model.safetensors"
                if not config_file.is_file() or not weights.is_file():
                    raise DeskloopError(f"adapter {version} has no PEFT files at {folder}")
                scale = peft_scale(json.loads(config_file.read_text()))
                self._loaded[folder] = (openvino_genai.Adapter(str(weights)), scale)
            return self._loaded[folder]
