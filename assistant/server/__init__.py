"""`deskloop serve`: one process holding the engine, the knowledge base and the store.

An OpenAI-compatible `/v1` (chat completions, models) and deskloop's own `/api`, every
request authenticated by a person's token (assistant/users.py). `create_app(state)` builds
the ASGI app from a `ServerState`; `open_state(settings)` opens one as the CLI and app do.
"""

from assistant.server.app import create_app
from assistant.server.state import ServerState, open_state

__all__ = ["ServerState", "create_app", "open_state"]
