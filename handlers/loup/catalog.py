"""What a buyer may see of a pack: its approved versions, newest first, and nothing else.

"Latest" is publication order (the creator's release sequence), not a semver sort.
Versions pending review never appear; versions still `preparing` are announced nowhere
and only answer 409 when asked for by name.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.errors import ApiError
from storage.loup import Creator, Install, Pack, PackVersion

UNRELEASED = "unreleased"  # version shown for a pack with no approved version yet


@dataclass(frozen=True)
class Owned:
    """An install with its pack and the pack's creator, loaded in one query."""

    install: Install
    pack: Pack
    creator: Creator


def owned(install_id: str) -> Owned:
    row = (
        Install.select(Install, Pack, Creator)
        .join(Pack)
        .join(Creator)
        .where(Install.id == install_id)
        .get_or_none()
    )
    if row is None:  # deleted between authentication and now: the token no longer leads anywhere
        raise ApiError(401, "UNAUTHORIZED", "invalid install token")
    return Owned(row, row.pack, row.pack.creator)


def approved_versions(pack_id: str, limit: int = 20) -> list[PackVersion]:
    return list(
        PackVersion.select()
        .where((PackVersion.pack == pack_id) & (PackVersion.state == "approved"))
        .order_by(PackVersion.created_at.desc(), PackVersion.id.desc())
        .limit(limit)
    )


def latest_approved(pack_id: str) -> PackVersion | None:
    found = approved_versions(pack_id, limit=1)
    return found[0] if found else None


def find_version(pack_id: str, version: str) -> PackVersion | None:
    """A version by name, unless it is still pending review (buyers never learn of those)."""
    row = PackVersion.get_or_none((PackVersion.pack == pack_id) & (PackVersion.version == version))
    return None if row is None or row.state == "pending_review" else row


def current_version(owned_install: Owned) -> str:
    """The version the buyer has (installed_version), else the latest approved one."""
    if owned_install.install.installed_version:
        return owned_install.install.installed_version
    latest = latest_approved(owned_install.pack.id)
    return latest.version if latest else UNRELEASED
