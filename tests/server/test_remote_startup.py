"""With DESKLOOP_SERVER set, a command imports nothing slow: no torch, store or index."""

from __future__ import annotations

import json
import subprocess
import sys

from remote_helpers import deskloop, local_env, remote_env

HEAVY = (
    "torch",
    "transformers",
    "sqlalchemy",
    "chromadb",
    "retrieval",
    "pydantic_settings",
    "assistant.store",
    "assistant.engine",
)
PROBE = f"""
import json, sys
from assistant.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
loaded = sorted(name for name in {HEAVY!r} if name in sys.modules)
sys.stderr.write("\\nPROBE " + json.dumps({{"code": code, "loaded": loaded}}) + "\\n")
"""


def probe(env: dict, *args: str) -> dict:
    run = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env, timeout=120
    )
    line = next(line for line in run.stderr.splitlines() if line.startswith("PROBE "))
    return json.loads(line.removeprefix("PROBE ")) | {"stdout": run.stdout}


def test_commands_against_a_server_import_nothing_heavy(server, team_home):
    env = remote_env(local_env(team_home), server.url, server.tokens["ann"])
    for args in (
        ("search", "how do I reset my password", "--json"),
        ("search", "how do I reset my password"),
        ("history", "--json"),
        ("sources", "--json"),
        ("approved", "list", "--json"),
    ):
        result = probe(env, *args)
        assert result["code"] == 0, (args, result)
        assert result["loaded"] == [], f"deskloop {' '.join(args)} imported {result['loaded']}"
    assert "password" in probe(env, "search", "how do I reset my password")["stdout"].lower()


def test_the_same_command_without_a_server_does_load_them(team_home, knowledge_base):
    result = probe(local_env(team_home), "search", "how do I reset my password", "--json")
    assert result["code"] == 0
    assert {"sqlalchemy", "chromadb", "retrieval"} <= set(result["loaded"])


def test_the_fast_search_path_answers_as_typer_does(server, team_home):
    env = remote_env(local_env(team_home), server.url, server.tokens["ann"])
    query = "how do I turn on night vision"
    fast = deskloop("search", query, "-k", "2", "--kind", "manual", "--json", env=env)
    through_typer = deskloop("search", "-k2", query, "--kind=manual", "--json", env=env)
    assert json.loads(fast.stdout) == json.loads(through_typer.stdout)
    assert len(json.loads(fast.stdout)) == 2
    assert "Usage: deskloop search" in deskloop("search", "--help", env=env).stdout
    too_many = deskloop("search", query, "-k", "101", env=env, check=False)
    assert too_many.returncode == 2 and "'-k'" in too_many.stderr
    bad_kind = deskloop("search", query, "--kind", "faq", env=env, check=False)
    assert bad_kind.returncode == 1 and "--kind must be" in bad_kind.stderr
