"""What every command shares: JSON on stdout, progress and messages on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)


def print_json(document) -> None:
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n")
    sys.stdout.flush()


@contextmanager
def status(message: str) -> Iterator:
    """A spinner on stderr whose text a step can update: `with status(...) as update:`."""
    if not err.is_terminal:
        yield lambda text: err.print(f"[dim]{text}[/]")
        return
    with err.status(message) as spinner:
        yield lambda text: spinner.update(text)


def typed_questions() -> Iterator[str]:
    """The questions typed at the terminal, until an empty line or Ctrl-D."""
    err.print("[bold]deskloop[/] · type a customer's question, an empty line or Ctrl-D to quit")
    while True:
        try:
            question = input("\n> ").strip()
        except EOFError:
            return
        if not question:
            return
        yield question
