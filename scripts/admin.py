"""What every `pentapi <api> ...` admin command shares: bind the database, run, print the result
as one JSON object; a refused request exits 1 with its reason on stderr."""

from __future__ import annotations

import argparse
import json
import sys
import typing as t

from server.settings import Settings, activate
from storage import all_models, db

Action = t.Callable[[argparse.Namespace, Settings], dict[str, t.Any]]


def command(fn: Action, refused: tuple[type[Exception], ...]) -> t.Callable[[argparse.Namespace, Settings], int]:
    """Wrap `fn` as a subcommand's `run`; `refused` are the errors that mean "no" rather than a bug."""

    def run(args: argparse.Namespace, settings: Settings) -> int:
        activate(settings)
        db.bind(settings.resolved_database_url)
        db.init_schema(all_models())
        try:
            with db.database.connection_context():
                print(json.dumps(fn(args, settings), indent=2, default=str))
        except refused as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 0

    return run


def subcommand(refused: tuple[type[Exception], ...]) -> t.Callable[..., argparse.ArgumentParser]:
    """`add(group, name, fn, help)`: one subcommand of `group` that runs `fn` as `command` does."""

    def add(group: argparse._SubParsersAction, name: str, fn: Action, help_: str) -> argparse.ArgumentParser:
        sub = group.add_parser(name, help=help_)
        sub.set_defaults(run=command(fn, refused))
        return sub

    return add
