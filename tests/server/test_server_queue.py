"""One generation at a time on the local backend, each waiting request told its place;
with serving = "openai" requests go through together."""

from __future__ import annotations

import threading

import pytest
from server_helpers import GatedModel

from assistant.client import Client
from assistant.server.queue import GenerationQueue

QUESTION = "How do I reset my password?"
WAIT_S = 30


def composed_by_model(server_settings):
    return server_settings.answers.model_copy(update={"compose": "model"})


def asking(running, who: str, events: list) -> threading.Thread:
    def run() -> None:
        for event in Client(running.url, running.tokens[who]).ask(QUESTION, None, None):
            events.append(event)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def wait_for(condition, what: str) -> None:
    done = threading.Event()
    for _ in range(WAIT_S * 20):
        if condition():
            return
        done.wait(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_two_asks_on_the_local_backend_are_served_one_at_a_time(start_server, team_settings):
    model = GatedModel(["Choose Forgot password on the sign-in screen [1]."])
    running = start_server(model=model, answers=composed_by_model(team_settings))
    model.gate.clear()
    first, second = [], []
    one = asking(running, "ann", first)
    assert model.started.acquire(timeout=WAIT_S), "the first answer never started"
    two = asking(running, "bob", second)
    wait_for(lambda: second, "the second request's queue event")
    assert first[0] == ("queue", {"position": 0})
    assert second[0] == ("queue", {"position": 1})
    assert model.active == 1 and running.state.queue.length == 2
    model.gate.set()
    one.join(WAIT_S)
    two.join(WAIT_S)
    assert ("queue", {"position": 0}) in second  # told when its turn came
    assert first[-1][0] == "done" and second[-1][0] == "done"
    assert model.most_at_once == 1


def test_with_an_openai_server_behind_requests_go_through_together(start_server, team_settings):
    model = GatedModel(["Choose Forgot password on the sign-in screen [1]."])
    running = start_server(model=model, answers=composed_by_model(team_settings), serving="openai")
    model.gate.clear()
    first, second = [], []
    threads = [asking(running, "ann", first), asking(running, "bob", second)]
    for _ in threads:
        assert model.started.acquire(timeout=WAIT_S), "both answers should start at once"
    assert model.most_at_once == 2
    model.gate.set()
    for thread in threads:
        thread.join(WAIT_S)
    assert first[0] == second[0] == ("queue", {"position": 0})
    assert first[-1][0] == second[-1][0] == "done"


def test_the_queue_is_first_come_first_served():
    queue = GenerationQueue(slots=1, max_wait_s=5)
    order: list[str] = []
    heard: dict[str, list[int]] = {"b": [], "c": []}
    entered = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with queue.turn():
            entered.set()
            release.wait(5)
            order.append("a")

    def wait(name: str) -> None:
        with queue.turn(heard[name].append):
            order.append(name)

    holder = threading.Thread(target=hold)
    holder.start()
    assert entered.wait(5)
    b = threading.Thread(target=wait, args=("b",))
    b.start()
    wait_for(lambda: heard["b"], "b to queue")
    c = threading.Thread(target=wait, args=("c",))
    c.start()
    wait_for(lambda: heard["c"], "c to queue")
    release.set()
    for thread in (holder, b, c):
        thread.join(5)
    assert order == ["a", "b", "c"]
    assert heard["b"] == [1, 0]
    assert heard["c"][0] == 2 and heard["c"][-1] == 0 and heard["c"] == sorted(heard["c"])[::-1]


def test_a_request_that_waits_too_long_gives_up():
    from assistant.server.queue import QueueTimeout

    queue = GenerationQueue(slots=1, max_wait_s=0.2)
    with queue.turn(), pytest.raises(QueueTimeout), queue.turn():
        pass
    assert queue.length == 0
