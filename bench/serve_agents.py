"""Simulated support agents: each a thread with its own token, holding multi-turn grounded
conversations through the server's streamed /api/ask and flagging some answers.

What the server acknowledged (a `done` event with turn ids, a flag answered 200) goes into
the ledger; that is what must be in the store afterwards, exactly once. Timings come from
the stream as the agent sees it: queue wait until the `queue` event with position 0 (its
generation starts), first token at the first `delta`, end to end at `done`.
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from assistant.client import Client
from assistant.errors import DeskloopError
from bench.serve_process import CORPORA

TURNS_PER_CONVERSATION = 3
GOOD_SHARE = 0.3  # of answers flagged good
BAD_SHARE = 0.2  # flagged bad with a correction
THINK_S = (2.5, 6.0)  # reading an answer before the next question: keeps a token under 30/min
RAMP_S = 5.0  # agents arrive spread over this


@dataclass
class Answer:
    agent: str
    conversation_id: str
    question_turn_id: int
    turn_id: int
    question: str
    answer: str
    status: str
    queue_wait_s: float
    first_token_s: float | None
    end_to_end_s: float
    most_ahead: int  # the largest queue position the agent was told
    phase: str


@dataclass
class Flag:
    agent: str
    turn_id: int
    rating: str
    correction: str | None
    phase: str


@dataclass
class Failure:
    agent: str
    action: str
    message: str
    phase: str


@dataclass
class Ledger:
    """What every agent was acknowledged, and what failed; shared by the agent threads."""

    answers: list[Answer] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, item) -> None:
        with self.lock:
            {Answer: self.answers, Flag: self.flags, Failure: self.failures}[type(item)].append(
                item
            )

    def of_phase(self, phase: str) -> dict:
        with self.lock:
            return {
                "answers": [a for a in self.answers if a.phase == phase],
                "flags": [f for f in self.flags if f.phase == phase],
                "failures": [f for f in self.failures if f.phase == phase],
            }

    def save(self, path: Path) -> None:
        with self.lock:
            document = {
                "answers": [asdict(a) for a in self.answers],
                "flags": [asdict(f) for f in self.flags],
                "failures": [asdict(f) for f in self.failures],
            }
        path.write_text(json.dumps(document, indent=1))

    @classmethod
    def load(cls, path: Path) -> Ledger:
        document = json.loads(path.read_text())
        return cls(
            [Answer(**a) for a in document["answers"]],
            [Flag(**f) for f in document["flags"]],
            [Failure(**f) for f in document["failures"]],
        )


def questions() -> list[dict]:
    """The shipped evaluation questions that have a reference answer (used as corrections)."""
    lines = (CORPORA / "eval" / "questions.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    return [row for row in rows if row.get("answerable") and row.get("reference")]


@dataclass
class Crowd:
    """N agents working until each has asked `turns` questions, the deadline, or `stop`."""

    url: str
    tokens: dict[str, str]
    turns: int
    deadline: float  # time.monotonic()
    phase: str
    ledger: Ledger
    seed: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    stop_on_failure: bool = False  # the fault phase: a killed server ends an agent's day
    threads: list[threading.Thread] = field(default_factory=list)
    started: float = 0.0
    last_end: float = 0.0  # when the last agent stopped working

    def start(self) -> None:
        self.started = time.monotonic()
        pool = questions()
        for index, (name, token) in enumerate(sorted(self.tokens.items())):
            worker = threading.Thread(
                target=self._work,
                args=(index, name, token, pool),
                name=f"bench-{name}",
                daemon=True,
            )
            worker.start()
            self.threads.append(worker)

    def join(self, timeout: float) -> bool:
        """Wait for every agent; False when some are still busy after ``timeout``."""
        end = time.monotonic() + timeout
        for worker in self.threads:
            worker.join(max(0.0, end - time.monotonic()))
        return not any(worker.is_alive() for worker in self.threads)

    @property
    def seconds(self) -> float:
        """From the start until the last agent stopped (or until now)."""
        return (self.last_end or time.monotonic()) - self.started

    def _work(self, index: int, name: str, token: str, pool: list[dict]) -> None:
        try:
            self._day(index, name, token, pool)
        finally:
            with self.ledger.lock:
                self.last_end = max(self.last_end, time.monotonic())

    def _day(self, index: int, name: str, token: str, pool: list[dict]) -> None:
        rng = random.Random(f"{self.seed}-{self.phase}-{name}")
        client = Client(self.url, token)
        if self.stop.wait(rng.uniform(0, RAMP_S)):
            return
        conversation_id = None
        for turn in range(self.turns):
            if self.stop.is_set() or time.monotonic() >= self.deadline:
                return
            if turn % TURNS_PER_CONVERSATION == 0:
                conversation_id = None
            row = pool[(index * 7 + turn) % len(pool)]
            answer = self._ask(client, name, row["question"], conversation_id)
            if answer is None:
                if self.stop_on_failure:
                    return
                continue
            conversation_id = answer.conversation_id
            if not self._flag(client, name, answer, row, rng) and self.stop_on_failure:
                return
            if self.stop.wait(rng.uniform(*THINK_S)):
                return

    def _ask(self, client: Client, name: str, question: str, conversation_id) -> Answer | None:
        started = time.monotonic()
        queue_wait = first_token = None
        most_ahead = 0
        with self.ledger.lock:
            self.ledger.in_flight += 1
        try:
            for kind, data in client.ask(question, conversation_id, None):
                elapsed = time.monotonic() - started
                if kind == "queue":
                    most_ahead = max(most_ahead, data["position"])
                    if data["position"] == 0 and queue_wait is None:
                        queue_wait = elapsed
                elif kind == "delta" and first_token is None:
                    first_token = elapsed
                elif kind == "done":
                    answer = Answer(
                        name,
                        data["conversation_id"],
                        data["question_turn_id"],
                        data["turn_id"],
                        question,
                        data["answer"],
                        data["status"],
                        queue_wait if queue_wait is not None else elapsed,
                        first_token,
                        elapsed,
                        most_ahead,
                        self.phase,
                    )
                    self.ledger.add(answer)
                    return answer
            self.ledger.add(Failure(name, "ask", "the stream ended without 'done'", self.phase))
        except DeskloopError as exc:
            self.ledger.add(Failure(name, "ask", str(exc), self.phase))
        finally:
            with self.ledger.lock:
                self.ledger.in_flight -= 1
        return None

    def _flag(self, client: Client, name: str, answer: Answer, row: dict, rng) -> bool:
        draw = rng.random()
        if draw < GOOD_SHARE:
            rating, reason, correction = "good", None, None
        elif draw < GOOD_SHARE + BAD_SHARE:
            rating, reason, correction = "bad", "incomplete", row["reference"]
        else:
            return True
        try:
            client.flag(answer.turn_id, rating, reason, correction)
        except DeskloopError as exc:
            self.ledger.add(Failure(name, "flag", str(exc), self.phase))
            return False
        self.ledger.add(Flag(name, answer.turn_id, rating, correction, self.phase))
        return True
