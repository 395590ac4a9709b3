"""The grounded learning loop's data preparation, without a model: what agents ask, how a
case's conversation reaches the store, and what a flag makes of it."""

from fakes import ScriptedModel

from assistant.engine import ChatEngine
from assistant.settings import load_settings
from assistant.store import Store
from bench import learning
from bench.answer_sets import AnswerCase
from bench.learning_grounded import Cases, agent_turn, parse_args, replay
from tuning.approved import scrub_text
from tuning.feedback_rows import store_feedback_rows

REPLY = "You can renew it online at the DMV site."


def case(case_id: str, messages: list[dict], split: str = "dev", answerable: bool = True):
    return AnswerCase(
        "multidoc2dial",
        case_id,
        messages,
        REPLY if answerable else None,
        answerable,
        frozenset(),
        split,
    )


def user(text: str) -> dict:
    return {"role": "user", "content": text}


def agent(text: str) -> dict:
    return {"role": "assistant", "content": text}


def test_arguments_and_the_plain_learning_benchmark_keeps_its_own():
    args = parse_args(["--rounds", "2", "--corrections", "5"])
    assert (args.set_name, args.rounds, args.corrections) == ("multidoc2dial", 2, 5)
    plain = learning.parse_args([])
    assert (plain.train_rows, plain.max_steps, plain.grounded) == (200, 30, False)


def test_user_turns_after_the_last_reply_are_one_question():
    messages = [user("Hi"), agent("Hello, how can I help?"), user("My licence"), user("Renew?")]
    assert replay(messages) == (messages[:2], "My licence\n\nRenew?")
    assert replay([user("Renew?")]) == ([], "Renew?")


def test_agents_ask_answerable_dev_questions_and_the_test_split_is_held_out():
    cases = [
        case("a", [user("q1")]),
        case("b", [user("q2")], answerable=False),
        case("c", [user("q3"), agent("r"), user("q4")]),
        case("d", [user("q5")], split="test"),
        case("e", [user("q6"), agent("r"), user("q7")], split="test"),
    ]
    chosen = Cases(cases, heldout=10, seed=0)
    assert sorted(c.case_id for c in chosen.train) == ["a", "c"]
    assert [c.case_id for c in chosen.heldout] == ["d", "e"]
    assert [c.case_id for c in chosen.first_questions] == ["d"]


def test_a_correction_is_flagged_with_the_conversation_and_approves_only_a_first_question(
    tmp_path,
):
    store = Store(tmp_path / "d.db", scrub=scrub_text)
    engine = ChatEngine(ScriptedModel(["Call us."]), store, load_settings())
    first = agent_turn(engine, case("a", [user("How do I renew my licence?")]), good_f1=0.5)
    follow = [user("I moved."), agent("Where to?"), user("Ohio"), user("Do I renew it?")]
    later = agent_turn(engine, case("b", follow), good_f1=0.5)

    assert not first["good"] and not later["good"]
    rows = store_feedback_rows(store)
    assert [r.correction for r in rows] == [REPLY, REPLY]
    assert [m["content"] for m in rows[1].messages] == [
        "I moved.",
        "Where to?",
        "Ohio\n\nDo I renew it?",
        "Call us.",
    ]
    assert [(a.question, a.answer) for a in store.approved.entries()] == [
        ("How do I renew my licence?", REPLY)
    ]
    good = agent_turn(scripted_engine(engine, REPLY), case("c", [user("Renew?")]), good_f1=0.5)
    assert good["good"] and store.feedback_counts() == {"good": 1, "corrected": 2, "bad": 0}


def scripted_engine(engine: ChatEngine, answer: str) -> ChatEngine:
    return ChatEngine(ScriptedModel([answer]), engine.store, engine.settings)
