"""``trackroom`` console script. Each subcommand lives in ``tracking/commands/<name>.py`` and
exposes ``register(subparsers)`` which adds its parser with ``set_defaults(func=run)``."""

from __future__ import annotations

import argparse
import importlib
import sys

from .errors import TrackroomError

COMMANDS = ["track", "sot", "render", "eval", "convert", "reid-train"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trackroom", description="Trackroom tracking engine (offline).")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"tracking.commands.{name.replace('-', '_')}")
        except ModuleNotFoundError as exc:
            if exc.name != f"tracking.commands.{name.replace('-', '_')}":
                raise
            continue  # command not written yet
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except TrackroomError as exc:
        print(f"trackroom {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
