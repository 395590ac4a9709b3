"""Any OpenAI client gets a grounded, cited answer with deskloop's extension."""

from __future__ import annotations

import httpx
import openai
import pytest

from assistant.prompt import DECLINE_ANSWER

QUESTION = "How do I reset my password?"


@pytest.fixture
def client(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=server.tokens["ann"], timeout=60)


def test_a_completion_is_grounded_and_cited_with_the_extension(server, client):
    completion = client.chat.completions.create(
        model="deskloop", messages=[{"role": "user", "content": QUESTION}]
    )
    answer = completion.choices[0].message.content
    extra = completion.model_extra["deskloop"]
    assert completion.choices[0].finish_reason == "stop" and extra["status"] == "answered"
    cited = extra["grounding"]["cited"]
    sources = {s["n"]: s["source"] for s in extra["sources"]}
    assert cited and all(f"[{n}]" in answer for n in cited)
    assert any("password-reset" in sources[n] for n in cited)
    sentences = extra["grounding"]["sentences"]
    assert sentences and all(s["supported"] for s in sentences)
    turn = server.state.store.turn(extra["turn_id"])
    assert turn.content == answer and turn.actor == "ann"
    assert server.state.store.conversation(extra["conversation_id"]).actor == "ann"


def test_history_in_the_messages_carries_the_conversation(server, client):
    completion = client.chat.completions.create(
        model="deskloop",
        messages=[
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "content": "Use the reset link."},
            {"role": "user", "content": "and how long is the link valid?"},
        ],
    )
    extra = completion.model_extra["deskloop"]
    assert extra["status"] in ("answered", "declined")
    turns = server.state.store.turns(extra["conversation_id"])
    assert turns[0].content == "and how long is the link valid?"


def test_a_question_the_sources_cannot_answer_is_declined(client):
    completion = client.chat.completions.create(
        model="deskloop", messages=[{"role": "user", "content": "Can I pay with Bitcoin?"}]
    )
    assert completion.choices[0].message.content == DECLINE_ANSWER
    assert completion.model_extra["deskloop"]["status"] == "declined"


def test_streaming_yields_chunks_then_the_extension(server, client):
    stream = client.chat.completions.create(
        model="deskloop", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    last = chunks[-1]
    assert len(chunks) >= 3 and last.choices[0].finish_reason == "stop"
    extra = last.model_extra["deskloop"]
    assert extra["status"] == "answered"
    assert all(f"[{n}]" in text for n in extra["grounding"]["cited"])
    assert server.state.store.turn(extra["turn_id"]).content == text.strip()


def test_the_raw_stream_is_server_sent_events_ending_done(server):
    body = {"messages": [{"role": "user", "content": QUESTION}], "stream": True}
    with httpx.stream(
        "POST",
        f"{server.url}/v1/chat/completions",
        json=body,
        headers=server.headers("ann"),
        timeout=60,
    ) as response:
        lines = [line for line in response.iter_lines() if line]
    assert response.headers["content-type"].startswith("text/event-stream")
    assert lines[0] == ": queue position 0"
    assert lines[-1] == "data: [DONE]"
    assert all(line.startswith(("data: ", ": ")) for line in lines)


def test_models_lists_the_service_and_the_base(client):
    assert [m.id for m in client.models.list()][:2] == ["deskloop", "base"]


def test_an_unknown_model_is_404_in_openai_shape(client):
    with pytest.raises(openai.NotFoundError, match="GET /v1/models"):
        client.chat.completions.create(
            model="v0099", messages=[{"role": "user", "content": QUESTION}]
        )
