"""deskloop's own /api: asking, flagging with the actor recorded, the per-person lists."""

from __future__ import annotations

import httpx
import pytest

from assistant.client import Client, ServerError

QUESTION = "How do I turn on two-factor authentication?"


def ask(server, who: str, question: str = QUESTION, **options) -> tuple[list, dict]:
    events = list(Client(server.url, server.tokens[who]).ask(question, **options))
    return events, events[-1][1]


def test_ask_streams_its_place_the_text_then_the_ask_json_document(server):
    events, done = ask(server, "bob", conversation_id=None, adapter=None)
    names = [name for name, _ in events]
    assert names[0] == "queue" and events[0][1] == {"position": 0}
    assert names[-1] == "done" and "delta" in names
    text = "".join(data["text"] for name, data in events if name == "delta")
    assert done["answer"] == text.strip() and done["status"] == "answered"
    assert set(done) >= {"conversation_id", "turn_id", "sources", "grounding", "timings"}


def test_a_flag_lands_in_the_store_with_who_gave_it(server):
    _, done = ask(server, "bob", conversation_id=None, adapter=None)
    client = Client(server.url, server.tokens["bob"])
    flagged = client.flag(done["turn_id"], "bad", "incomplete", "Open Security, then 2FA.")
    assert flagged["rating"] == "bad" and flagged["flagged_by"] == "bob"
    turn = server.state.store.turn(done["turn_id"])
    assert (turn.rating, turn.reason, turn.correction) == (
        "bad",
        "incomplete",
        "Open Security, then 2FA.",
    )
    assert turn.flagged_by == "bob" and turn.actor == "bob"
    approved = flagged["approved_answer"]
    assert approved["created_by"] == "bob" and approved["origin"] == "correction"
    listed = httpx.get(f"{server.url}/api/approved", headers=server.headers("ann")).json()
    assert approved["id"] in [a["id"] for a in listed]


def test_each_agent_lists_their_own_conversations_and_an_admin_all(server):
    _, done = ask(server, "bob", conversation_id=None, adapter=None)
    mine = done["conversation_id"]

    def listed(who: str) -> set[str]:
        response = httpx.get(f"{server.url}/api/conversations", headers=server.headers(who))
        return {c["id"] for c in response.json()}

    assert mine in listed("bob") and mine in listed("cho")
    assert mine not in listed("ann")
    other = httpx.get(f"{server.url}/api/conversations/{mine}", headers=server.headers("ann"))
    assert other.status_code == 404
    shown = httpx.get(f"{server.url}/api/conversations/{mine}", headers=server.headers("bob"))
    assert [t["role"] for t in shown.json()["turns"]] == ["user", "assistant"]


def test_a_follow_up_continues_the_conversation(server):
    _, first = ask(server, "ann", conversation_id=None, adapter=None)
    _, second = ask(
        server,
        "ann",
        "and what if I lose my phone?",
        conversation_id=first["conversation_id"],
        adapter=None,
    )
    assert second["conversation_id"] == first["conversation_id"]
    assert len(server.state.store.turns(first["conversation_id"])) == 4


def test_search_and_sources(server):
    hits = httpx.get(
        f"{server.url}/api/search",
        params={"q": "night vision", "k": 2},
        headers=server.headers("ann"),
    ).json()
    assert len(hits) == 2 and "night-vision" in hits[0]["source"]
    sources = httpx.get(f"{server.url}/api/sources", headers=server.headers("ann")).json()
    assert len(sources) == 3 and all(s["chunks"] > 0 for s in sources)


def test_an_admin_manages_users_and_the_new_token_works(server):
    admin = server.headers("cho")
    added = httpx.post(
        f"{server.url}/api/users", json={"name": "eve", "role": "agent"}, headers=admin
    )
    assert added.status_code == 201 and added.json()["created_by"] == "cho"
    token = added.json()["token"]
    eve = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{server.url}/api/conversations", headers=eve).status_code == 200
    assert httpx.delete(f"{server.url}/api/users/eve", headers=admin).json()["active"] is False
    assert httpx.get(f"{server.url}/api/conversations", headers=eve).status_code == 401
    stored = server.state.store._fetchall("SELECT token_hash FROM users")
    assert token not in {row["token_hash"] for row in stored}


def test_an_unknown_turn_is_a_404_with_the_store_message(server):
    client = Client(server.url, server.tokens["ann"])
    response = httpx.post(
        f"{server.url}/api/turns/999999/feedback",
        json={"rating": "good"},
        headers=server.headers("ann"),
    )
    assert response.status_code == 404
    assert response.json()["error"]["message"].startswith("no turn 999999")
    assert client.url == server.url


def test_an_approved_answer_edit_records_who_made_it(server):
    _, done = ask(server, "bob", conversation_id=None, adapter=None)
    client = Client(server.url, server.tokens["bob"])
    approved = client.flag(done["turn_id"], "good", None, None)["approved_answer"]
    assert approved["updated_by"] is None
    edited = httpx.patch(
        f"{server.url}/api/approved/{approved['id']}",
        json={"answer": "Open Settings, then Security, then 2FA."},
        headers=server.headers("cho"),
    ).json()
    assert edited["updated_by"] == "cho" and edited["created_by"] == "bob"
    assert server.state.store.approved.get(approved["id"]).updated_by == "cho"


def test_an_agent_escalates_and_edits_only_their_own_conversations(server):
    _, done = ask(server, "bob", conversation_id=None, adapter=None)
    bob, ann = (Client(server.url, server.tokens[who]) for who in ("bob", "ann"))
    conversation_id, turn_id = done["conversation_id"], done["turn_id"]

    with pytest.raises(ServerError, match="no conversation"):
        ann.escalate(conversation_id, "not mine")
    with pytest.raises(ServerError, match="no conversation"):
        ann.edit_answer(turn_id, "not mine either")
    store = server.state.store
    assert store.conversation(conversation_id).escalated_at is None
    assert store.turn(turn_id).content == done["answer"]

    escalated = bob.escalate(conversation_id, "billing dispute")
    assert escalated["escalation_note"] == "billing dispute" and escalated["escalated_at"]
    sent = "Open Settings, then Security, then turn on 2FA."
    assert bob.edit_answer(turn_id, sent)["content"] == sent
    assert store.turn(turn_id).content == sent
    assert store.conversation(conversation_id).escalation_note == "billing dispute"


def test_feedback_counts_are_the_teams(server):
    _, done = ask(server, "ann", conversation_id=None, adapter=None)
    ann = Client(server.url, server.tokens["ann"])
    before = ann.feedback_counts()
    assert before == server.state.store.feedback_counts()
    ann.flag(done["turn_id"], "bad", "incomplete", "Open Security, then 2FA.")
    after = ann.feedback_counts()
    assert after["corrected"] == before["corrected"] + 1
    assert after["good"] == before["good"] and after["bad"] == before["bad"]
