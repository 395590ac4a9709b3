"""The OpenAI-compatible backend's HTTP side against a small real server on loopback: streamed
deltas, cancel, and one-line errors for what a server can answer."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from assistant.backends.openai_backend import OpenAIBackend
from assistant.errors import ServingError
from assistant.settings import GenerationSettings, OpenAISettings

MESSAGES = [{"role": "user", "content": "Which cards can I pay with?"}]


class CharCounter:
    def count_text(self, text: str) -> int:
        return len(text)

    def count_messages(self, messages: list[dict]) -> int:
        return sum(len(m["content"]) for m in messages)


class ScriptedServer(BaseHTTPRequestHandler):
    """Answers /models, and /chat/completions as ``status`` with ``words`` streamed."""

    status = 200
    words: tuple[str, ...] = ("You can pay ", "with Visa [1].")
    pause_s = 0.0
    requests: list[dict]

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self._json(200, {"data": [{"id": "served-model"}]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append(body)
        if self.status != 200:
            self._json(self.status, {"error": {"message": "model exploded\nsecond line"}})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        try:
            for word in self.words:
                chunk = {"choices": [{"index": 0, "delta": {"content": word}}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
                time.sleep(self.pause_s)
            self.wfile.write(b"data: [DONE]\n\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client hung up: cancelled

    def _json(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def server(request) -> Iterator[type[ScriptedServer]]:
    handler = type("Handler", (ScriptedServer,), {"requests": [], **getattr(request, "param", {})})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    handler.base_url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    yield handler
    httpd.shutdown()
    httpd.server_close()


def backend_for(base_url: str, tmp_path) -> OpenAIBackend:
    options = OpenAISettings(base_url=base_url, timeout_s=5)
    return OpenAIBackend(options, CharCounter(), tmp_path)


def test_streamed_deltas_come_back_in_order_from_the_served_model(server, tmp_path):
    backend = backend_for(server.base_url, tmp_path)
    chunks = list(backend.stream(MESSAGES, GenerationSettings(), None, threading.Event()))
    assert "".join(chunks) == "You can pay with Visa [1]."
    assert server.requests[0]["model"] == "served-model"
    assert server.requests[0]["stream"] is True
    assert server.requests[0]["messages"] == MESSAGES


@pytest.mark.parametrize(
    "server", [{"words": tuple(f"w{i} " for i in range(200)), "pause_s": 0.02}], indirect=True
)
def test_cancel_stops_the_stream_before_the_server_is_done(server, tmp_path):
    backend = backend_for(server.base_url, tmp_path)
    cancel = threading.Event()
    received = []
    for chunk in backend.stream(MESSAGES, GenerationSettings(), None, cancel):
        received.append(chunk)
        if len(received) == 3:
            cancel.set()
    assert received == ["w0 ", "w1 ", "w2 "]


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        ({"status": 401}, "refused the key (401): set openai.api_key"),
        ({"status": 500}, "failed on"),
        ({"status": 400}, "rejected"),
    ],
    indirect=["server"],
)
def test_a_refused_request_is_one_line_that_says_what_to_do(server, expected, tmp_path):
    backend = backend_for(server.base_url, tmp_path)
    with pytest.raises(ServingError) as raised:
        list(backend.stream(MESSAGES, GenerationSettings(), None, threading.Event()))
    message = str(raised.value)
    assert expected in message
    assert "\n" not in message


def test_an_unreachable_server_says_to_start_it_or_fix_the_url(tmp_path):
    with ThreadingHTTPServer(("127.0.0.1", 0), ScriptedServer) as probe:
        port = probe.server_address[1]  # closed again before the backend connects
    backend = backend_for(f"http://127.0.0.1:{port}/v1", tmp_path)
    with pytest.raises(ServingError) as raised:
        list(backend.stream(MESSAGES, GenerationSettings(), None, threading.Event()))
    assert "cannot reach the model server" in str(raised.value)
    assert "openai.base_url" in str(raised.value)
