"""The model exported once for OpenVINO (an IR folder per model and precision), cached.

The exporter (optimum-intel's `optimum-cli export openvino`) pins a transformers release other
than deskloop's, so it lives in its own environment (`.venv-export`, made by `make install`)
and runs as a subprocess. An export is written beside the cache under a temporary name and
renamed into place when complete: a failed or killed export leaves no half folder behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from assistant.errors import DeskloopError
from assistant.model_prep import BaseModelRef, _folder_fingerprint
from assistant.settings import Settings

EXPORT_ENV = ".venv-export"
WEIGHT_FORMAT = {"exact": "fp16", "int8": "int8", "int4": "int4"}
MARKER = "deskloop-openvino.json"
PARTIAL = ".partial-"
# what the exporter prints that is worth showing while it runs (it is silent for long spells)
PROGRESS_LINE = re.compile(r"^(Exporting|Applying|INFO:nncf:Statistics|Compressing)")

Progress = Callable[[str], None]


class ExporterMissing(DeskloopError):
    """The export environment (optimum-cli) is not installed."""


def export_cli(settings: Settings) -> Path:
    """optimum-cli in the export environment, or ExporterMissing saying how to make it."""
    env = settings.export_env or Path(sys.prefix).parent / EXPORT_ENV
    cli = Path(env).expanduser() / "bin" / "optimum-cli"
    if not cli.is_file():
        raise ExporterMissing(
            f"the OpenVINO exporter is missing ({cli}): run 'make install', or set "
            "DESKLOOP_SERVING=plain to answer with transformers"
        )
    return cli


def local_folder(base: BaseModelRef) -> Path:
    """The base model's local folder (a hub id only from the local Hugging Face cache)."""
    path = Path(base.location)
    if path.is_dir():
        return path
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(base.location, local_files_only=True))
    except Exception:
        raise DeskloopError(
            f"OpenVINO serving exports from a local model folder and '{base.location}' is "
            "not one: set DESKLOOP_MODEL to a downloaded model folder"
        ) from None


def cache_folder(settings: Settings, base: BaseModelRef, precision: str) -> Path:
    """Where the IR of ``base`` at ``precision`` is kept: named by the model folder's identity."""
    folder = local_folder(base)
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", folder.name).strip("-") or "model"
    return settings.paths.models / "openvino" / f"{name}-{model_identity(folder)[:12]}-{precision}"


def model_identity(folder: Path) -> str:
    """The folder's config, where it is, and its weight files' names, sizes and modification
    times: two fine-tunes of one architecture differ here though their configs and sizes match."""
    digest = hashlib.sha256(_folder_fingerprint(folder).encode())
    digest.update(str(folder.resolve()).encode())
    for weights in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
        digest.update(f"{weights.name}:{weights.stat().st_mtime_ns}".encode())
    return digest.hexdigest()


def exported_model(
    settings: Settings, base: BaseModelRef, precision: str, progress: Progress = lambda _: None
) -> Path:
    """The IR folder for ``base`` at ``precision``, exported first if it is not cached."""
    target = cache_folder(settings, base, precision)
    if (target / MARKER).is_file():
        return target
    cli = export_cli(settings)
    source = local_folder(base)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(target.parent)
    staging = target.with_name(f"{target.name}{PARTIAL}{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        copy = exportable_copy(source, staging / "source")
        ir = staging / "ir"
        progress(
            f"Exporting {source.name} for OpenVINO ({precision}; once, about a minute per "
            "hundred million parameters)"
        )
        run_exporter(cli, copy, ir, precision, staging / "export.log", progress)
        for needed in ("openvino_model.xml", "openvino_tokenizer.xml"):
            if not (ir / needed).is_file():
                raise DeskloopError(
                    f"the OpenVINO export of {source.name} made no {needed}: see "
                    f"{staging / 'export.log'}"
                )
        from assistant.backends.openvino_adapters import write_lora_template

        write_lora_template(source, ir)
        meta = {"source": str(source), "precision": precision, "model_id": base.model_id}
        (ir / MARKER).write_text(json.dumps(meta, indent=2))
        if target.exists():
            shutil.rmtree(target)
        os.replace(ir, target)
    except BaseException:
        if not (staging / "export.log").is_file():
            shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(staging, ignore_errors=True)
    progress(f"Exported to {target}")
    return target


def exportable_copy(source: Path, copy: Path) -> Path:
    """The model folder as links, with a config the exporter accepts (no null
    quantization_config, which a model converted from GGUF carries)."""
    copy.mkdir(parents=True)
    for item in source.iterdir():
        if item.name != "config.json":
            (copy / item.name).symlink_to(item.resolve())
    config = json.loads((source / "config.json").read_text())
    if config.get("quantization_config", "absent") is None:
        del config["quantization_config"]
    (copy / "config.json").write_text(json.dumps(config, indent=2))
    return copy


def exporter_arguments(source: Path, out: Path, precision: str) -> list[str]:
    args = ["export", "openvino", "--model", str(source), "--task", "text-generation-with-past"]
    args += ["--weight-format", WEIGHT_FORMAT[precision]]
    if precision == "int4":
        args += ["--group-size", str(int4_group_size(source))]
    return [*args, str(out)]


def int4_group_size(source: Path) -> int:
    """The largest of 128, 64, 32 that divides the model's widths (narrow models need 32)."""
    config = json.loads((source / "config.json").read_text())
    widths = [config.get(key) for key in ("hidden_size", "intermediate_size")]
    for size in (128, 64, 32):
        if all(not width or width % size == 0 for width in widths):
            return size
    return 32


def run_exporter(
    cli: Path, source: Path, out: Path, precision: str, log: Path, progress: Progress
) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    env.pop("PYTHONPATH", None)  # deskloop's environment must not leak into the exporter's
    command = [str(cli), *exporter_arguments(source, out, precision)]
    last = ""
    with log.open("w") as written:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        assert process.stdout is not None
        for line in process.stdout:
            written.write(line)
            text = line.strip()
            if text:
                last = text
            if PROGRESS_LINE.search(text):
                progress(text[:120])
        code = process.wait()
    if code != 0:
        raise DeskloopError(
            f"the OpenVINO export failed ({last[:160] or f'exit {code}'}): see {log}; set "
            "DESKLOOP_SERVING=plain to answer with transformers meanwhile"
        )


def remove_stale_partials(folder: Path) -> None:
    """Exports killed before they finished, by processes that are gone."""
    for partial in folder.glob(f"*{PARTIAL}*"):
        pid = partial.name.rsplit(PARTIAL, 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(partial, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
