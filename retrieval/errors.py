"""The base of retrieval's failures a user can act on; each message says what to do.

retrieval depends on none of deskloop's other packages, so this is its own base class;
deskloop's command line and app show it as they show a DeskloopError: one line.
"""


class RetrievalError(Exception):
    """A retrieval failure the user can act on; its message says what to do."""


class InvalidIndexSettings(RetrievalError, ValueError):
    """An IndexSettings value out of range."""
