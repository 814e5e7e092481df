"""loopat tables: users and their web sessions and API tokens, loops, and the turn log.

Every secret (session cookie value, `la_` token) is stored only as its SHA-256 digest;
passwords only as argon2id hashes.

The turn log is what makes a turn outlive the request that started it and lets any worker
serve any stream: a turn row (queued -> running -> done | interrupted | error), its events
in `loopat_event` (one row per SSE event, `seq` is the global, monotonic SSE id), and its
choices. The loop row carries the lease of the one process that runs the loop's turns.
See docs/loopat.md, "Turn state across workers".
"""

from __future__ import annotations

import peewee

from storage.base import BaseModel

TURN_STATES = ("queued", "running", "done", "interrupted", "error")
ACTIVE_STATES = ("queued", "running")
CHOICE_KINDS = ("permission", "question")
CHOICE_STATES = ("pending", "answered", "expired", "canceled")


class User(BaseModel):
    username = peewee.CharField(primary_key=True)  # lowercase [a-z0-9_-]{1,32}, the loops' created_by
    password_hash = peewee.CharField()  # argon2id (PHC string)
    default_profiles = peewee.TextField(default="[]")  # JSON list: profiles for loops created without any
    default_vault = peewee.CharField(default="default")
    disabled = peewee.BooleanField(default=False)  # a disabled user's sessions and tokens stop working

    class Meta:
        table_name = "loopat_user"


class Session(BaseModel):
    id = peewee.CharField(primary_key=True)  # ses_ + 12 hex: lists and revokes without the secret
    digest = peewee.CharField(unique=True)  # SHA-256 of the loopat_session cookie value
    user = peewee.CharField(index=True)
    expires_at = peewee.DateTimeField()

    class Meta:
        table_name = "loopat_session"


class ApiToken(BaseModel):
    id = peewee.CharField(primary_key=True)  # tok_ + 12 hex (the API's tokenId)
    digest = peewee.CharField(unique=True)  # SHA-256 of la_ + 48 hex
    user = peewee.CharField(index=True)
    label = peewee.TextField(default="default")
    last_used_at = peewee.DateTimeField(null=True)  # written in batches (handlers/loopat/token_touch.py)

    class Meta:
        table_name = "loopat_api_token"


class Loop(BaseModel):
    seq = peewee.AutoField()  # creation order: the list's order and its cursors
    id = peewee.CharField(unique=True)  # loop_ + uuid4
    user = peewee.CharField()  # created_by
    title = peewee.CharField(max_length=200, default="untitled")
    metadata = peewee.TextField(default="{}")  # JSON object of strings; never shown to the agent
    profiles = peewee.TextField(default="[]")  # JSON list of strings
    vault = peewee.CharField(default="default")
    repo = peewee.CharField(null=True)
    archived = peewee.BooleanField(default=False)
    archived_at = peewee.DateTimeField(null=True)
    permission_mode = peewee.CharField(default="bypassPermissions")  # persists once a message sets it
    turn_count = peewee.IntegerField(default=0)  # turns that have started
    # The lease of the process running this loop's turns (None: nobody). A process that stops
    # renewing it loses the loop to the first other process whose janitor sees it expired.
    runner = peewee.CharField(null=True)
    lease_until = peewee.FloatField(null=True)  # unix seconds

    class Meta:
        table_name = "loopat_loop"
        indexes = ((("user", "seq"), False),)


class Turn(BaseModel):
    seq = peewee.AutoField()  # FIFO order of a loop's queue
    id = peewee.CharField(unique=True)  # turn_ + 20 hex
    loop = peewee.CharField()
    user = peewee.CharField()
    content = peewee.TextField()
    permission_mode = peewee.CharField(null=True)  # as sent; None: the loop's mode when it starts
    idempotency_key = peewee.CharField(null=True)  # released (set to NULL) after the replay window
    request_hash = peewee.CharField(null=True)  # SHA-256 of the loop id and the canonical body
    state = peewee.CharField(default="queued")
    runner = peewee.CharField(null=True)  # the process that ran it
    started_at = peewee.DateTimeField(null=True)
    ended_at = peewee.DateTimeField(null=True)
    pending_choice = peewee.CharField(null=True)
    assistant_text = peewee.TextField(null=True)  # the whole reply, kept as history for later turns

    class Meta:
        table_name = "loopat_turn"
        indexes = (
            (("user", "idempotency_key"), True),  # NULLs never collide: one live key per user
            (("loop", "state", "seq"), False),
            (("state",), False),  # the janitor's scan of active turns
            (("ended_at",), False),  # event-log pruning
        )


class Event(peewee.Model):
    """One SSE event of a turn. `seq` is its SSE id: global, so one cursor follows every loop."""

    seq = peewee.AutoField()
    loop = peewee.CharField()
    turn = peewee.CharField()
    name = peewee.CharField()
    data = peewee.TextField()  # the JSON payload, exactly as sent

    class Meta:
        database = BaseModel._meta.database
        table_name = "loopat_event"
        indexes = ((("turn", "seq"), False), (("loop", "seq"), False))


class Choice(BaseModel):
    id = peewee.CharField(primary_key=True)  # choice_ + the tool_use id
    loop = peewee.CharField(index=True)
    turn = peewee.CharField(index=True)
    kind = peewee.CharField()  # permission | question
    payload = peewee.TextField()  # JSON, as in requires_choice
    state = peewee.CharField(default="pending")
    answer = peewee.TextField(null=True)  # JSON: {"allow": bool} or {"answers": {...}}
    answered_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "loopat_choice"


MODELS = [User, Session, ApiToken, Loop, Turn, Event, Choice]
