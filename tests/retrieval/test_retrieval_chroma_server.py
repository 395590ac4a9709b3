"""Ingest and search against a real Chroma server started on loopback."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from retrieval import IndexSettings, KnowledgeBase
from retrieval.embeddings import Embedder


def _chroma_cli() -> str | None:
    beside_python = Path(sys.executable).with_name("chroma")
    return str(beside_python) if beside_python.exists() else shutil.which("chroma")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(port: int, server: subprocess.Popen, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"chroma server exited with status {server.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"chroma server not answering on port {port} after {timeout_s:.0f} s")


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[int]:
    cli = _chroma_cli()
    if cli is None:
        pytest.skip("the `chroma` command-line tool (from the chromadb package) is not installed")
    port = _free_port()
    log = (tmp_path / "chroma-server.log").open("wb")
    server = subprocess.Popen(
        [cli, "run", "--path", str(tmp_path / "server-data"), "--host", "127.0.0.1",
         "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )  # fmt: skip
    try:
        _wait_until_up(port, server)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def test_ingest_and_search_through_a_chroma_server(
    chroma_server: int, tmp_path: Path, manuals_dir: Path, embedder: Embedder
) -> None:
    settings = IndexSettings(
        directory=tmp_path / "client", chroma_host="127.0.0.1", chroma_port=chroma_server
    )
    kb = KnowledgeBase(settings, embedder)
    report = kb.ingest([manuals_dir])
    assert report.ok and report.chunks_added > 0
    assert not settings.chroma_directory.exists()  # the chunks went to the server

    top = kb.search("how do I reset the router to factory settings", k=3)[0]
    assert top.source.endswith("router.rst")
    assert "reset pin" in top.text

    again = KnowledgeBase(settings, embedder)
    assert again.ingest([manuals_dir]).chunks_added == 0
    assert again.remove(str(manuals_dir / "router.rst")) > 0
    assert all(not hit.source.endswith("router.rst") for hit in kb.search("router reset", k=5))
