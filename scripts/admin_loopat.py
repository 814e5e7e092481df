"""`pentapi loopat ...`: what loopat's setup and web UI mint, from the command line.

Users (argon2id passwords), web sessions (the `loopat_session` cookie value, for scripts and
browsers without the login form) and API tokens (`la_` + 48 hex, as Settings -> API Tokens
mints them). Every command prints one JSON object; a secret appears there once and is stored
only as a hash. A refused request exits 1 with its reason on stderr.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import typing as t

from handlers.loopat import accounts
from scripts import admin
from server.settings import Settings

_REFUSED = (accounts.AccountError,)


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    """(password, generated): the first line of stdin with --password-stdin, else a new one."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    return secrets.token_urlsafe(15), True


def _user_view(user: t.Any) -> dict[str, t.Any]:
    return {"username": user.username, "vault": user.default_vault, "profiles": json.loads(user.default_profiles),
            "disabled": user.disabled, "created_at": user.created_at}


def _user_create(a: argparse.Namespace, _s: Settings) -> dict:
    password, generated = _password(a)
    user = accounts.create_user(a.username, password, profiles=a.profiles, vault=a.vault)
    out = _user_view(user)
    if generated:
        out.update(password=password, note="shown once; only its argon2id hash is stored")
    return out


def _user_password(a: argparse.Namespace, _s: Settings) -> dict:
    password, generated = _password(a)
    accounts.set_password(a.username, password)
    out: dict[str, t.Any] = {"username": a.username, "sessions_ended": True}
    if generated:
        out.update(password=password, note="shown once; only its argon2id hash is stored")
    return out


def _user_disable(a: argparse.Namespace, _s: Settings) -> dict:
    return _user_view(accounts.set_disabled(a.username, True))


def _user_enable(a: argparse.Namespace, _s: Settings) -> dict:
    return _user_view(accounts.set_disabled(a.username, False))


def _user_list(_a: argparse.Namespace, _s: Settings) -> dict:
    return {"users": [_user_view(user) for user in accounts.list_users()]}


def _session_create(a: argparse.Namespace, s: Settings) -> dict:
    session, secret = accounts.create_session(a.username, a.days if a.days is not None else s.loopat_session_days)
    return {"session_id": session.id, "username": session.user, "expires_at": session.expires_at,
            "cookie": secret, "header": f"Cookie: loopat_session={secret}",
            "note": "shown once; only its SHA-256 is stored"}


def _session_list(a: argparse.Namespace, _s: Settings) -> dict:
    return {"sessions": [{"session_id": row.id, "created_at": row.created_at, "expires_at": row.expires_at}
                         for row in accounts.list_sessions(a.username)]}


def _session_revoke(a: argparse.Namespace, _s: Settings) -> dict:
    accounts.revoke_session(a.session_id)
    return {"session_id": a.session_id, "revoked": True}


def _session_revoke_all(a: argparse.Namespace, _s: Settings) -> dict:
    return {"username": a.username, "revoked": accounts.revoke_sessions(a.username)}


def _token_create(a: argparse.Namespace, _s: Settings) -> dict:
    row, secret = accounts.create_token(a.username, a.label)
    return {"tokenId": row.id, "token": secret, "label": row.label, "createdAt": row.created_at,
            "note": "shown once; only its SHA-256 is stored"}


def _token_list(a: argparse.Namespace, _s: Settings) -> dict:
    accounts.get_user(a.username)
    return {"tokens": [{"tokenId": row.id, "label": row.label, "createdAt": row.created_at,
                        "lastUsedAt": row.last_used_at} for row in accounts.list_tokens(a.username)]}


def _token_revoke(a: argparse.Namespace, _s: Settings) -> dict:
    if not accounts.revoke_token(a.username, a.token_id):
        raise accounts.AccountError(f"{a.username} has no token {a.token_id}")
    return {"tokenId": a.token_id, "revoked": True}


def add_commands(parser: argparse.ArgumentParser) -> None:
    groups = parser.add_subparsers(dest="group", required=True)

    command = admin.subcommand(_REFUSED)

    users = groups.add_parser("user", help="loopat users").add_subparsers(dest="action", required=True)
    create = command(users, "create", _user_create, "create a user (prints a generated password once)")
    create.add_argument("username", help="1-32 of a-z 0-9 _ -")
    create.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    create.add_argument("--profile", dest="profiles", action="append", default=[],
                        help="a default profile for the user's new loops (repeatable)")
    create.add_argument("--vault", default="default", help="the default vault for the user's new loops")
    password = command(users, "password", _user_password, "set a new password; ends the user's web sessions")
    password.add_argument("username")
    password.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    command(users, "disable", _user_disable, "refuse the user's logins, sessions and tokens").add_argument("username")
    command(users, "enable", _user_enable, "undo disable").add_argument("username")
    command(users, "list", _user_list, "list users")

    sessions = groups.add_parser("session", help="web sessions (loopat_session cookies)").add_subparsers(
        dest="action", required=True)
    create = command(sessions, "create", _session_create, "start a web session (prints the cookie value once)")
    create.add_argument("username")
    create.add_argument("--days", type=float, help="lifetime (default LOOPAT_SESSION_DAYS, 30)")
    command(sessions, "list", _session_list, "list a user's sessions").add_argument("username")
    command(sessions, "revoke", _session_revoke, "end one session").add_argument("session_id")
    command(sessions, "revoke-all", _session_revoke_all, "end all of a user's sessions").add_argument("username")

    tokens = groups.add_parser("token", help="API tokens (la_...)").add_subparsers(dest="action", required=True)
    create = command(tokens, "create", _token_create, "mint an API token (prints it once)")
    create.add_argument("username")
    create.add_argument("--label", default=None, help='shown in token lists (default "default")')
    command(tokens, "list", _token_list, "list a user's tokens (never their secrets)").add_argument("username")
    revoke = command(tokens, "revoke", _token_revoke, "revoke a token")
    revoke.add_argument("username")
    revoke.add_argument("token_id")
