"""The composition root: settings in, a ready chat engine (model, store, knowledge base) out."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from assistant.engine import AdapterChoice, ChatEngine
from assistant.errors import DeskloopError
from assistant.model_prep import prepare_base_model
from assistant.settings import Settings
from assistant.store import Store

Progress = Callable[[str], None]


def quiet_libraries() -> None:
    """Keep third-party progress bars and warnings off the user's terminal."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # bitsandbytes (imported with transformers' trainer, even by sentence-transformers) warns
    # on AVX512-BF16 CPUs that an optional kernel cannot be downloaded: nothing to act on here.
    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    # pypdf logs what it repairs in a damaged PDF ("EOF marker not found"); ingest reports a
    # PDF it cannot read on its own line
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def open_store(settings: Settings) -> Store:
    """The conversation store; flags make approved answers, PII masked, when tuning is here."""
    try:
        from tuning.approved import scrub_text
    except ImportError:
        scrub_text = None
    ensure_home(settings)
    return Store(settings.store_url, scrub=scrub_text)


def ensure_home(settings: Settings) -> None:
    """Create the data directory, or say how to give one deskloop can write to."""
    root = settings.paths.root
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DeskloopError(
            f"cannot create the data directory {root} ({exc.strerror}): "
            "set DESKLOOP_HOME to a folder you can write to"
        ) from None
    if not root.is_dir():
        raise DeskloopError(f"DESKLOOP_HOME {root} is not a folder: set it to a folder")


def open_approved_lookup(settings: Settings, store: Store):
    """Approved answers matched with the knowledge base's embedder, or None without tuning."""
    try:
        from tuning.approved import ApprovedMatcher
    except ImportError:
        return None
    from retrieval.embeddings import shared_embedder

    embedder = shared_embedder(settings.retrieval.embedding_model, "cpu")
    return ApprovedMatcher(store, embedder, settings.approved_min_similarity)


def open_knowledge_base(settings: Settings):
    from assistant.hf_model import pick_device
    from retrieval import IndexSettings, KnowledgeBase

    options = settings.retrieval
    return KnowledgeBase(
        IndexSettings(
            directory=settings.paths.index,
            chroma_host=options.chroma_host,
            chroma_port=options.chroma_port,
            collection=options.collection,
            embedding_model=options.embedding_model,
            chunk_tokens=options.chunk_tokens,
            chunk_overlap=options.chunk_overlap,
            device=pick_device(settings.device),
        )
    )


def open_engine(
    settings: Settings,
    progress: Progress = lambda _: None,
    adapter_choice: AdapterChoice | None = None,
    grounded: bool = True,
) -> ChatEngine:
    from assistant.answering.grounder import knowledge_base_grounder
    from assistant.backends import open_backend
    from assistant.grounding import KnowledgeBaseRetriever

    quiet_libraries()
    base = prepare_base_model(settings, progress)
    model = open_backend(settings, base, progress)
    retriever = grounder = None
    if grounded:
        progress("Opening the knowledge base")
        knowledge_base = open_knowledge_base(settings)
        if not knowledge_base.is_empty():
            retriever = KnowledgeBaseRetriever(knowledge_base)
            # loaded now rather than by the first question, so that "ready" means ready
            progress("Loading the embedding model")
            knowledge_base.embedder.embed_query("")
            grounder = knowledge_base_grounder(knowledge_base, settings.answers)
    store = open_store(settings)
    approved = open_approved_lookup(settings, store)
    return ChatEngine(
        model, store, settings, retriever, adapter_choice, grounder, approved=approved
    )


def samples_to_index(settings: Settings):
    """On first run (an empty knowledge base), the knowledge base and the sample corpora to
    index into it; otherwise None."""
    corpora = shipped_corpora()
    if corpora is None:
        return None
    quiet_libraries()
    knowledge_base = open_knowledge_base(settings)
    return (knowledge_base, corpora) if knowledge_base.is_empty() else None


def sample_batches(corpora: Path) -> list[tuple[Path, dict]]:
    """The sample knowledge base as ingest batches: each folder with its ingest options."""
    return [(corpora / "manuals", {}), (corpora / "tickets", {"tickets": True})]


def shipped_corpora() -> Path | None:
    """The sample knowledge base beside the package (an editable or source install)."""
    folder = Path(__file__).resolve().parent.parent / "corpora"
    return folder if (folder / "manuals").is_dir() else None


def fixed_adapter(version: str | None, path: Path | None) -> AdapterChoice:
    return lambda: (version, path)
