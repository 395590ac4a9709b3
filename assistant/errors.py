"""The one exception type the command line turns into a one-line message and a non-zero exit."""


class DeskloopError(Exception):
    """A failure the user can act on; its message says what to do."""
