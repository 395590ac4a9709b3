"""Open a Chroma client: a local directory, or a server when a host or port is set."""

from __future__ import annotations

import os

from retrieval.settings import IndexSettings

DEFAULT_CHROMA_PORT = 8000

# Read by chromadb's settings and by its posthog client; set before chromadb is imported.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def open_client(settings: IndexSettings):  # -> chromadb.api.ClientAPI
    import chromadb
    from chromadb.config import Settings

    chroma_settings = Settings(anonymized_telemetry=False)
    if settings.uses_server:
        return chromadb.HttpClient(
            host=settings.chroma_host or "localhost",
            port=settings.chroma_port or DEFAULT_CHROMA_PORT,
            settings=chroma_settings,
        )
    settings.chroma_directory.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_directory), settings=chroma_settings)
