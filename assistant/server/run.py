"""Running the server process: open everything once, then serve until stopped."""

from __future__ import annotations

import logging
from collections.abc import Callable

from assistant.server.app import create_app
from assistant.server.state import open_state
from assistant.settings import Settings


def serve(
    settings: Settings,
    host: str,
    port: int,
    rate_limit: int,
    progress: Callable[[str], None] = lambda _: None,
) -> None:
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    state = open_state(settings, progress, rate_limit)
    if state.engine.retriever is None:
        logging.getLogger("deskloop.server").warning(
            "the knowledge base is empty, so answers are not grounded: "
            "add manuals and tickets with 'deskloop ingest PATH', then restart the server"
        )
    if not state.users.list():
        logging.getLogger("deskloop.server").warning(
            "no users yet: add one with 'deskloop users add NAME --role admin'"
        )
    uvicorn.run(create_app(state), host=host, port=port, log_level="info")
