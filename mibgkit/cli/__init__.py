"""The ``mibgkit`` command line: one entry point, one module per subcommand.

Each subcommand module defines ``add_parser(subparsers)`` and ``run(args) -> int`` and
imports heavy packages only inside ``run`` so ``mibgkit --help`` stays fast.
Errors print one line (what and which file) and exit non-zero; ``--debug`` shows the
traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

from mibgkit import __version__

# subcommand name -> module (in mibgkit.cli) that implements it
COMMANDS: dict[str, str] = {
    "info": "info",
    "inventory": "inventory",
    "segments": "segments",
    "score": "score",
    "convert": "convert",
    "phantom": "phantom",
    "cohort": "cohort",
}


def _available() -> dict[str, ModuleType]:
    mods: dict[str, ModuleType] = {}
    for name, module in COMMANDS.items():
        try:
            mods[name] = importlib.import_module(f"mibgkit.cli.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"mibgkit.cli.{module}":
                raise
    return mods


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="mibgkit",
        description="123I-mIBG scintigraphy toolkit: load NM DICOM, map SIOPEN segments, "
        "propose hot spots, score, convert.",
    )
    parser.add_argument("--version", action="version", version=f"mibgkit {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in _available().values():
        p = mod.add_parser(sub)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    from mibgkit.errors import MibgkitError

    try:
        return int(args._run(args) or 0)
    except MibgkitError as exc:
        if args.debug:
            raise
        print(f"mibgkit {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"mibgkit {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one line, not a traceback, unless --debug
        if args.debug:
            raise
        print(f"mibgkit {args.command}: error: {type(exc).__name__}: {exc} (rerun with --debug for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
