"""The base model in transformers: streaming through TextIteratorStreamer, adapters per call.

HFChatModel is the transformers backend (assistant/backends): each call names its adapter;
the one the weights were last set to stays loaded as a cache, with its serving copy.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.backends.seam import AnyEvent
from assistant.errors import DeskloopError
from assistant.model_prep import BaseModelRef
from assistant.prompt import TokenizerCounter

if TYPE_CHECKING:
    from assistant.backends.seam import Adapter
from assistant.serving_form import PLAIN, BuildSuperseded, build_serving_copy, choose_form
from assistant.settings import GenerationSettings, Settings

BASE = "base"

logger = logging.getLogger(__name__)

# Models whose serving copy may be building in a daemon thread. A process that ends while a
# build is inside torch aborts ("terminate called without an active exception", exit 134), so
# at exit every build is superseded and waited for: it stops at its next layer.
_building: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _stop_serving_builds() -> None:
    for model in list(_building):
        model._ticket += 1
        builder = model._builder
        if builder is not None:
            builder.join()


def pick_device(requested: str) -> str:
    import torch

    if requested != "auto":
        if requested == "cuda" and not torch.cuda.is_available():
            raise DeskloopError("device 'cuda' was asked for but no CUDA GPU is visible")
        return requested
    if torch.cuda.is_available():
        return "cuda"
    return "cpu"


def pick_dtype(requested: str, device: str):
    import torch

    if requested == "auto":
        return torch.bfloat16 if device == "cuda" else torch.float32
    return getattr(torch, requested)


def quantization_config(compute_dtype):
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute_dtype,
    )


def load_tokenizer(location: str):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(location)
    if tokenizer.chat_template is None:
        raise DeskloopError(
            f"{location} has no chat template: use an instruction-tuned (chat) model"
        )
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_causal_lm(
    location: str, device: str, dtype, load_in_4bit: bool = False, compute_dtype=None
):
    """The model with weights in `dtype`; 4-bit layers compute in `compute_dtype` (default:
    `dtype`)."""
    from transformers import AutoModelForCausalLM

    kwargs = {"dtype": dtype}
    if load_in_4bit:
        kwargs["quantization_config"] = quantization_config(compute_dtype or dtype)
        kwargs["device_map"] = {"": device}
    try:
        model = AutoModelForCausalLM.from_pretrained(location, **kwargs)
    except OSError as exc:
        raise DeskloopError(
            f"cannot load model '{location}': {str(exc).splitlines()[0]} "
            "(set DESKLOOP_MODEL to a local model folder when offline)"
        ) from None
    if not load_in_4bit:
        model.to(device)
    model.eval()
    return model


class _StopOnEvents(AnyEvent):
    """A stopping criterion that ends generation at the next token once any event is set."""

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        stop = self.is_set()
        return torch.full((input_ids.shape[0],), stop, dtype=torch.bool)


class HFChatModel:
    """The transformers backend: the model as loaded, served in one of its CPU forms."""

    def __init__(
        self,
        model,
        tokenizer,
        base: BaseModelRef,
        device: str,
        serving_form: str = PLAIN,
        decode_threads: int | None = None,
    ):
        self.model = model  # as loaded: adapters load into it and switch on it
        self.tokenizer = tokenizer
        self.counter = TokenizerCounter(tokenizer)
        self.base = base
        self.device = device
        self.serving_form = serving_form
        self.decode_threads = decode_threads  # for the lean runner's token-by-token steps
        # The adapter the weights are set to now: a cache of the last call's, not a choice
        # callers make. Only it stays loaded (two during a switch); the folders of the
        # adapters seen are remembered, so switching back reloads without being told the path.
        self.adapter_version: str | None = None
        self._loaded_adapters: set[str] = set()
        self._adapter_paths: dict[str, Path] = {}
        self._lock = threading.Lock()  # one generation or adapter switch at a time
        # The serving copy is built in the background (seconds on a CPU); until it is ready for
        # the active adapter, answers come from the model as loaded, which gives the same text.
        self._build_lock = threading.Lock()  # held while a copy is read out of self.model
        self._serving: tuple[str | None, object] | None = None
        self._builder: threading.Thread | None = None
        # bumped when the adapter changes: a build for the old one stops at its next layer, so
        # an adapter chosen at start does not wait for (or sit in memory beside) the base copy
        self._ticket = 0
        self.serving_error: str | None = None  # why the last serving copy failed to build
        self._scorer: tuple[tuple, object] | None = None  # the bfloat16 copy spans are scored on
        if serving_form != PLAIN:
            self._start_serving_build()

    @classmethod
    def load(cls, settings: Settings, base: BaseModelRef) -> HFChatModel:
        import torch

        if settings.threads:
            torch.set_num_threads(settings.threads)
        device = pick_device(settings.device)
        dtype = pick_dtype(settings.dtype, device)
        tokenizer = load_tokenizer(base.location)
        try:
            form = choose_form(settings.serving, device, dtype, settings.load_in_4bit)
        except ValueError as exc:
            raise DeskloopError(f"{exc}: set DESKLOOP_SERVING to 'auto' or 'plain'") from None
        model = load_causal_lm(base.location, device, dtype, settings.load_in_4bit)
        return cls(model, tokenizer, base, device, form, settings.decode_threads)

    @property
    def model_id(self) -> str:
        return self.base.model_id

    # the backend seam

    def prepare(self, adapter: Adapter | None) -> None:
        """Set the weights to ``adapter`` and wait for its serving copy."""
        self.use_adapter(*_version_and_path(adapter))
        self.wait_for_serving_form()

    def describe(self, adapter: Adapter | None) -> str:
        """The form answers with ``adapter`` come from now (plain while a copy builds or when
        its build failed)."""
        version, _ = _version_and_path(adapter)
        return self.serving_form if version == self.adapter_version and self.serving else PLAIN

    # adapters

    def use_adapter(self, version: str | None, path: Path | None = None) -> None:
        """Set the weights to adapter `version` (loaded from `path` the first time), or the
        base; its serving copy starts building in the background."""
        if version == BASE:
            version = None
        if version != self.adapter_version:
            self._ticket += 1
        with self._lock:
            self._switch(version, path)

    def _switch(self, version: str | None, path: Path | None) -> None:
        """use_adapter with self._lock held."""
        try:
            if version is not None or self._loaded_adapters:
                with self._build_lock:  # a build reads self.model
                    if version is None:
                        self._unload_adapters(keep=None)
                    else:
                        self._activate_adapter(version, path)
        except BaseException:
            if self.serving_form != PLAIN and self.serving is None:
                self._start_serving_build()  # the switch failed: finish the current copy
            raise
        changed = version != self.adapter_version
        self.adapter_version = version
        # a copy that failed to build is retried on the next switch, even to the same one
        if self.serving_form != PLAIN and (changed or self.serving_error is not None):
            self._serving = None  # free the old copy before building the new one
            self._start_serving_build()

    def _activate_adapter(self, version: str, path: Path | None) -> None:
        if version not in self._loaded_adapters:
            path = path or self._adapter_paths.get(version)
            if path is None or not (Path(path) / "adapter_config.json").is_file():
                raise DeskloopError(f"adapter {version} has no PEFT files at {path}")
            self._load_adapter(version, Path(path))
        self.model.set_adapter(version)
        self._unload_adapters(keep=version)

    def _unload_adapters(self, keep: str | None) -> None:
        """Free every loaded adapter but `keep`; with None, the base model is left bare."""
        stale = self._loaded_adapters - {keep}
        if not stale:
            return
        if keep is None:
            # a PeftModel with no adapter left cannot run: take the LoRA layers out instead
            self.model = self.model.unload()
        else:
            for name in stale:
                self.model.delete_adapter(name)
        self._loaded_adapters -= stale

    # the serving form

    @property
    def serving(self):
        """The serving copy for the active adapter, or None while it builds (or when plain)."""
        current = self._serving
        if current is not None and current[0] == self.adapter_version:
            return current[1]
        return None

    def wait_for_serving_form(self, timeout: float | None = None) -> bool:
        """Block until the serving copy for the active adapter is in place (True if it is)."""
        builder = self._builder
        if builder is not None:
            builder.join(timeout)
        return self.serving_form == PLAIN or self.serving is not None

    def _start_serving_build(self) -> None:
        self._builder = threading.Thread(
            target=self._build_serving,
            args=(self.adapter_version, self._ticket),
            name="deskloop-serving-form",
            daemon=True,
        )
        _building.add(self)
        self._builder.start()

    def _build_serving(self, version: str | None, ticket: int) -> None:
        with self._build_lock:
            if version != self.adapter_version or ticket != self._ticket:
                return  # switched again meanwhile: a newer build follows
            try:
                copy = build_serving_copy(
                    self.model,
                    version,
                    superseded=lambda: ticket != self._ticket,
                    form=self.serving_form,
                )
            except BuildSuperseded:
                return
            except Exception as exc:  # a thread's exception would otherwise vanish
                self._serving_failed(version, exc)
                return
        with self._lock:
            if version == self.adapter_version:
                self._serving = (version, copy)
                self.serving_error = None

    def _serving_failed(self, version: str | None, exc: Exception) -> None:
        self.serving_error = f"{type(exc).__name__}: {exc}"
        logger.warning(
            "building the %s serving copy for %s failed (%s); answering from the model as "
            "loaded (slower) until the next adapter switch",
            self.serving_form,
            version or "the base model",
            self.serving_error,
        )
        logger.debug("serving copy build failure", exc_info=exc)

    def _load_adapter(self, version: str, path: Path) -> None:
        from peft import PeftModel

        if isinstance(self.model, PeftModel):
            self.model.load_adapter(str(path), adapter_name=version)
        else:
            self.model = PeftModel.from_pretrained(self.model, str(path), adapter_name=version)
        self.model.eval()
        self._loaded_adapters.add(version)
        self._adapter_paths[version] = path

    # scoring

    def score(
        self, messages: list[dict], completions: list[str], adapter: Adapter | None
    ) -> list[float]:
        """Mean log-probability per token of each completion as the reply to ``messages``,
        under ``adapter``: how readily the model would say it."""
        from assistant.span_scores import mean_log_probs

        version, path = _version_and_path(adapter)
        if version != self.adapter_version:
            self._ticket += 1  # a build for the adapter being left stops at its next layer
        with self._lock:
            self._switch_if_needed(version, path)
            model = self._scoring_model()
            with self._adapter_context(model):
                return mean_log_probs(model, self.tokenizer, messages, completions)

    def _scoring_model(self):
        """The model as loaded, or where the CPU computes bfloat16 natively a bfloat16 copy of
        it with the same adapter, made once per adapter (self._lock held)."""
        from assistant.span_scores import bf16_copy, scores_faster_in_bf16

        if not scores_faster_in_bf16(self.model, self.device):
            return self.model
        key = (self.adapter_version, id(self.model))
        if self._scorer is None or self._scorer[0] != key:
            self._scorer = None  # the old copy goes before the new one is made
            with self._build_lock:  # a serving build may be reading self.model
                self._scorer = (key, bf16_copy(self.model))
        return self._scorer[1]

    def _switch_if_needed(self, version: str | None, path: Path | None) -> None:
        """Set the weights to ``version`` unless they are (self._lock held)."""
        if version != self.adapter_version:
            self._switch(version, path)

    def _adapter_context(self, model):
        if self.adapter_version is None and self._loaded_adapters:
            return model.disable_adapter()
        return contextlib.nullcontext()

    # generation

    def stream(
        self,
        messages: list[dict],
        options: GenerationSettings,
        adapter: Adapter | None,
        cancel: threading.Event,
    ) -> Iterator[str]:
        """Yield the answer's text with ``adapter`` (None: the base) as it is generated; stops
        at the next token once cancelled."""
        from transformers import StoppingCriteriaList, TextIteratorStreamer

        inputs = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        ).to(self.model.device)
        abandoned = threading.Event()
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        kwargs = dict(
            **inputs,
            streamer=streamer,
            max_new_tokens=options.max_new_tokens,
            repetition_penalty=options.repetition_penalty,
            stopping_criteria=StoppingCriteriaList([_StopOnEvents(cancel, abandoned)]),
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=self.tokenizer.eos_token_id,
        )
        if options.no_repeat_ngram_size:
            kwargs["no_repeat_ngram_size"] = options.no_repeat_ngram_size
        if options.temperature > 0:
            kwargs.update(do_sample=True, temperature=options.temperature, top_p=options.top_p)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        failure: list[BaseException] = []
        version, path = _version_and_path(adapter)
        if version != self.adapter_version:
            self._ticket += 1  # a build for the adapter being left stops at its next layer

        def generate() -> None:
            import torch

            try:
                with self._lock:
                    # outside inference mode: peft sets requires_grad on the layers it loads
                    self._switch_if_needed(version, path)
                    with torch.inference_mode():
                        torch.manual_seed(options.seed)
                        generate_locked()
            except BaseException as exc:  # surfaced in the consumer's thread below
                failure.append(exc)
                streamer.end()

        def generate_locked() -> None:
            from assistant.lean_llama import LeanLlama

            serving = self.serving
            if isinstance(serving, LeanLlama):
                lean_generate(serving, inputs["input_ids"][0], options)
            elif serving is not None:
                serving.generate(**kwargs)
            elif self.adapter_version is None and self._loaded_adapters:
                with self.model.disable_adapter():
                    self.model.generate(**kwargs)
            else:
                self.model.generate(**kwargs)

        def lean_generate(serving, prompt, options: GenerationSettings) -> None:
            import torch

            streamer.put(prompt[None])  # skipped (skip_prompt), as generate does
            serving.generate(
                prompt.tolist(),
                options,
                eos_token_id=self.tokenizer.eos_token_id,
                on_token=lambda token: streamer.put(torch.tensor([token])),
                should_stop=_StopOnEvents(cancel, abandoned).is_set,
                decode_threads=self.decode_threads,
            )
            streamer.end()

        worker = threading.Thread(target=generate, name="deskloop-generate", daemon=True)
        worker.start()
        try:
            yield from streamer
        finally:
            abandoned.set()  # the consumer stopped early; harmless once generation has ended
            worker.join()
        if failure:
            if isinstance(failure[0], DeskloopError):
                raise failure[0]
            raise DeskloopError(f"generation failed: {failure[0]}") from failure[0]


def _version_and_path(adapter: Adapter | None) -> tuple[str | None, Path | None]:
    return (None, None) if adapter is None else (adapter.version, adapter.path)
