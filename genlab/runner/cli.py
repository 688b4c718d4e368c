"""The shared shell of the scripts: ``key=value`` arguments, ``--help``, and one-line errors."""

from __future__ import annotations

import sys
from collections.abc import Callable

from genlab.core.errors import GenlabError


def run_cli(main: Callable[[list[str]], object], usage: str | Callable[[list[str]], str],
            argv: list[str] | None = None) -> int:
    """Call ``main(args)``; print ``usage`` (or ``usage(other args)``, so help can describe what they choose) for
    -h/--help; turn a GenlabError into one line on stderr."""
    args = sys.argv[1:] if argv is None else argv
    try:
        if any(a in ("-h", "--help") for a in args):
            print(usage([a for a in args if a not in ("-h", "--help")]) if callable(usage) else usage)
            return 0
        main(args)
    except GenlabError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    return 0


def pop_arg(args: list[str], key: str) -> tuple[str | None, list[str]]:
    """Take ``key=value`` out of ``args``: returns the value (None if absent) and the remaining args."""
    value, rest = None, []
    for arg in args:
        if arg.startswith(key + "="):
            value = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return value, rest
