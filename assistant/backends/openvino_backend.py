"""The OpenVINO GenAI backend: the model exported once, generation on the CPU in OpenVINO.

Prompts are built and tokenized with the model's own (transformers) tokenizer and chat
template, so the token ids are the ones transformers would see; at precision "exact" the
weights are fp16 and every computation and the KV cache fp32, which gives transformers fp32's
greedy answers. Prefix caching is off: it would reuse a prompt's keys and values computed
under another adapter. Adapters are named per call (openvino_adapters); the pipeline is
rebuilt to take adapters the first time one is asked for, and keeps that form after.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from assistant.backends.openvino_adapters import TEMPLATE, AdapterCache
from assistant.backends.openvino_export import exported_model
from assistant.backends.seam import Adapter, AnyEvent
from assistant.errors import DeskloopError
from assistant.model_prep import BaseModelRef
from assistant.prompt import TokenizerCounter
from assistant.settings import GenerationSettings, Settings

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]


def openvino_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("openvino_genai") is not None


def pipeline_properties(precision: str, threads: int | None) -> dict:
    properties: dict = {}
    if precision == "exact":
        properties.update(INFERENCE_PRECISION_HINT="f32", KV_CACHE_PRECISION="f32")
    if threads:
        properties["INFERENCE_NUM_THREADS"] = threads
    return properties


def generation_config(options: GenerationSettings, eos_token_id: int):
    import openvino_genai

    config = openvino_genai.GenerationConfig()
    config.max_new_tokens = options.max_new_tokens
    config.repetition_penalty = options.repetition_penalty
    if options.no_repeat_ngram_size:
        config.no_repeat_ngram_size = options.no_repeat_ngram_size
    if options.temperature > 0:
        config.do_sample = True
        config.temperature = options.temperature
        config.top_p = options.top_p
        config.rng_seed = options.seed
    else:
        config.do_sample = False
    config.eos_token_id = eos_token_id
    return config


def _token_sink(put: Callable[[list[int]], None], stop: AnyEvent):
    """An OpenVINO streamer handing each token on, and asking to stop once ``stop`` is set."""
    import openvino_genai

    class TokenSink(openvino_genai.StreamerBase):
        def write(self, token):
            put(token if isinstance(token, list) else [token])
            if stop.is_set():
                return openvino_genai.StreamingStatus.STOP
            return openvino_genai.StreamingStatus.RUNNING

        def end(self):
            pass

    return TokenSink()


class OpenVINOBackend:
    """Streams answers from an OpenVINO GenAI pipeline; the adapter is named on each call."""

    def __init__(
        self,
        ir_folder: Path,
        tokenizer,
        base: BaseModelRef,
        precision: str = "exact",
        threads: int | None = None,
    ):
        self.ir_folder = Path(ir_folder)
        self.tokenizer = tokenizer
        self.counter = TokenizerCounter(tokenizer)
        self.base = base
        self.precision = precision
        self.properties = pipeline_properties(precision, threads)
        self.adapters = AdapterCache()
        self._lock = threading.Lock()  # one generation (or pipeline rebuild) at a time
        self._pipeline = None
        self._takes_adapters = False
        self._scorer = None
        self._scorer_lock = threading.Lock()
        with self._lock:
            self._ensure_pipeline(adapters=False)

    @classmethod
    def load(
        cls, settings: Settings, base: BaseModelRef, progress: Progress = lambda _: None
    ) -> OpenVINOBackend:
        """The backend for ``base`` at ``settings.precision``, exported first when needed."""
        if not openvino_installed():
            raise DeskloopError(
                "OpenVINO GenAI is not installed: run 'make install' (or pip install "
                "openvino-genai), or set DESKLOOP_SERVING=plain"
            )
        from assistant.hf_model import load_tokenizer

        ir = exported_model(settings, base, settings.precision, progress)
        progress(f"Loading {base.model_id} in OpenVINO ({settings.precision})")
        return cls(ir, load_tokenizer(base.location), base, settings.precision, settings.threads)

    @property
    def model_id(self) -> str:
        return self.base.model_id

    # the backend seam

    def describe(self, adapter: Adapter | None) -> str:
        return f"openvino {self.precision}"

    def prepare(self, adapter: Adapter | None) -> None:
        """Load ``adapter``'s weights and have the pipeline take adapters (once)."""
        if adapter is None:
            return
        self.adapters.get(adapter.path, adapter.version)
        with self._lock:
            self._ensure_pipeline(adapters=True)

    def stream(
        self,
        messages: list[dict],
        options: GenerationSettings,
        adapter: Adapter | None,
        cancel: threading.Event,
    ) -> Iterator[str]:
        """Yield the answer's text with ``adapter`` (None: the base) as it is generated; stops
        at the next token once cancelled."""
        import numpy as np
        from transformers import TextIteratorStreamer

        ids = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="np", return_dict=True
        )["input_ids"]
        config = generation_config(options, self.tokenizer.eos_token_id)
        loaded = None if adapter is None else self.adapters.get(adapter.path, adapter.version)
        streamer = TextIteratorStreamer(self.tokenizer, skip_special_tokens=True)
        abandoned = threading.Event()
        stop = AnyEvent(cancel, abandoned)
        sink = _token_sink(lambda tokens: streamer.put(np.array(tokens)), stop)
        failure: list[BaseException] = []

        def generate() -> None:
            try:
                with self._lock:
                    self._ensure_pipeline(adapters=loaded is not None)
                    self._generate(ids, config, sink, loaded)
            except BaseException as exc:  # surfaced in the consumer's thread below
                failure.append(exc)
            finally:
                streamer.end()

        worker = threading.Thread(target=generate, name="deskloop-openvino", daemon=True)
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

    def _generate(self, ids, config, sink, loaded: tuple[object, float] | None) -> None:
        """One generation (self._lock held)."""
        import numpy as np
        import openvino
        import openvino_genai

        inputs = openvino_genai.TokenizedInputs(
            openvino.Tensor(ids.astype(np.int64)), openvino.Tensor(np.ones_like(ids, np.int64))
        )
        kwargs = {}
        if self._takes_adapters:
            dynamic = openvino_genai.AdapterConfig.Mode.MODE_DYNAMIC
            kwargs["adapters"] = (
                openvino_genai.AdapterConfig(dynamic)
                if loaded is None
                else openvino_genai.AdapterConfig(loaded[0], loaded[1], dynamic)
            )
        self._pipeline.generate(inputs, config, sink, **kwargs)

    def _ensure_pipeline(self, adapters: bool) -> None:
        """Build the pipeline, or rebuild it to take adapters (self._lock held)."""
        if self._pipeline is not None and (self._takes_adapters or not adapters):
            return
        import openvino_genai

        scheduler = openvino_genai.SchedulerConfig()
        scheduler.enable_prefix_caching = False
        kwargs = dict(scheduler_config=scheduler, **self.properties)
        if adapters:
            template = self.ir_folder / TEMPLATE
            if not template.is_file():
                raise DeskloopError(
                    f"{self.ir_folder} has no adapter template (the model has no safetensors "
                    "weights): set DESKLOOP_SERVING=plain to answer with adapters"
                )
            dynamic = openvino_genai.AdapterConfig.Mode.MODE_DYNAMIC
            kwargs["adapters"] = openvino_genai.AdapterConfig(
                openvino_genai.Adapter(str(template)), 0.0, dynamic
            )
        self._pipeline = None  # free the old one before compiling the new one
        try:
            self._pipeline = openvino_genai.LLMPipeline(str(self.ir_folder), "CPU", **kwargs)
        except RuntimeError as exc:
            reason = str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else "unknown"
            raise DeskloopError(
                f"OpenVINO cannot load {self.ir_folder} ({reason}): delete that folder to "
                "export it again, or set DESKLOOP_SERVING=plain"
            ) from None
        self._takes_adapters = adapters

    # scoring

    def score(
        self, messages: list[dict], completions: list[str], adapter: Adapter | None
    ) -> list[float]:
        """Mean log-probability per token of each completion under ``adapter``, from the
        transformers model (loaded the first time an adapter chooses among evidence spans:
        OpenVINO GenAI does not score given text)."""
        with self._scorer_lock:
            if self._scorer is None:
                import torch

                from assistant.hf_model import HFChatModel, load_causal_lm
                from assistant.span_scores import native_bf16

                dtype = torch.bfloat16 if native_bf16() else torch.float32
                model = load_causal_lm(self.base.location, "cpu", dtype)
                self._scorer = HFChatModel(model, self.tokenizer, self.base, "cpu")
        return self._scorer.score(messages, completions, adapter)
