"""`pentapi loup ...`: what Loup's dashboards mint, from the command line.

Every command prints one JSON object. Secrets (plat_ keys, loupit_ tokens) appear in that
output once and are stored only as SHA-256 digests.
"""

from __future__ import annotations

import argparse
import datetime as dt
import typing as t
from pathlib import Path

from handlers.loup import demo
from handlers.loup import provisioning as prov
from scripts import admin
from server.settings import Settings

_REFUSED = (prov.ProvisioningError,)


def _command(fn: admin.Action) -> t.Callable:
    return admin.command(fn, _REFUSED)


def _flag(value: str) -> bool:
    if value.lower() in ("on", "true", "1", "yes"):
        return True
    if value.lower() in ("off", "false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError("expected on or off")


def _creator_create(a: argparse.Namespace, _s: Settings) -> dict:
    c = prov.create_creator(a.handle, a.name or a.handle, a.email, is_admin=a.admin)
    return {"id": c.id, "handle": c.handle, "is_admin": c.is_admin}


def _key_mint(a: argparse.Namespace, _s: Settings) -> dict:
    key, secret = prov.mint_key(a.creator, a.scopes, a.label)
    return {
        "key_id": key.id,
        "scopes": key.scopes.split(),
        "key": secret,
        "note": "shown once; only its SHA-256 is stored",
    }


def _key_revoke(a: argparse.Namespace, _s: Settings) -> dict:
    prov.revoke_key(a.key_id)
    return {"key_id": a.key_id, "revoked": True}


def _pack_create(a: argparse.Namespace, _s: Settings) -> dict:
    p = prov.create_pack(
        a.creator,
        a.slug,
        a.name,
        a.description,
        pricing_model=a.pricing,
        public=not a.private,
        hosted_runtime=a.hosted_runtime,
    )
    return {"id": p.id, "slug": p.slug, "public": p.public, "hosted_runtime": p.hosted_runtime}


def _pack_hosted_runtime(a: argparse.Namespace, _s: Settings) -> dict:
    p = prov.set_hosted_runtime(a.pack, a.state)
    return {"id": p.id, "hosted_runtime": p.hosted_runtime}


def _pack_visibility(a: argparse.Namespace, _s: Settings) -> dict:
    p = prov.update_pack(a.pack, public=a.visibility == "public")
    return {"id": p.id, "public": p.public}


def _version_publish(a: argparse.Namespace, s: Settings) -> dict:
    v = prov.publish_version(
        s, a.pack, a.version, Path(a.directory), changelog=a.changelog, approve=not a.hold
    )
    return {
        "id": v.id,
        "version": v.version,
        "state": v.state,
        "sha256": v.sha256,
        "size_bytes": v.size_bytes,
    }


def _version_approve(a: argparse.Namespace, _s: Settings) -> dict:
    v = prov.approve_version(a.pack, a.version)
    return {"id": v.id, "version": v.version, "state": v.state}


def _install_create(a: argparse.Namespace, _s: Settings) -> dict:
    period_end = (
        dt.datetime.fromisoformat(a.period_end).astimezone(dt.UTC) if a.period_end else None
    )
    i = prov.create_install(
        a.pack,
        buyer_email=a.email,
        status=a.status,
        channel=a.channel,
        current_period_end=period_end,
        spend_cap_usd=a.spend_cap_usd,
    )
    return {"id": i.id, "pack_id": i.pack_id, "status": i.status}


def _install_status(a: argparse.Namespace, _s: Settings) -> dict:
    i = prov.set_install_status(a.install, a.status)
    return {"id": i.id, "status": i.status}


def _token_mint(a: argparse.Namespace, _s: Settings) -> dict:
    token, secret = prov.mint_install_token(a.install)
    from storage.loup import Creator, Install, Pack

    row = (
        Install.select(Install, Pack, Creator)
        .join(Pack)
        .join(Creator)
        .where(Install.id == a.install)
        .get()
    )
    return {
        "token_id": token.id,
        "token": secret,
        "install_command": prov.install_command(row.pack.creator.handle, row.pack.slug, secret),
        "note": "shown once; only its SHA-256 is stored",
    }


def _token_revoke(a: argparse.Namespace, _s: Settings) -> dict:
    prov.revoke_install_token(a.token_id)
    return {"token_id": a.token_id, "revoked": True}


def _seed(a: argparse.Namespace, s: Settings) -> dict:
    return demo.seed(s)


def add_commands(parser: argparse.ArgumentParser) -> None:
    groups = parser.add_subparsers(dest="loup_command", required=True)

    def command(
        group: argparse._SubParsersAction, name: str, fn: t.Callable, help_: str
    ) -> argparse.ArgumentParser:
        sub = group.add_parser(name, help=help_)
        sub.set_defaults(run=_command(fn))
        return sub

    creator = groups.add_parser("creator", help="creator accounts").add_subparsers(
        dest="action", required=True
    )
    c = command(creator, "create", _creator_create, "create a creator account")
    c.add_argument("handle", help="the <creator> in <creator>/<slug>, e.g. selr-ai")
    c.add_argument("--name")
    c.add_argument("--email")
    c.add_argument(
        "--admin", action="store_true", help="an admin account (may hold the admin scope)"
    )

    key = groups.add_parser("key", help="creator API keys (plat_)").add_subparsers(
        dest="action", required=True
    )
    k = command(key, "mint", _key_mint, "mint a key with scopes (printed once)")
    k.add_argument("creator", help="creator id (acc_...)")
    k.add_argument("--scope", dest="scopes", action="append", required=True, choices=prov.SCOPES)
    k.add_argument("--label", default="")
    command(key, "revoke", _key_revoke, "revoke a key").add_argument("key_id")

    pack = groups.add_parser("pack", help="skill packs").add_subparsers(
        dest="action", required=True
    )
    p = command(pack, "create", _pack_create, "create a pack")
    p.add_argument("creator", help="creator id (acc_...)")
    p.add_argument("slug")
    p.add_argument("name")
    p.add_argument("--description")
    p.add_argument("--pricing", default="subscription", choices=prov.PRICING_MODELS)
    p.add_argument("--private", action="store_true", help="hidden from marketplace search")
    p.add_argument("--hosted-runtime", action="store_true")
    h = command(
        pack, "hosted-runtime", _pack_hosted_runtime, "turn the hosted_runtime flag on or off"
    )
    h.add_argument("pack", help="pack id (pck_...)")
    h.add_argument("state", type=_flag, help="on or off")
    v = command(pack, "visibility", _pack_visibility, "list or hide a pack in search")
    v.add_argument("pack")
    v.add_argument("visibility", choices=("public", "private"))

    version = groups.add_parser("version", help="pack versions").add_subparsers(
        dest="action", required=True
    )
    pub = command(
        version, "publish", _version_publish, "snapshot a directory as a version (tar.gz + sha256)"
    )
    pub.add_argument("pack", help="pack id (pck_...)")
    pub.add_argument("version")
    pub.add_argument("directory")
    pub.add_argument("--changelog", default="")
    pub.add_argument(
        "--hold", action="store_true", help="leave it pending review (not visible to buyers)"
    )
    ap = command(version, "approve", _version_approve, "approve a version held for review")
    ap.add_argument("pack")
    ap.add_argument("version")

    install = groups.add_parser("install", help="buyers' installs").add_subparsers(
        dest="action", required=True
    )
    i = command(install, "create", _install_create, "create an install of a pack")
    i.add_argument("pack", help="pack id (pck_...)")
    i.add_argument("--email")
    i.add_argument("--status", default="active", choices=("active", "trialing", "canceled"))
    i.add_argument("--channel", choices=("telegram", "slack", "whatsapp", "google_chat"))
    i.add_argument("--period-end", help="ISO 8601 end of the current billing period")
    i.add_argument("--spend-cap-usd", type=float, help="hosted-runtime spend cap")
    st = command(install, "status", _install_status, "change an install's status")
    st.add_argument("install")
    st.add_argument("status", choices=("active", "trialing", "canceled"))

    token = groups.add_parser("token", help="install tokens (loupit_)").add_subparsers(
        dest="action", required=True
    )
    command(token, "mint", _token_mint, "mint an install token (printed once)").add_argument(
        "install"
    )
    command(token, "revoke", _token_revoke, "revoke an install token").add_argument("token_id")

    seed = groups.add_parser("seed", help="demo data").add_subparsers(dest="action", required=True)
    command(seed, "demo", _seed, "build a realistic demo marketplace")
    # `pentapi loup seed-demo` (the spelling README uses) is the same command.
    groups.add_parser("seed-demo", help="same as `seed demo`").set_defaults(run=_command(_seed))
