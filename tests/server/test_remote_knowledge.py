"""`deskloop ingest`, `sources` and `search` with DESKLOOP_SERVER set: uploads, paths on the
server, and the local commands' documents."""

from __future__ import annotations

import json
import shutil

from remote_helpers import deskloop, document, local_env, one_line_error, remote_env, shape
from server_helpers import REPO

CORRUPT_PDF = b"%PDF-1.7\n1 0 obj <<< broken"


def manuals_with_a_corrupt_pdf(folder, *names: str):
    folder.mkdir()
    for name in names:
        shutil.copy(REPO / "corpora" / "manuals" / name, folder / name)
    (folder / "broken.pdf").write_bytes(CORRUPT_PDF)
    return folder


def test_upload_reports_the_corrupt_file_and_indexes_the_rest(server, team_home, tmp_path):
    folder = manuals_with_a_corrupt_pdf(
        tmp_path / "desk", "cam-pairing.md", "cam-offline-troubleshooting.md"
    )
    admin = remote_env(local_env(team_home), server.url, server.tokens["cho"])

    run = deskloop("ingest", str(folder), "--json", env=admin, check=False)

    assert run.returncode == 2  # as locally: some files failed, the rest were indexed
    report = json.loads(run.stdout)
    assert report["files_seen"] == 3 and report["files_indexed"] == 2
    assert [issue["path"] for issue in report["failed"]] == ["desk/broken.pdf"]
    indexed = {s.source for s in server.state.knowledge_base.sources()}
    uploads = team_home / "uploads" / "desk"
    assert {
        str((uploads / n).resolve()) for n in ("cam-pairing.md", "cam-offline-troubleshooting.md")
    } <= indexed
    hits = document("search", "pair the camera", "-k", "3", env=admin)
    assert any("cam-pairing" in hit["source"] for hit in hits)

    again = deskloop("ingest", str(folder), "--json", env=admin, check=False)
    assert json.loads(again.stdout)["files_unchanged"] == 2  # the same names: unchanged

    local = deskloop(
        "ingest", str(folder), "--json", env=local_env(tmp_path / "alone"), check=False
    )
    assert local.returncode == 2 and shape(json.loads(local.stdout)) == shape(report)


def test_ingest_in_the_terminal_prints_the_local_summary(server, team_home, tmp_path):
    folder = manuals_with_a_corrupt_pdf(tmp_path / "terminal", "cam-offline-troubleshooting.md")
    admin = remote_env(local_env(team_home), server.url, server.tokens["cho"])
    run = deskloop("ingest", str(folder), env=admin, check=False)
    assert run.returncode == 2
    assert "2 files: 1 indexed" in run.stderr and "failed terminal/broken.pdf" in run.stderr


def test_an_agent_cannot_ingest_and_nothing_is_uploaded(server, team_home, tmp_path):
    folder = tmp_path / "agent"
    folder.mkdir()
    shutil.copy(
        REPO / "corpora" / "manuals" / "cam-battery-and-power.md",
        folder / "cam-battery-and-power.md",
    )
    agent = remote_env(local_env(team_home), server.url, server.tokens["ann"])
    run = deskloop("ingest", str(folder), env=agent, check=False)
    assert run.returncode == 1 and "needs an admin token" in one_line_error(run)
    assert not (team_home / "uploads" / "agent").exists()
    on_server = deskloop("ingest", "--on-server", str(folder), env=agent, check=False)
    assert on_server.returncode == 1 and "needs an admin token" in one_line_error(on_server)


def test_ingest_on_server_reads_the_servers_path(server, team_home, tmp_path):
    folder = tmp_path / "server-side"
    folder.mkdir()
    shutil.copy(
        REPO / "corpora" / "manuals" / "cam-battery-and-power.md",
        folder / "cam-battery-and-power.md",
    )
    admin = remote_env(local_env(team_home), server.url, server.tokens["cho"])
    report = document("ingest", "--on-server", str(folder), env=admin)
    assert report["ok"] and report["files_indexed"] == 1
    missing = deskloop("ingest", "--on-server", str(tmp_path / "nowhere"), env=admin, check=False)
    assert "no such file or folder on the server" in one_line_error(missing)
    alone = deskloop("ingest", "--on-server", str(folder), env=local_env(team_home), check=False)
    assert "--on-server needs DESKLOOP_SERVER" in one_line_error(alone)


def test_sources_list_and_remove_match_the_local_documents(server, team_home, tmp_path):
    local = local_env(team_home)
    admin = remote_env(local, server.url, server.tokens["cho"])
    agent = remote_env(local, server.url, server.tokens["ann"])
    listed = document("sources", env=agent)
    assert listed == document("sources", env=local) and listed
    source = listed[0]["source"]

    refused = deskloop("sources", "--remove", source, env=agent, check=False)
    assert refused.returncode == 1 and "needs an admin token" in one_line_error(refused)
    removed = document("sources", "--remove", source, env=admin)
    assert removed == {"removed": source, "chunks": listed[0]["chunks"]}
    assert source not in {s["source"] for s in document("sources", env=agent)}
    text = deskloop("sources", env=agent).stdout
    assert listed[1]["source"] in text

    unknown = deskloop("sources", "--remove", source, env=admin, check=False)
    assert unknown.returncode == 1 and source in one_line_error(unknown)
