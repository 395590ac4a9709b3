"""The failures the command line turns into a one-line message and a non-zero exit."""

from __future__ import annotations

import sys


class DeskloopError(Exception):
    """A failure the user can act on; its message says what to do."""


def is_user_error(exc: BaseException) -> bool:
    """A DeskloopError, or retrieval's own base class of actionable failures (RetrievalError).

    retrieval is looked up without importing it (the import is slow): a process that never
    imported it cannot have raised one of its errors.
    """
    if isinstance(exc, DeskloopError):
        return True
    retrieval_errors = sys.modules.get("retrieval.errors")
    return retrieval_errors is not None and isinstance(exc, retrieval_errors.RetrievalError)


class ServingError(DeskloopError):
    """The model server (serving = "openai") is unreachable or refused a request."""
