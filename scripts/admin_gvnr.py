"""`pentapi gvnr ...`: what an operator does by hand - create an account (the key is printed
once), credit operations to one, show one. Every command prints one JSON object."""

from __future__ import annotations

import argparse
import json
import sys
import typing as t

from handlers.gvnr import provisioning, quota
from server.settings import Settings
from storage import all_models, db
from storage.gvnr import Account


def _command(fn: t.Callable[[argparse.Namespace, Settings], dict[str, t.Any]]) -> t.Callable:
    def run(args: argparse.Namespace, settings: Settings) -> int:
        db.bind(settings.resolved_database_url)
        db.init_schema(all_models())
        try:
            with db.database.connection_context():
                print(json.dumps(fn(args, settings), indent=2))
        except (quota.UnknownAccount, ValueError) as exc:
            print(f"error: {exc.__class__.__name__}: {exc}", file=sys.stderr)
            return 1
        return 0

    return run


def _create(a: argparse.Namespace, s: Settings) -> dict:
    ops = s.gvnr_signup_trial_ops if a.ops is None else a.ops
    account, key = provisioning.create_account(ops=ops, notification_email=a.email)
    return {"account_id": account.id, "api_key": key, "operations_remaining": account.ops_remaining}


def _credit(a: argparse.Namespace, _s: Settings) -> dict:
    return {"account_id": a.account_id, "operations_remaining": quota.credit(a.account_id, a.ops)}


def _show(a: argparse.Namespace, _s: Settings) -> dict:
    row = Account.get_or_none(Account.id == a.account_id)
    if row is None:
        raise quota.UnknownAccount(a.account_id)
    return {"account_id": row.id, "operations_remaining": row.ops_remaining,
            "notification_email": row.notification_email, "created_at": row.created_at.isoformat()}


def add_commands(parser: argparse.ArgumentParser) -> None:
    accounts = parser.add_subparsers(dest="gvnr_command", required=True).add_parser(
        "account", help="accounts and their operation quota").add_subparsers(dest="action", required=True)
    create = accounts.add_parser("create", help="create an account; prints its bg_ key once")
    create.add_argument("--ops", type=int, help="starting operations (default: GVNR_SIGNUP_TRIAL_OPS)")
    create.add_argument("--email", help="notification email for approval requests")
    create.set_defaults(run=_command(_create))
    credit = accounts.add_parser("credit", help="add operations to an account")
    credit.add_argument("account_id")
    credit.add_argument("ops", type=int)
    credit.set_defaults(run=_command(_credit))
    show = accounts.add_parser("show", help="an account's quota and notification email")
    show.add_argument("account_id")
    show.set_defaults(run=_command(_show))
