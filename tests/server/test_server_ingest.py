"""Admins index files the server can read; answers are grounded from then on."""

from __future__ import annotations

import shutil

import httpx
from server_helpers import REPO


def test_an_admin_ingests_a_folder_and_agents_cannot(start_server, tmp_path):
    running = start_server()
    engine = running.state.engine
    engine.retriever = engine.grounder = None  # as a server started on an empty index is
    folder = tmp_path / "more"
    folder.mkdir()
    shutil.copy(REPO / "corpora" / "manuals" / "cam-pairing.md", folder / "cam-pairing.md")
    url = f"{running.url}/api/ingest"
    refused = httpx.post(url, json={"paths": [str(folder)]}, headers=running.headers("ann"))
    assert refused.status_code == 403
    report = httpx.post(
        url, json={"paths": [str(folder)]}, headers=running.headers("cho"), timeout=120
    ).json()
    assert report["ok"] and report["files_indexed"] == 1 and report["chunks_added"] > 0
    sources = httpx.get(f"{running.url}/api/sources", headers=running.headers("ann")).json()
    assert any("cam-pairing" in s["source"] for s in sources)
    assert engine.retriever is not None and engine.grounder is not None
    body = {"messages": [{"role": "user", "content": "How do I pair my camera?"}]}
    answer = httpx.post(
        f"{running.url}/v1/chat/completions",
        json=body,
        headers=running.headers("ann"),
        timeout=60,
    ).json()
    assert answer["deskloop"]["sources"] and answer["deskloop"]["grounding"] is not None


def test_a_path_the_server_cannot_see_is_a_400(start_server, tmp_path):
    running = start_server()
    response = httpx.post(
        f"{running.url}/api/ingest",
        json={"paths": [str(tmp_path / "nowhere")]},
        headers=running.headers("cho"),
    )
    assert response.status_code == 400
    assert "no such file or folder on the server" in response.json()["error"]["message"]
