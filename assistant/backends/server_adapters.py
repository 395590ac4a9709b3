"""Adapters registered with an OpenAI-compatible server by name (vLLM's run-time LoRA).

vLLM loads one with `POST /v1/load_lora_adapter {"lora_name", "lora_path"}` when started with
`--enable-lora` and `VLLM_ALLOW_RUNTIME_LORA_UPDATING=True`; a request then names it as its
`model`. At most the adapter just asked for and the one before stay registered.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from pathlib import Path

import httpx

from assistant.backends import http_errors
from assistant.backends.seam import Adapter
from assistant.errors import ServingError

KEEP = 2  # the adapter in service and the one before it (a switch back costs nothing)

NO_RUNTIME_LORA = (
    "the model server cannot load adapters at run time: start vLLM with --enable-lora and "
    "VLLM_ALLOW_RUNTIME_LORA_UPDATING=True, or set openai.register_adapters = false and "
    "serve the adapters under their versions' names"
)


def adapter_name(adapter: Adapter) -> str:
    """The name an adapter is registered under: its version and a hash of its folder, so two
    data directories sharing one server cannot take each other's v0001."""
    if adapter.path is None:
        return adapter.version
    digest = hashlib.sha256(str(Path(adapter.path).resolve()).encode()).hexdigest()[:8]
    return f"{adapter.version}-{digest}"


class ServerAdapters:
    """Registers adapters with the server once each, and unloads the oldest beyond KEEP."""

    def __init__(
        self,
        client: httpx.Client,
        base_url: str,
        local_root: Path,
        server_root: str | None = None,
    ):
        self.client = client
        self.base_url = base_url
        self.local_root = local_root
        self.server_root = server_root
        self.registered: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def name_for(self, adapter: Adapter) -> str:
        """The adapter's name on the server, registering it first if needed."""
        name = adapter_name(adapter)
        with self._lock:
            if name in self.registered:
                self.registered.move_to_end(name)
                return name
            if adapter.path is None or not (Path(adapter.path) / "adapter_config.json").is_file():
                raise ServingError(f"adapter {adapter.version} has no PEFT files at {adapter.path}")
            self._post("load_lora_adapter", name, self.server_path(Path(adapter.path)))
            self.registered[name] = None
            while len(self.registered) > KEEP:
                stale, _ = self.registered.popitem(last=False)
                self._post("unload_lora_adapter", stale, None)
            return name

    def server_path(self, path: Path) -> str:
        """Where the server reads the adapter folder (openai.adapters_path maps the root)."""
        path = path.resolve()
        if self.server_root is None:
            return str(path)
        try:
            return f"{self.server_root.rstrip('/')}/{path.relative_to(self.local_root.resolve())}"
        except ValueError:
            return str(path)

    def _post(self, route: str, name: str, path: str | None) -> None:
        payload = {"lora_name": name, **({"lora_path": path} if path else {})}
        try:
            response = self.client.post(f"{self.base_url}/{route}", json=payload)
        except httpx.TransportError as exc:
            raise http_errors.unreachable(self.base_url, exc) from None
        if route == "unload_lora_adapter" and response.status_code >= 400:
            return  # gone already (a restarted server): nothing to free
        if response.status_code in (404, 405):
            raise ServingError(NO_RUNTIME_LORA)
        if response.status_code >= 400 and "already" not in response.text:
            what = f"adapter {name} ({route})"
            raise http_errors.refused(response.status_code, response.text, what)
