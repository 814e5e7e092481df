"""What Loup's dashboards mint, as plain functions: creators, scoped keys, packs, published
versions, installs, install tokens, feature flags. The admin commands
(`pentapi loup ...`) and the tests' fixtures both call these.

Secrets are returned once, in plaintext, next to the row that stores only their digest.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from pathlib import Path

import peewee

from handlers.loup import snapshots
from server import tokens
from server.settings import Settings
from storage import db
from storage.base import utcnow
from storage.loup import (
    CHANNELS,
    INSTALL_STATUSES,
    ApiKey,
    Creator,
    Install,
    InstallToken,
    Pack,
    PackVersion,
)

SCOPES = ("read:installs", "read:usage", "read:payouts", "write:webhooks", "admin")
PRICING_MODELS = ("subscription", "one_off", "free")
KEY_PREFIX = "plat_"
TOKEN_PREFIX = "loupit_"
_HANDLE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_VERSION = re.compile(r"^[0-9A-Za-z](?:[0-9A-Za-z.+-]{0,62}[0-9A-Za-z])?$")


class ProvisioningError(ValueError):
    """A request the dashboard would refuse (bad slug, unknown pack, forbidden scope, ...)."""


def new_id(prefix: str, nbytes: int = 6) -> str:
    return prefix + secrets.token_hex(nbytes)


def _get(model: type[peewee.Model], key: str, what: str) -> peewee.Model:
    field = model.id
    row = model.get_or_none(field == key)
    if row is None:
        raise ProvisioningError(f"unknown {what}: {key}")
    return row


# ------------------------------------------------------------------ creators and keys


def create_creator(
    handle: str, name: str, email: str | None = None, is_admin: bool = False
) -> Creator:
    if not _HANDLE.match(handle):
        raise ProvisioningError("handle must be lowercase letters, digits and inner hyphens (1-40)")
    if Creator.get_or_none(Creator.handle == handle):
        raise ProvisioningError(f"handle already taken: {handle}")
    creator_id = new_id("acc_")
    insert = Creator.insert(id=creator_id, handle=handle, name=name, email=email, is_admin=is_admin)
    with db.write():
        insert.execute()
    return Creator.get_by_id(creator_id)


def mint_key(creator_id: str, scopes: list[str], label: str = "") -> tuple[ApiKey, str]:
    """A new `plat_` key with `scopes`; the plaintext is returned once and never stored."""
    creator = _get(Creator, creator_id, "creator")
    wanted = list(dict.fromkeys(scopes))
    unknown = [s for s in wanted if s not in SCOPES]
    if unknown or not wanted:
        raise ProvisioningError(f"scopes must be some of {', '.join(SCOPES)}")
    if "admin" in wanted and not creator.is_admin:
        raise ProvisioningError("the admin scope is available only to admin accounts")
    secret = tokens.mint(KEY_PREFIX)
    key_id = new_id("key_")
    insert = ApiKey.insert(
        id=key_id,
        creator=creator.id,
        digest=tokens.digest(secret),
        scopes=" ".join(wanted),
        label=label,
    )
    with db.write():
        insert.execute()
    return ApiKey.get_by_id(key_id), secret


def revoke_key(key_id: str) -> None:
    update = ApiKey.update(revoked_at=utcnow()).where(
        (ApiKey.id == key_id) & ApiKey.revoked_at.is_null()
    )
    with db.write():
        if not update.execute():
            _get(ApiKey, key_id, "key")  # unknown -> error; already revoked -> nothing to do


# ------------------------------------------------------------------ packs and versions


def create_pack(
    creator_id: str,
    slug: str,
    name: str,
    description: str | None = None,
    *,
    pricing_model: str = "subscription",
    public: bool = True,
    hosted_runtime: bool = False,
) -> Pack:
    creator = _get(Creator, creator_id, "creator")
    if not _SLUG.match(slug):
        raise ProvisioningError("slug must be lowercase letters, digits and inner hyphens (1-64)")
    if pricing_model not in PRICING_MODELS:
        raise ProvisioningError(f"pricing model must be one of {', '.join(PRICING_MODELS)}")
    if Pack.get_or_none((Pack.creator == creator.id) & (Pack.slug == slug)):
        raise ProvisioningError(f"{creator.handle}/{slug} already exists")
    pack_id = new_id("pck_")
    insert = Pack.insert(
        id=pack_id,
        creator=creator.id,
        slug=slug,
        name=name,
        description=description,
        pricing_model=pricing_model,
        public=public,
        hosted_runtime=hosted_runtime,
    )
    with db.write():
        insert.execute()
    return Pack.get(Pack.id == pack_id)


def update_pack(pack_id: str, **changes: object) -> Pack:
    """Change name, description, pricing_model, public or hosted_runtime.

    The search index follows by trigger.
    """
    allowed = {"name", "description", "pricing_model", "public", "hosted_runtime"}
    if set(changes) - allowed:
        raise ProvisioningError(f"only {', '.join(sorted(allowed))} can change")
    if changes.get("pricing_model", "subscription") not in PRICING_MODELS:
        raise ProvisioningError(f"pricing model must be one of {', '.join(PRICING_MODELS)}")
    _get(Pack, pack_id, "pack")
    update = Pack.update(**changes).where(Pack.id == pack_id)
    with db.write():
        update.execute()
    return Pack.get(Pack.id == pack_id)


def set_hosted_runtime(pack_id: str, enabled: bool) -> Pack:
    return update_pack(pack_id, hosted_runtime=enabled)


def publish_version(
    settings: Settings,
    pack_id: str,
    version: str,
    source: Path,
    *,
    changelog: str = "",
    approve: bool = True,
) -> PackVersion:
    """Snapshot `source` as `version`: the row is `preparing` while the tarball is built, then
    `approved` (or `pending_review` when `approve` is false) with its sha256 and size."""
    pack = _get(Pack, pack_id, "pack")
    if not _VERSION.match(version):
        raise ProvisioningError("version must be letters, digits, '.', '+' or '-' (1-64)")
    if not Path(source).is_dir():
        raise ProvisioningError(f"{source} is not a directory")
    same = (PackVersion.pack == pack.id) & (PackVersion.version == version)
    if PackVersion.get_or_none(same):
        raise ProvisioningError(f"version {version} already exists")
    version_id = new_id("ver_")
    insert = PackVersion.insert(
        id=version_id, pack=pack.id, version=version, changelog=changelog, state="preparing"
    )
    try:
        with db.write():
            insert.execute()
    except peewee.IntegrityError:
        if PackVersion.get_or_none(same) is None:
            raise
        # A concurrent publish of this version inserted first (the unique index decided).
        # Nothing of ours was written, and our snapshot is only built after the insert.
        raise ProvisioningError(f"version {version} already exists") from None
    relative = Path(pack.id) / f"{version_id}.tar.gz"
    try:
        built = snapshots.build_tarball(Path(source), snapshots.snapshot_dir(settings) / relative)
    except BaseException:
        remove = PackVersion.delete().where(PackVersion.id == version_id)
        with db.write():
            remove.execute()
        raise
    ready = PackVersion.update(
        sha256=built.sha256,
        size_bytes=built.size_bytes,
        path=str(relative),
        state="approved" if approve else "pending_review",
        approved_at=utcnow() if approve else None,
    ).where(PackVersion.id == version_id)
    with db.write():
        ready.execute()
    return PackVersion.get_by_id(version_id)


def approve_version(pack_id: str, version: str) -> PackVersion:
    row = PackVersion.get_or_none((PackVersion.pack == pack_id) & (PackVersion.version == version))
    if row is None:
        raise ProvisioningError(f"unknown version {version} of {pack_id}")
    if row.state != "pending_review":
        raise ProvisioningError(f"version {version} is {row.state}, not pending review")
    update = PackVersion.update(state="approved", approved_at=utcnow()).where(
        PackVersion.id == row.id
    )
    with db.write():
        update.execute()
    return PackVersion.get_by_id(row.id)


# ------------------------------------------------------------------ installs and tokens


def create_install(
    pack_id: str,
    *,
    buyer_email: str | None = None,
    status: str = "active",
    channel: str | None = None,
    current_period_end: dt.datetime | None = None,
    spend_cap_usd: float | None = None,
) -> Install:
    pack = _get(Pack, pack_id, "pack")
    if status not in INSTALL_STATUSES:
        raise ProvisioningError(f"status must be one of {', '.join(INSTALL_STATUSES)}")
    if channel is not None and channel not in CHANNELS:
        raise ProvisioningError(f"channel must be one of {', '.join(CHANNELS)}")
    install_id = new_id("ins_", 8)
    insert = Install.insert(
        id=install_id,
        pack=pack.id,
        buyer_email=buyer_email,
        status=status,
        channel=channel,
        current_period_end=current_period_end,
        spend_cap_micro_usd=None if spend_cap_usd is None else round(spend_cap_usd * 1_000_000),
    )
    with db.write():
        insert.execute()
    return Install.get_by_id(install_id)


def set_install_status(install_id: str, status: str) -> Install:
    if status not in INSTALL_STATUSES:
        raise ProvisioningError(f"status must be one of {', '.join(INSTALL_STATUSES)}")
    _get(Install, install_id, "install")
    update = Install.update(status=status).where(Install.id == install_id)
    with db.write():
        update.execute()
    return Install.get_by_id(install_id)


def mint_install_token(install_id: str) -> tuple[InstallToken, str]:
    """A new `loupit_` token for one install (what "Get install command" shows once)."""
    install = _get(Install, install_id, "install")
    secret = tokens.mint(TOKEN_PREFIX)
    token_id = new_id("itk_")
    insert = InstallToken.insert(id=token_id, install=install.id, digest=tokens.digest(secret))
    with db.write():
        insert.execute()
    return InstallToken.get_by_id(token_id), secret


def revoke_install_token(token_id: str) -> None:
    update = InstallToken.update(revoked_at=utcnow()).where(
        (InstallToken.id == token_id) & InstallToken.revoked_at.is_null()
    )
    with db.write():
        if not update.execute():
            _get(InstallToken, token_id, "install token")


def install_command(creator_handle: str, slug: str, token: str = "<your install token>") -> str:
    return f"npx @louphq/install {creator_handle}/{slug} --token {token}"
