"""`deskloop search` against a server without typer's parsing: the command an agent runs many
times an hour, where typer's start-up (building every command and pydantic validators for
the options) costs more than the search itself.

Only a plain command line takes this path: the query and any of -k N (1 to 100), --kind,
--product and --json, each once. Anything else (--help, --opt=value, an unknown option, a
value out of range) returns None and goes through typer as usual, which prints the help or
the usage error; the search itself is the typer command's own function.
"""

from __future__ import annotations

import inspect
import os

from assistant.client import SERVER_ENV

VALUED = {"-k": "k", "--kind": "kind", "--product": "product"}
MAX_K = 100  # as the command's -k option


def search_on_server(args: list[str]) -> int | None:
    """Run `search` for ``args`` (the command line after `deskloop`) when it is plain and a
    server is set; 0 once done, None to leave it to typer."""
    if not args or args[0] != "search" or not os.environ.get(SERVER_ENV, "").strip():
        return None
    from assistant.cli_knowledge import search

    options = _parsed(args[1:], search)
    if options is None:
        return None
    search(**options)
    return 0


def _parsed(args: list[str], command) -> dict | None:
    options = {
        name: parameter.default
        for name, parameter in inspect.signature(command).parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }
    given: set[str] = set()
    items = iter(args)
    for arg in items:
        if arg in given:
            return None
        given.add(arg)
        if arg == "--json":
            options["as_json"] = True
        elif arg in VALUED:
            value = next(items, None)
            if value is None or value.startswith("-"):
                return None
            options[VALUED[arg]] = value
        elif arg.startswith("-") or "query" in options:
            return None
        else:
            options["query"] = arg
    k = str(options["k"])
    if "query" not in options or not k.isdigit() or not 1 <= int(k) <= MAX_K:
        return None
    return {**options, "k": int(k)}
