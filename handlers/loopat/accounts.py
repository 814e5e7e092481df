"""What loopat's web UI and operators mint, as plain functions: users (argon2id passwords),
web sessions (the `loopat_session` cookie) and API tokens (`la_` + 48 hex, api-tokens.ts).
The admin commands (`pentapi loopat ...`), the login route, the token routes and the tests'
fixtures all call these.

Secrets are returned once, in plaintext, beside a row that stores only their SHA-256 digest.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import secrets
import typing as t
from dataclasses import dataclass

import peewee
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from handlers.loopat import sql
from server import tokens
from server.settings import current
from storage import db
from storage.base import utcnow
from storage.loopat import ApiToken, Session, User

TOKEN_PREFIX = "la_"  # + 24 random bytes as hex
TOKEN_ID_PREFIX = "tok_"  # + 6 random bytes as hex
SESSION_ID_PREFIX = "ses_"
DEFAULT_LABEL = "default"
USERNAME = re.compile(r"^[a-z0-9_-]{1,32}$")
MIN_PASSWORD = 8



def _hasher() -> PasswordHasher:
    """argon2id with the configured cost (default: the library's RFC 9106 low-memory profile).
    A hash made with other parameters is upgraded at the next successful login."""
    s = current()
    return _hasher_with(s.loopat_argon2_time_cost, s.loopat_argon2_memory_kib, s.loopat_argon2_parallelism)


@functools.cache
def _hasher_with(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


@functools.cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """Verified when the username is unknown, so a miss costs what a wrong password costs."""
    return hasher.hash(secrets.token_hex(16))


class AccountError(ValueError):
    """A request an operator command would refuse (bad username, unknown user, ...)."""


@dataclass(frozen=True)
class Principal:
    user: str
    via: str  # "session" or "token"
    credential_id: str  # ses_... or tok_...
    last_used_at: dt.datetime | None = None

    def as_token_info(self) -> dict[str, t.Any]:
        return {"sub": self.user, "via": self.via, "credential_id": self.credential_id}


# ------------------------------------------------------------------ users


def create_user(username: str, password: str, *, profiles: list[str] | None = None,
                vault: str = "default") -> User:
    if not USERNAME.match(username):
        raise AccountError("username must be 1-32 lowercase letters, digits, '_' or '-'")
    _check_password(password)
    if not vault.strip():
        raise AccountError("vault must not be empty")
    insert = User.insert(username=username, password_hash=_hasher().hash(password),
                         default_profiles=json.dumps(list(profiles or [])), default_vault=vault)
    try:
        with db.write():
            insert.execute()
    except peewee.IntegrityError:
        raise AccountError(f"user already exists: {username}") from None
    return User.get_by_id(username)


def set_password(username: str, password: str) -> None:
    """A new password; every web session of the user ends (API tokens stay)."""
    _check_password(password)
    user = get_user(username)
    update = User.update(password_hash=_hasher().hash(password)).where(User.username == user.username)
    revoke = Session.delete().where(Session.user == user.username)
    with db.write():
        update.execute()
        revoke.execute()


def set_disabled(username: str, disabled: bool) -> User:
    user = get_user(username)
    update = User.update(disabled=disabled).where(User.username == user.username)
    with db.write():
        update.execute()
    return get_user(username)


def get_user(username: str) -> User:
    user = User.get_or_none(User.username == username)
    if user is None:
        raise AccountError(f"unknown user: {username}")
    return user


def list_users() -> list[User]:
    return list(User.select().order_by(User.username))


def authenticate(username: str, password: str) -> User | None:
    """The user when the password matches (rehashing an outdated hash), else None."""
    user = User.get_or_none(User.username == username)
    hasher = _hasher()
    try:
        hasher.verify(user.password_hash if user else _dummy_hash(hasher), password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled:
        return None
    if hasher.check_needs_rehash(user.password_hash):
        update = User.update(password_hash=hasher.hash(password)).where(User.username == username)
        with db.write():
            update.execute()
    return user


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password must be at least {MIN_PASSWORD} characters")


# ------------------------------------------------------------------ web sessions


def create_session(username: str, days: float) -> tuple[Session, str]:
    """A new session for `username`: (row, cookie value). Expired sessions of the user go."""
    user = get_user(username)
    if user.disabled:
        raise AccountError(f"user is disabled: {username}")
    secret = secrets.token_hex(32)
    now = utcnow()
    session_id = SESSION_ID_PREFIX + secrets.token_hex(6)
    insert = Session.insert(id=session_id, digest=tokens.digest(secret), user=user.username,
                            created_at=now, expires_at=now + dt.timedelta(days=days))
    sweep = Session.delete().where((Session.user == user.username) & (Session.expires_at <= now))
    with db.write():
        sweep.execute()
        insert.execute()
    return Session.get_by_id(session_id), secret


def resolve_session(secret: str) -> Principal | None:
    """The principal of a live session cookie (one indexed read), else None."""
    row = (Session.select(Session.id, Session.digest, Session.user, Session.expires_at)
           .join(User, on=(User.username == Session.user))
           .where((Session.digest == tokens.digest(secret)) & (User.disabled == False))  # noqa: E712
           .first())
    if row is None or not tokens.matches(row.digest, secret) or row.expires_at <= utcnow():
        return None
    return Principal(row.user, "session", row.id)


def end_session(secret: str) -> bool:
    delete = Session.delete().where(Session.digest == tokens.digest(secret))
    with db.write():
        return bool(delete.execute())


def list_sessions(username: str) -> list[Session]:
    get_user(username)
    return list(Session.select().where(Session.user == username).order_by(Session.created_at.desc()))


def revoke_session(session_id: str) -> None:
    delete = Session.delete().where(Session.id == session_id)
    with db.write():
        if not delete.execute():
            raise AccountError(f"unknown session: {session_id}")


def revoke_sessions(username: str) -> int:
    get_user(username)
    delete = Session.delete().where(Session.user == username)
    with db.write():
        return delete.execute()


# ------------------------------------------------------------------ API tokens (api-tokens.ts)


def create_token(username: str, label: str | None = None) -> tuple[ApiToken, str]:
    """A new `la_` token; the label is trimmed and defaults to "default". Plaintext once."""
    user = get_user(username)
    secret = tokens.mint(TOKEN_PREFIX, 24)
    token_id = TOKEN_ID_PREFIX + secrets.token_hex(6)
    insert = ApiToken.insert(id=token_id, digest=tokens.digest(secret), user=user.username,
                             label=(label or "").strip() or DEFAULT_LABEL, created_at=utcnow())
    with db.write():
        insert.execute()
    return ApiToken.get_by_id(token_id), secret


def list_tokens(username: str) -> list[ApiToken]:
    """The user's tokens, newest first (never their secrets, which are not stored)."""
    return list(ApiToken.select().where(ApiToken.user == username)
                .order_by(ApiToken.created_at.desc(), ApiToken.id.desc()))


def revoke_token(username: str, token_id: str) -> bool:
    """True when the user's token existed (another user's token is "not found" too)."""
    delete = ApiToken.delete().where((ApiToken.id == token_id) & (ApiToken.user == username))
    with db.write():
        return bool(delete.execute())


def resolve_token(secret: str) -> Principal | None:
    """The principal of a live `la_` token (one indexed read), else None. A value without the
    prefix is refused without a lookup, as upstream does."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    row = sql.token_by_digest(tokens.digest(secret))  # every API request: hand-written SQL
    if row is None or not tokens.matches(row[1], secret):
        return None
    last_used = row[3] if row[3] is None or isinstance(row[3], dt.datetime) else dt.datetime.fromisoformat(row[3])
    return Principal(row[2], "token", row[0], last_used)
