"""`history`, `feedback import|export` and `approved` with DESKLOOP_SERVER set: the local
commands' documents, the roles, and who did what."""

from __future__ import annotations

import json

from remote_helpers import (
    deskloop,
    document,
    feedback_rows,
    local_env,
    one_line_error,
    remote_env,
    shape,
    write_rows,
)


def test_history_lists_and_shows_the_agents_own_conversations(server, team_home):
    local = local_env(team_home)
    ann = remote_env(local, server.url, server.tokens["ann"])
    bob = remote_env(local, server.url, server.tokens["bob"])
    asked = document("ask", "How do I reset my password?", env=ann)
    document("ask", "How do I turn on night vision?", env=bob)

    mine = document("history", env=ann)
    assert [c["id"] for c in mine] == [asked["conversation_id"]]
    assert shape(mine) == shape(document("history", env=local))
    shown = document("history", asked["conversation_id"], env=ann)
    assert shown == document("history", asked["conversation_id"], env=local)
    assert [t["actor"] for t in shown["turns"]] == ["ann", "ann"]
    text = deskloop("history", asked["conversation_id"], env=ann).stdout
    assert f"deskloop #{asked['turn_id']}" in text and "customer" in text

    hidden = deskloop("history", asked["conversation_id"], env=bob, check=False)
    assert hidden.returncode == 1 and "no conversation" in one_line_error(hidden)


def test_interactive_ask_keeps_one_conversation(server, team_home):
    bob = remote_env(local_env(team_home), server.url, server.tokens["bob"])
    before = {c["id"] for c in document("history", env=bob)}
    typed = "How do I reset my password?\nAnd if the email never arrives?\n\n"
    run = deskloop("ask", env=bob, typed=typed)
    assert "password" in run.stdout.lower() and "turn " in run.stderr
    new = [c for c in document("history", env=bob) if c["id"] not in before]
    assert len(new) == 1 and new[0]["turn_count"] == 4


def test_feedback_import_by_an_admin_matches_the_local_document(server, team_home, tmp_path):
    rows = write_rows(tmp_path / "rows.jsonl", feedback_rows(4), broken="{not json\n")
    ann = remote_env(local_env(team_home), server.url, server.tokens["ann"])
    cho = remote_env(local_env(team_home), server.url, server.tokens["cho"])
    before = {t.id for t in server.state.store.flagged_turns()}

    refused = deskloop("feedback", "import", rows, env=ann, check=False)
    assert refused.returncode == 1 and "needs an admin token" in one_line_error(refused)
    assert {t.id for t in server.state.store.flagged_turns()} == before

    run = deskloop("feedback", "import", rows, "--json", env=cho, check=False)
    assert run.returncode == 2  # one line skipped, as locally
    remote = json.loads(run.stdout)
    assert remote["rows"] == 4 and len(remote["errors"]) == 1
    imported = [t for t in server.state.store.flagged_turns() if t.id not in before]
    assert len(imported) == 4
    assert {(t.actor, t.flagged_by) for t in imported} == {("cho", "cho")}  # who imported them
    alone = local_env(tmp_path / "alone")
    local = deskloop("feedback", "import", rows, "--json", env=alone, check=False)
    assert local.returncode == 2 and json.loads(local.stdout) == remote

    empty = write_rows(tmp_path / "empty.jsonl", [])
    run = deskloop("feedback", "import", empty, env=cho, check=False)
    assert run.returncode == 1 and "empty.jsonl holds no feedback rows" in one_line_error(run)


def test_feedback_export_is_the_local_export_of_the_same_store(server, team_home, tmp_path):
    local = local_env(team_home)
    cho = remote_env(local, server.url, server.tokens["cho"])
    for fmt in ("sft", "dpo", "kto"):
        remote = document("feedback", "export", "--format", fmt, env=cho)
        assert remote == document("feedback", "export", "--format", fmt, env=local)
    output = tmp_path / "sft.jsonl"
    written = document("feedback", "export", "--output", str(output), env=cho)
    assert written["records"] == len(output.read_text().splitlines()) > 0
    ann = remote_env(local, server.url, server.tokens["ann"])
    refused = deskloop("feedback", "export", env=ann, check=False)
    assert refused.returncode == 1 and "needs an admin token" in one_line_error(refused)


def test_approved_answers_through_the_server(server, team_home):
    local = local_env(team_home)
    ann = remote_env(local, server.url, server.tokens["ann"])
    cho = remote_env(local, server.url, server.tokens["cho"])
    asked = document("ask", "How do I enable two-factor authentication?", env=ann)
    flagged = document("feedback", "flag", str(asked["turn_id"]), "--good", env=ann)
    approved_id = flagged["approved_answer"]["id"]

    listed = document("approved", "list", env=ann)
    assert listed == document("approved", "list", env=local)
    assert any(e["id"] == approved_id and e["created_by"] == "ann" for e in listed)
    assert document("approved", "show", str(approved_id), env=ann) == document(
        "approved", "show", str(approved_id), env=local
    )

    edit = ("approved", "edit", str(approved_id), "--answer", "Open Settings > Security.")
    refused = deskloop(*edit, env=ann, check=False)
    assert refused.returncode == 1 and "needs an admin token" in one_line_error(refused)
    edited = document(*edit, env=cho)
    assert edited["answer"] == "Open Settings > Security."
    assert document("approved", "show", str(approved_id), env=local) == edited
    nothing = deskloop("approved", "edit", str(approved_id), env=cho, check=False)
    assert "say what to change" in one_line_error(nothing)

    removed = document("approved", "remove", str(approved_id), env=cho)
    assert removed == {"removed": edited}
    gone = deskloop("approved", "show", str(approved_id), env=ann, check=False)
    assert gone.returncode == 1 and f"no approved answer {approved_id}" in one_line_error(gone)
