"""The shared shell of the scripts: ``key=value`` arguments, ``--help``, and one-line errors."""

from __future__ import annotations

import sys
from collections.abc import Callable

from genlab.core.errors import ConfigError, GenlabError


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


def arg_key(arg: str) -> str:
    """The key of a ``key=value`` argument, also written ``--key=value`` (as a W&B sweep agent passes it)."""
    return arg.removeprefix("--").partition("=")[0]


def refuse_repeated(args: list[str]) -> None:
    """A key given twice is one line naming it: which value was meant is not for genlab to guess (the later one
    used to win silently, so ``model.lr=1 ... model.lr=2`` ran with a value its user may not have seen)."""
    seen: dict[str, str] = {}
    for arg in args:
        if "=" not in arg:
            continue  # not a key=value argument: the caller's own error names it
        key = arg_key(arg)
        if key in seen:
            raise ConfigError(f"{key} is given twice ({seen[key]} and {arg}); give each key once")
        seen[key] = arg


def with_args(base: list[str], *overrides: str) -> list[str]:
    """``base`` with each of ``overrides`` in place of the argument of the same key (appended where ``base`` has
    none): how code adds its own values to a shared argument list, now that a key given twice is refused."""
    replaced = {arg_key(a) for a in overrides}
    return [a for a in base if arg_key(a) not in replaced] + list(overrides)


def pop_arg(args: list[str], key: str) -> tuple[str | None, list[str]]:
    """Take ``key=value`` out of ``args``: returns the value (None if absent) and the remaining args; the key given
    twice is refused."""
    refuse_repeated([a for a in args if a.startswith(key + "=")])
    value, rest = None, []
    for arg in args:
        if arg.startswith(key + "="):
            value = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return value, rest
