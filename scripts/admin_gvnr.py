"""`pentapi gvnr ...`: what an operator does by hand - create an account (the key is printed
once), credit operations to one, show one, see where top-ups are paid. Every command prints
one JSON object."""

from __future__ import annotations

import argparse
import typing as t

from handlers.gvnr import billing, provisioning, quota
from scripts import admin
from server.errors import ApiError
from server.settings import Settings
from storage.gvnr import Account

_REFUSED = (quota.UnknownAccount, ValueError, ApiError)


def _command(fn: admin.Action) -> t.Callable:
    return admin.command(fn, _REFUSED)


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


def _payto(_a: argparse.Namespace, s: Settings) -> dict:
    net = billing.network(s)
    generated = s.gvnr_payto_address == billing.AUTO
    return {"payto_address": net.payto, "chain_id": net.chain.chain_id, "network_name": net.chain.name,
            "generated": generated,
            "key_file": str(s.data_dir / "gvnr" / billing.WALLET_FILE) if generated else None}


def add_commands(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="gvnr_command", required=True)
    payto = commands.add_parser("payto", help="where top-ups are paid (and, when generated, its key file)")
    payto.set_defaults(run=_command(_payto))
    accounts = commands.add_parser(
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
