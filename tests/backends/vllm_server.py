"""A real vLLM server (the CPU build, in its own venv) started on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
SERVER_PYTHON = ROOT / ".venv-server" / "bin" / "python"
SERVED_NAME = "smollm2"
START_TIMEOUT_S = 600


def server_python() -> Path | None:
    """The venv `make server` builds (DESKLOOP_TEST_SERVER_PYTHON overrides), if present."""
    explicit = os.environ.get("DESKLOOP_TEST_SERVER_PYTHON")
    path = Path(explicit) if explicit else SERVER_PYTHON
    return path if path.is_file() else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class VLLMServer:
    def __init__(self, python: Path, model_dir: str, log: Path):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        env = {
            **os.environ,
            "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "True",
            "VLLM_CPU_KVCACHE_SPACE": "1",  # GiB: plenty for a 135M model
            "VLLM_NO_USAGE_STATS": "1",
            "DO_NOT_TRACK": "1",
            "HF_HUB_OFFLINE": "1",
        }
        command = [
            str(python), "-m", "vllm.entrypoints.openai.api_server",
            "--model", model_dir,
            "--served-model-name", SERVED_NAME,
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--enable-lora", "--max-lora-rank", "8", "--max-loras", "2",
            "--max-model-len", "2048",
            "--dtype", "float32",
        ]  # fmt: skip
        self.log = log
        self.process = subprocess.Popen(
            command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_until_up(self) -> float:
        started = time.monotonic()
        while time.monotonic() - started < START_TIMEOUT_S:
            if self.process.poll() is not None:
                tail = self.log.read_text()[-2000:]
                raise RuntimeError(f"vLLM exited with {self.process.returncode}:\n{tail}")
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except httpx.TransportError:
                pass
            time.sleep(1)
        raise RuntimeError(f"vLLM did not answer within {START_TIMEOUT_S} s")

    def models(self) -> list[str]:
        return [m["id"] for m in httpx.get(f"{self.base_url}/models", timeout=10).json()["data"]]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
