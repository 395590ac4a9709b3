from retrieval import build_query
from retrieval.query import (
    CONTEXT_TURNS,
    EARLIER_TURN_WORDS,
    TURN_DECAY,
    Query,
    QueryPart,
    query_parts,
)


def test_follow_up_keeps_the_earlier_turns_with_decaying_weights() -> None:
    messages = [
        {"role": "user", "content": "How do I get a refund for my order?"},
        {"role": "assistant", "content": "Open the order page and choose Return item."},
        {"role": "user", "content": "and how long does that take?"},
    ]
    query = build_query(messages)
    assert query.endswith("and how long does that take?")
    assert [part.text for part in query.parts] == [message["content"] for message in messages]
    assert [part.weight for part in query.parts] == [TURN_DECAY**2, TURN_DECAY, 1.0]


def test_only_recent_turns_are_kept_and_truncated() -> None:
    old = {"role": "user", "content": "printer " * 5}
    long_turn = {"role": "user", "content": "word " * 100 + "router"}
    follow_up = {"role": "user", "content": "ok?"}
    filler = [{"role": "assistant", "content": f"answer {n}"} for n in range(CONTEXT_TURNS - 3)]
    messages = [old, {"role": "user", "content": "modem"}, *filler, long_turn, follow_up]
    query = build_query(messages)
    assert len(query.parts) == CONTEXT_TURNS
    assert "printer" not in query
    assert "modem" in query and "router" in query
    assert all(len(part.text.split()) <= EARLIER_TURN_WORDS for part in query.parts)


def test_an_answer_after_the_last_question_is_left_out() -> None:
    messages = [
        {"role": "user", "content": "printer jam"},
        {"role": "assistant", "content": "Open the rear cover."},
    ]
    assert build_query(messages).parts == (QueryPart("printer jam", 1.0),)


def test_empty_conversation_gives_empty_query() -> None:
    assert build_query([]) == ""
    assert build_query([{"role": "assistant", "content": "Hi!"}]) == ""
    assert query_parts(build_query([])) == ()


def test_a_plain_string_is_a_query_of_one_part() -> None:
    assert query_parts("printer jam") == (QueryPart("printer jam", 1.0),)
    assert query_parts("  ") == ()
    assert isinstance(build_query([{"role": "user", "content": "hi"}]), Query)
