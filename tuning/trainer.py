"""One (Q)LoRA training run: SFT on the assistant's tokens, checkpointed, resumable, observable.

QLoRA loads the base in 4-bit NF4 with double quantisation through bitsandbytes; LoRA
(``method="lora"``) loads it unquantised. The matmuls run in bf16 on CUDA and on CPUs with
native bf16 arithmetic (AMX or AVX-512 BF16: the Trainer's CPU autocast over an fp32 model,
the 4-bit layers dequantising to bf16, LoRA weights and optimizer state in fp32), in fp32
on other CPUs (where TRL keeps a QLoRA adapter in bf16, as it always did);
``compute_dtype`` in the run's events and metrics says which. Either way LoRA sits on every
linear layer and TRL's SFTTrainer computes the loss on the completion (the answer) only,
from prompt/completion records built with serving's ``build_messages``.

A run lives in ``runs/<run_id>/``: ``run.json`` (its key, config and status),
``events.jsonl``, ``checkpoints/`` and, once finished, ``adapter/``. A run that was killed
is resumed from its last checkpoint by the next run with the same key (base model,
dataset hash and training config); anything else starts a new run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import resource
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from transformers import PrinterCallback, TrainerCallback

from assistant.hf_model import load_causal_lm, load_tokenizer, pick_device, pick_dtype
from assistant.model_prep import BaseModelRef
from assistant.prompt import TokenizerCounter
from assistant.settings import Settings
from retrieval.embeddings import cpu_has_native_bf16
from tuning.dataset import write_json
from tuning.events import EventLog, Progress, ignore
from tuning.prompts import serving_messages

RUN_FILE = "run.json"
RUNNING, TRAINED = "running", "trained"


@dataclass(frozen=True)
class TrainConfig:
    method: Literal["qlora", "lora"] = "qlora"
    max_steps: int = 60  # -1: train for ``epochs`` instead
    epochs: float = 1.0
    learning_rate: float = 2e-4
    batch_size: int = 4
    grad_accum: int = 2
    max_length: int = 768
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    seed: int = 42
    save_steps: int = 10
    save_total_limit: int = 2

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        method: str | None = None,
        max_steps: int | None = None,
        epochs: float | None = None,
        **overrides: Any,
    ) -> TrainConfig:
        """Settings with command-line overrides; epochs apply only when no step count is given."""
        t = settings.training
        epochs = epochs if epochs is not None else t.epochs
        if max_steps is None:
            max_steps = -1 if epochs is not None and epochs > 0 else t.max_steps
        return cls(
            method=method or t.method,
            max_steps=max_steps,
            epochs=epochs or 1.0,
            learning_rate=t.learning_rate,
            batch_size=t.batch_size,
            grad_accum=t.grad_accum,
            max_length=t.max_length,
            lora_r=t.lora_r,
            lora_alpha=t.lora_alpha,
            lora_dropout=t.lora_dropout,
            seed=t.seed,
            **overrides,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainResult:
    run_id: str
    run_dir: Path
    adapter_dir: Path
    resumed_from_step: int | None
    metrics: dict[str, Any] = field(default_factory=dict)


def training_records(
    sft_records: Sequence[Mapping[str, Any]], tokenizer, settings: Settings, max_length: int
) -> list[dict[str, Any]]:
    """Conversational prompt/completion records in serving's layout (system policy, sources)."""
    counter = TokenizerCounter(tokenizer)
    records = []
    for record in sft_records:
        messages = record["messages"]
        answer = messages[-1]["content"]
        room = max_length - counter.count_text(answer) - 8
        context = max(64, min(settings.prompt.context_tokens, room))
        prompt = serving_messages(messages[:-1], record.get("sources"), counter, settings, context)
        records.append({"prompt": prompt, "completion": [{"role": "assistant", "content": answer}]})
    return records


def run_key(base: BaseModelRef, dataset_sha256: str, config: TrainConfig) -> str:
    identity = {
        "base": [base.model_id, base.sha256],
        "dataset": dataset_sha256,
        "config": config.to_dict(),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def _runs_with_key(runs_root: Path, key: str, status: str) -> list[tuple[dict, Path]]:
    """Runs with this key and status, newest first."""
    found = []
    for info_path in runs_root.glob(f"*/{RUN_FILE}"):
        try:
            info = json.loads(info_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if info.get("key") == key and info.get("status") == status:
            found.append((info, info_path.parent))
    return sorted(found, key=lambda pair: pair[0].get("started_at", ""), reverse=True)


def find_resumable(runs_root: Path, key: str) -> Path | None:
    """The newest unfinished run with this key that has a checkpoint to resume from."""
    from transformers.trainer_utils import get_last_checkpoint

    for _, run_dir in _runs_with_key(runs_root, key, RUNNING):
        checkpoints = run_dir / "checkpoints"
        if checkpoints.is_dir() and get_last_checkpoint(str(checkpoints)):
            return run_dir
    return None


def find_trained(runs_root: Path, key: str) -> TrainResult | None:
    """A run with this key that finished training but not its round (killed in evaluation)."""
    for info, run_dir in _runs_with_key(runs_root, key, TRAINED):
        adapter_dir = run_dir / "adapter"
        if (adapter_dir / "adapter_model.safetensors").is_file():
            metrics = info.get("metrics", {})
            return TrainResult(
                run_dir.name,
                run_dir,
                adapter_dir,
                metrics.get("resumed_from_step"),
                {**metrics, "reused": True},
            )
    return None


def train_adapter(
    settings: Settings,
    base: BaseModelRef,
    sft_records: Sequence[Mapping[str, Any]],
    dataset_sha256: str,
    config: TrainConfig,
    progress: Progress = ignore,
    callbacks: Sequence[Any] = (),
    *,
    compact_lm_head: bool = True,
    share_prefix: bool = True,
) -> TrainResult:
    """Train a LoRA adapter on ``sft_records`` (records with ``messages`` and ``sources``).

    Two speed settings, not part of the run's key (the loss is the same either way):
    ``compact_lm_head`` projects only the answer's positions through the LM head (False:
    TRL's own choice off CUDA, every position, prompt and padding included);
    ``share_prefix`` computes the prompt prefix that a batch's rows share (the system
    policy) once per batch instead of once per row.
    """
    import torch
    from transformers import set_seed
    from transformers.trainer_utils import get_last_checkpoint

    from tuning.dataset import to_hf_dataset

    if not sft_records:
        raise ValueError("no training records")
    runs_root = settings.paths.runs
    key = run_key(base, dataset_sha256, config)
    trained = find_trained(runs_root, key)
    if trained is not None:
        progress({"event": "train_reused", "run_id": trained.run_id})
        return trained
    run_dir = find_resumable(runs_root, key)
    resume_from = get_last_checkpoint(str(run_dir / "checkpoints")) if run_dir else None
    if run_dir is None:
        run_id = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        run_dir = runs_root / run_id
        run_dir.mkdir(parents=True)
    info = {
        "run_id": run_dir.name,
        "key": key,
        "status": RUNNING,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "base_model": {"model_id": base.model_id, "sha256": base.sha256},
        "dataset_sha256": dataset_sha256,
        "config": config.to_dict(),
    }
    if resume_from:
        previous = json.loads((run_dir / RUN_FILE).read_text(encoding="utf-8"))
        info["started_at"] = previous.get("started_at", info["started_at"])
    write_json(run_dir / RUN_FILE, info)
    log = EventLog(run_dir / "events.jsonl", progress)

    device = pick_device(settings.device)
    if settings.threads:
        torch.set_num_threads(settings.threads)
    set_seed(config.seed)
    tokenizer = load_tokenizer(base.location)
    records = training_records(sft_records, tokenizer, settings, config.max_length)
    dtype = pick_dtype(settings.dtype, device)
    compute_dtype = training_compute_dtype(settings.dtype, device)
    model = _lora_model(base.location, device, dtype, config, compute_dtype=compute_dtype)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()

    resumed_step = _checkpoint_step(resume_from)
    log(
        {
            "event": "train_start",
            "run_id": run_dir.name,
            "examples": len(records),
            "method": config.method,
            "device": device,
            "compute_dtype": _dtype_name(compute_dtype),
            "resumed_from_step": resumed_step,
        }
    )
    cpu_bf16 = device == "cpu" and dtype != compute_dtype  # the Trainer's CPU autocast
    trainer = _trainer_class()(
        compact_lm_head=compact_lm_head,
        share_prefix=share_prefix,
        fp32_adapter=cpu_bf16,
        model=model,
        args=_sft_config(run_dir / "checkpoints", config, device, cpu_bf16=cpu_bf16),
        train_dataset=to_hf_dataset(records),
        processing_class=tokenizer,
        callbacks=[ProgressCallback(log), *callbacks],
    )
    trainer.remove_callback(PrinterCallback)  # it prints log dicts on stdout
    started = time.perf_counter()
    output = trainer.train(resume_from_checkpoint=resume_from)
    wall_s = time.perf_counter() - started

    adapter_dir = run_dir / "adapter"
    trainer.model.save_pretrained(str(adapter_dir))
    state = trainer.state
    trained_tokens = state.num_input_tokens_seen - _tokens_at(resume_from)
    positions = trainer.positions_seen  # padded batch positions, this process only
    losses = [entry["loss"] for entry in state.log_history if "loss" in entry]
    metrics = {
        "method": config.method,
        "device": device,
        "compute_dtype": _dtype_name(compute_dtype),
        "global_step": state.global_step,
        "train_loss": round(output.training_loss, 4),
        "first_loss": losses[0] if losses else None,
        "last_loss": losses[-1] if losses else None,
        "examples": len(records),
        "train_tokens": state.num_input_tokens_seen,
        "tokens_per_s": round(trained_tokens / wall_s, 1) if wall_s else None,
        "padding_share": round(1 - trained_tokens / positions, 4) if positions else None,
        "shared_prefix_share": (
            round(trainer.prefix_positions_saved / positions, 4) if positions else None
        ),
        "wall_s": round(wall_s, 1),
        "peak_memory_mb": _peak_memory_mb(device),
        "memory_kind": "cuda max allocated" if device == "cuda" else "process peak RSS",
        "resumed_from_step": resumed_step,
    }
    write_json(
        run_dir / RUN_FILE,
        {
            **info,
            "status": TRAINED,
            "metrics": metrics,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    log({"event": "train_end", **metrics})
    return TrainResult(run_dir.name, run_dir, adapter_dir, resumed_step, metrics)


def _trainer_class():
    """TRL's SFTTrainer, counting batch positions and optionally with a compact LM head.

    ``fp32_adapter``: keep the trainable (LoRA) weights in fp32. TRL casts a quantised
    model's adapter to bf16 whatever the precision settings; under autocast the matmuls
    run in bf16 anyway, and fp32 master weights keep Adam's small updates (lr 2e-4 is
    about one bf16 step of a typical LoRA A weight) from being rounded away.
    """
    import torch
    from trl import SFTTrainer

    class DeskloopSFTTrainer(SFTTrainer):
        def __init__(
            self,
            *args,
            compact_lm_head: bool = True,
            share_prefix: bool = True,
            fp32_adapter: bool = False,
            **kwargs,
        ):
            super().__init__(*args, **kwargs)
            if fp32_adapter:
                for param in self.model.parameters():
                    if param.requires_grad and param.dtype != torch.float32:
                        param.data = param.data.float()
            self.compact_lm_head = compact_lm_head
            self.share_prefix = share_prefix
            self.positions_seen = 0  # padded positions of the training batches
            self.prefix_positions_saved = 0  # positions the shared prefix did not recompute

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if model.training:
                self.positions_seen += int(inputs["input_ids"].numel())
                if self.share_prefix and not return_outputs:
                    shared = with_shared_prefix(model, inputs)
                    if shared is not None:
                        inputs, saved = shared
                        self.prefix_positions_saved += saved
            with compact_lm_head_scope(self.compact_lm_head):
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)

    return DeskloopSFTTrainer


@contextlib.contextmanager
def compact_lm_head_scope(enabled: bool = True):
    """Within it, TRL's fused LM head projects only the positions that have a label.

    TRL (``trl.trainer.utils.add_fused_lm_head``) compacts the hidden states to the
    labelled positions only where its Triton kernels run (CUDA, XPU); elsewhere it
    projects every position, prompt and padding included, through the 49k-wide head
    (three matmuls and a dozen element-wise passes per position) and zeroes them after.
    The loss is the same either way; on the CPU the compact form does a third to half
    less LM-head work. Without the hook (another TRL), this does nothing.
    """
    import trl.trainer.utils as trl_utils

    original = getattr(trl_utils, "_use_triton", None)
    if not enabled or original is None:
        yield
        return
    trl_utils._use_triton = _compact_everywhere
    try:
        yield
    finally:
        trl_utils._use_triton = original


MIN_SHARED_PREFIX = 8  # positions; below this a shared prefix is not worth a second call
_BATCH_KEYS = {"input_ids", "attention_mask", "labels"}


def shared_prefix_length(input_ids, attention_mask, labels) -> int:
    """Leading positions that every row of the batch has in common and that carry no loss.

    The rows' hidden states there are identical (same tokens at the same positions under
    a causal mask), so they can be computed once. The position right after the prefix must
    carry no label either: it is predicted from the prefix's last hidden state, which the
    suffix pass does not produce.
    """
    import torch

    unlabelled = (labels == -100).all(0)
    same = (input_ids == input_ids[:1]).all(0) & attention_mask.bool().all(0) & unlabelled
    length = int(torch.cumprod(same.int(), 0).sum())
    while length > 0 and (length >= labels.shape[1] or not bool(unlabelled[length])):
        length -= 1
    return length


def with_shared_prefix(model, inputs):
    """``inputs`` for the suffix only, with the common prefix computed once as a KV cache.

    Every training prompt starts with the same system policy (77 of a Bitext record's
    ~240 tokens with SmolLM2's template), so with right padding a batch of 4 computes it
    once instead of four times, gradients flowing through the cache into the LoRA
    weights. Same loss and gradients (up to dropout masks, now shared by the rows on the
    prefix, and float rounding). Returns ``(inputs, positions saved)``, or None where
    there is nothing to share (one row, short prefix, padding-free or unknown inputs).
    """
    if set(inputs) != _BATCH_KEYS:
        return None
    input_ids, attention_mask, labels = (
        inputs["input_ids"],
        inputs["attention_mask"],
        inputs["labels"],
    )
    rows = input_ids.shape[0]
    if rows < 2 or _checkpointing(model):  # checkpointed layers return no cache
        return None
    length = shared_prefix_length(input_ids, attention_mask, labels)
    if length < MIN_SHARED_PREFIX:
        return None
    prefix = model(
        input_ids=input_ids[:1, :length],
        attention_mask=attention_mask[:1, :length],
        use_cache=True,
        logits_to_keep=1,
    )
    cache = prefix.past_key_values
    if cache is None:
        return None
    cache.batch_repeat_interleave(rows)
    suffix = {
        "input_ids": input_ids[:, length:],
        "attention_mask": attention_mask,  # prefix + suffix, as a cached forward expects
        "labels": labels[:, length:],
        "past_key_values": cache,
    }
    return suffix, (rows - 1) * length


def _checkpointing(model) -> bool:
    return any(getattr(module, "gradient_checkpointing", False) for module in model.modules())


def _compact_everywhere(device) -> bool:
    # Only trl.trainer.utils' own name is replaced: the kernels still pick Triton or torch
    # by their own check.
    return True


def training_compute_dtype(requested: str, device: str):
    """The dtype the round's matmuls run in.

    CUDA: bf16 (the Trainer's autocast). CPU with ``dtype = "auto"``: bf16 where the CPU
    has native bf16 arithmetic, the model itself staying fp32 under the Trainer's CPU
    autocast, fp32 elsewhere. An explicit ``dtype`` (or another device): that dtype.
    """
    import torch

    if device == "cuda":
        return torch.bfloat16
    if device == "cpu" and requested == "auto":
        return torch.bfloat16 if cpu_has_native_bf16() else torch.float32
    return pick_dtype(requested, device)


def _dtype_name(dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _lora_model(location: str, device: str, dtype, config: TrainConfig, *, compute_dtype=None):
    """The base in ``dtype`` with LoRA on every linear layer; QLoRA's 4-bit layers
    dequantise to ``compute_dtype`` (default: ``dtype``) and multiply in it."""
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    quantized = config.method == "qlora"
    model = load_causal_lm(location, device, dtype, quantized, compute_dtype)
    if quantized:
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=device == "cuda")
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules="all-linear",
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(model, lora)
    model.train()
    return model


def _sft_config(output_dir: Path, config: TrainConfig, device: str, *, cpu_bf16: bool = False):
    """TRL's settings for the round; ``cpu_bf16``: the forward under bf16 autocast on the
    CPU (matmuls and attention in bf16; weights, gradients and optimizer state as loaded)."""
    from trl import SFTConfig

    cuda = device == "cuda"
    return SFTConfig(
        output_dir=str(output_dir),
        max_steps=config.max_steps,
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.learning_rate,
        lr_scheduler_type="cosine",
        logging_steps=1,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        seed=config.seed,
        data_seed=config.seed,
        max_length=config.max_length,
        completion_only_loss=True,
        train_sampling_strategy="group_by_length",
        include_num_input_tokens_seen="non_padding",
        use_cpu=not cuda,
        bf16=cuda or cpu_bf16,
        optim="paged_adamw_8bit" if cuda and config.method == "qlora" else "adamw_torch",
        report_to=[],
        disable_tqdm=True,
        dataloader_num_workers=0,
        # Explicit: TRL defaults to checkpointing, which on the CPU only recomputes activations.
        activation_checkpointing=cuda and config.method == "qlora",
    )


def _checkpoint_step(checkpoint: str | None) -> int | None:
    return int(Path(checkpoint).name.rsplit("-", 1)[-1]) if checkpoint else None


def _tokens_at(checkpoint: str | None) -> int:
    if not checkpoint:
        return 0
    state = json.loads((Path(checkpoint) / "trainer_state.json").read_text(encoding="utf-8"))
    return int(state.get("num_input_tokens_seen", 0))


def _peak_memory_mb(device: str) -> float:
    if device == "cuda":
        import torch

        return round(torch.cuda.max_memory_allocated() / 2**20, 1)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return round(peak / (2**20 if sys.platform == "darwin" else 2**10), 1)


class ProgressCallback(TrainerCallback):
    """Emits one ``train_step`` event per optimizer step with loss, rate and ETA."""

    def __init__(self, log: EventLog):
        self.log = log
        self._started: float | None = None
        self._first_step = 0
        self._first_tokens = 0

    def on_train_begin(self, args, state, control, **kwargs):
        self._started = time.perf_counter()
        self._first_step = state.global_step
        self._first_tokens = state.num_input_tokens_seen

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs or "loss" not in logs or self._started is None:
            return
        elapsed = time.perf_counter() - self._started
        done = state.global_step - self._first_step
        tokens = state.num_input_tokens_seen - self._first_tokens
        remaining = max(state.max_steps - state.global_step, 0)
        self.log(
            {
                "event": "train_step",
                "step": state.global_step,
                "max_steps": state.max_steps,
                "loss": round(float(logs["loss"]), 4),
                "learning_rate": logs.get("learning_rate"),
                "tokens_per_s": round(tokens / elapsed, 1) if elapsed else None,
                "eta_s": round(elapsed / done * remaining, 1) if done else None,
            }
        )
