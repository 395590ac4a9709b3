"""Open a Chroma client: a local directory, or a server when a host or port is set."""

from __future__ import annotations

import os

from retrieval.errors import RetrievalError
from retrieval.settings import IndexSettings

DEFAULT_CHROMA_PORT = 8000

# Read by chromadb's settings and by its posthog client; set before chromadb is imported.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def open_client(settings: IndexSettings):  # -> chromadb.api.ClientAPI
    import chromadb
    from chromadb.config import Settings

    chroma_settings = Settings(anonymized_telemetry=False)
    if settings.uses_server:
        host = settings.chroma_host or "localhost"
        port = settings.chroma_port or DEFAULT_CHROMA_PORT
        try:
            return chromadb.HttpClient(host=host, port=port, settings=chroma_settings)
        except ValueError as exc:  # chromadb's "Could not connect to a Chroma server"
            raise RetrievalError(
                f"cannot reach the Chroma server at {host}:{port}; start it, or unset "
                "retrieval.chroma_host and chroma_port to use the local index"
            ) from exc
    try:
        settings.chroma_directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RetrievalError(
            f"cannot create the index folder {settings.chroma_directory} ({exc.strerror}); "
            "give a data directory you can write to"
        ) from None
    return chromadb.PersistentClient(path=str(settings.chroma_directory), settings=chroma_settings)
