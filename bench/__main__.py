"""`python -m bench [NAME] [ARGS...]`: run one benchmark, or every benchmark with no NAME.

A benchmark is a module ``bench/NAME.py`` with ``main(argv) -> int`` (prints one JSON
document) and ``run(argv) -> dict`` (returns it). With no name, every benchmark runs with
its defaults and one JSON document maps each name to its result.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from pathlib import Path


def benchmark_names() -> list[str]:
    folder = str(Path(__file__).parent)
    names = []
    for module in pkgutil.iter_modules([folder]):
        if module.name.startswith("_"):
            continue
        if hasattr(importlib.import_module(f"bench.{module.name}"), "run"):
            names.append(module.name)
    return sorted(names)


def main(argv: list[str]) -> int:
    names = benchmark_names()
    if argv and argv[0] in ("-h", "--help"):
        print(f"usage: python -m bench [{'|'.join(names)}] [ARGS...]", file=sys.stderr)
        return 0
    if argv:
        name, *rest = argv
        if name not in names:
            print(
                f"error: no benchmark '{name}'; choose one of {', '.join(names)}", file=sys.stderr
            )
            return 2
        return importlib.import_module(f"bench.{name}").main(rest)
    results = {name: importlib.import_module(f"bench.{name}").run([]) for name in names}
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
