from retrieval import build_query


def test_follow_up_keeps_the_earlier_user_topic() -> None:
    messages = [
        {"role": "user", "content": "How do I get a refund for my order?"},
        {"role": "assistant", "content": "Open the order page and choose Return item."},
        {"role": "user", "content": "and how long does that take?"},
    ]
    query = build_query(messages)
    assert query.endswith("and how long does that take?")
    assert "refund" in query
    assert "Return item" not in query  # assistant turns are left out


def test_only_recent_user_turns_are_kept_and_truncated() -> None:
    old = {"role": "user", "content": "printer " * 5}
    long_turn = {"role": "user", "content": "word " * 100 + "router"}
    follow_up = {"role": "user", "content": "ok?"}
    messages = [old, {"role": "user", "content": "modem"}, long_turn, follow_up]
    query = build_query(messages)
    assert "printer" not in query
    assert "modem" in query and "router" in query
    assert len(query.split()) <= 2 * 40 + 1


def test_empty_conversation_gives_empty_query() -> None:
    assert build_query([]) == ""
    assert build_query([{"role": "assistant", "content": "Hi!"}]) == ""
