"""Every command with DESKLOOP_SERVER set to a server that is not there: one line that says so
and how to fix it, exit 1, nothing done locally."""

from __future__ import annotations

import socket

from remote_helpers import deskloop, local_env, one_line_error, remote_env


def test_every_verb_says_the_server_cannot_be_reached(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]  # nothing listens once it is closed
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"question": "Why?", "reference": "Because."}\n')
    env = remote_env(local_env(tmp_path / "home"), f"http://127.0.0.1:{closed}", "token")
    for args in (
        ("search", "password"),
        ("search", "password", "--json"),
        ("ask", "hi"),
        ("history",),
        ("sources",),
        ("sources", "--remove", "x.md"),
        ("ingest", str(rows)),
        ("ingest", "--on-server", "/srv/manuals"),
        ("feedback", "flag", "1", "--good"),
        ("feedback", "import", str(rows)),
        ("feedback", "export"),
        ("approved", "list"),
        ("approved", "edit", "1", "--answer", "x"),
        ("adapters", "list"),
        ("adapters", "promote", "v0001"),
        ("adapters", "rollback"),
        ("train", "--max-steps", "1"),
        ("eval", str(rows)),
    ):
        run = deskloop(*args, env=env, check=False)
        line = one_line_error(run)
        assert run.returncode == 1, (args, run.stderr)
        assert "cannot reach the deskloop server" in line and "deskloop serve" in line, args
    assert not (tmp_path / "home").exists()  # nothing was opened or written locally
