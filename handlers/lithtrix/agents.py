"""Agents and their keys, as plain functions: register, rotate, look up, suspend, change tier.
The HTTP handlers, the admin commands (`pentapi lithtrix ...`) and the test fixtures call these.

An agent holds exactly one key: `ltx_` + 32 hex characters, returned once and stored only as
its SHA-256. Rotation swaps the stored digest in one conditional UPDATE, so the old key stops
working the moment the new one is issued (and two racing rotations cannot both win).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

import peewee

from server import tokens
from server.settings import Settings
from storage import db
from storage.base import utcnow
from storage.lithtrix import STATUSES, TIERS, Agent

KEY_PREFIX = "ltx_"
KEY_HEX_CHARS = 32
NAME = re.compile(r"^[a-zA-Z0-9_-]{1,100}$")
KEY_FORMAT = re.compile(rf"^{KEY_PREFIX}[0-9a-f]{{{KEY_HEX_CHARS}}}$")


class AgentExists(Exception):
    """The agent_name + owner_identifier pair is already registered."""


class AgentError(ValueError):
    """A request the service refuses (bad name, unknown agent, unknown tier or status)."""


def mint_key() -> str:
    return tokens.mint(KEY_PREFIX, KEY_HEX_CHARS // 2)


def register(settings: Settings, agent_name: str, owner_identifier: str) -> tuple[Agent, str]:
    """A new free-tier agent and its one-time key; AgentExists for a known name + owner pair."""
    if not NAME.match(agent_name):
        raise AgentError("agent_name may contain only letters, digits, hyphens and underscores (1-100)")
    if not 1 <= len(owner_identifier) <= 255:
        raise AgentError("owner_identifier must be 1-255 characters")
    key = mint_key()
    agent_id = str(uuid.uuid4())
    insert = Agent.insert(
        id=agent_id,
        agent_name=agent_name,
        owner_identifier=owner_identifier,
        key_hash=tokens.digest(key),
        call_limit=settings.lithtrix_free_call_limit,
    )
    try:
        with db.write():
            insert.execute()
    except peewee.IntegrityError:
        # The unique (agent_name, owner_identifier) index decides races between workers too.
        raise AgentExists(f"{agent_name} is already registered for this owner") from None
    return Agent.get_by_id(agent_id), key


def by_key(key: str) -> Agent | None:
    """The agent holding `key`: looked up by digest, then compared in constant time."""
    if not key.startswith(KEY_PREFIX):
        return None
    agent = Agent.get_or_none(Agent.key_hash == tokens.digest(key))
    if agent is None or not tokens.matches(agent.key_hash, key):
        return None
    return agent


def get(agent_id: str) -> Agent | None:
    return Agent.get_or_none(Agent.id == agent_id)


def rotate(agent_id: str, current_key_hash: str) -> str | None:
    """Replace the key whose digest is `current_key_hash` by a new key; None when that key is
    no longer the agent's (a rotation that raced this one won)."""
    new_key = mint_key()
    swap = Agent.update(key_hash=tokens.digest(new_key), key_rotated_at=utcnow()).where(
        (Agent.id == agent_id) & (Agent.key_hash == current_key_hash)
    )
    with db.write():
        changed = swap.execute()
    return new_key if changed else None


def set_status(agent_id: str, status: str) -> Agent | None:
    """Suspend or reinstate; None for an unknown agent. Reinstating also clears the abuse flag."""
    if status not in STATUSES:
        raise AgentError(f"status must be one of {', '.join(STATUSES)}")
    changes: dict = {Agent.status: status}
    if status == "active":
        changes[Agent.flagged] = False
    update = Agent.update(changes).where(Agent.id == agent_id)
    with db.write():
        changed = update.execute()
    return get(agent_id) if changed else None


def set_tier(agent_id: str, tier: str) -> Agent | None:
    """An operator's tier change (the API changes tiers through billing); None when unknown."""
    if tier not in TIERS:
        raise AgentError(f"tier must be one of {', '.join(TIERS)}")
    update = Agent.update(tier=tier).where(Agent.id == agent_id)
    with db.write():
        changed = update.execute()
    return get(agent_id) if changed else None


def public_row(agent: Agent) -> dict:
    """Every column an operator may see (never the key digest)."""
    return {
        "id": agent.id,
        "agent_name": agent.agent_name,
        "owner_identifier": agent.owner_identifier,
        "tier": agent.tier,
        "status": agent.status,
        "monthly_limit": agent.call_limit,
        "calls_total": agent.calls_total,
        "flagged": bool(agent.flagged),
        "stripe_customer_id": agent.stripe_customer_id,
        "stripe_subscription_id": agent.stripe_subscription_id,
        "created_at": iso(agent.created_at),
        "key_rotated_at": iso(agent.key_rotated_at) if agent.key_rotated_at else None,
    }


def iso(moment: dt.datetime | str) -> str:
    """ISO 8601 in UTC, as the upstream service (Postgres timestamptz via FastAPI) prints it."""
    if isinstance(moment, str):  # SQLite hands back the stored text when it carries an offset
        moment = dt.datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat()
