"""`pentapi loup seed demo`: a small, realistic marketplace so a fresh server has something to
search, install and download. Idempotent: creators that already exist are left alone."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path

from handlers.loup import provisioning as prov
from server.settings import Settings
from storage.base import utcnow
from storage.loup import Creator

# The demo catalogue is data: creators, their packs, and each pack's release history.
CATALOG: dict = json.loads(
    (Path(__file__).with_name("demo_catalog.json")).read_text(encoding="utf-8")
)


def _files(name: str, description: str, version: str, changelog: str) -> dict[str, str]:
    return {
        "SKILL.md": f"# {name}\n\n{description}\n\nVersion {version}.\n",
        "CHANGELOG.md": f"## {version}\n\n{changelog}\n",
        "prompts/main.md": f"You are {name}. {description}\n",
        "loup.json": f'{{"name": "{name}", "version": "{version}"}}\n',
    }


def seed(settings: Settings) -> dict[str, object]:
    """Build the demo catalogue; returns a demo creator key and install token (shown once)."""
    out: dict[str, object] = {"creators": [], "packs": 0}
    first_pack = None
    for handle, entry in CATALOG.items():
        if Creator.get_or_none(Creator.handle == handle):
            continue
        creator = prov.create_creator(handle, entry["name"], f"hello@{handle}.example")
        out["creators"].append(handle)  # type: ignore[union-attr]
        for item in entry["packs"]:
            name, description = item["name"], item["description"]
            pack = prov.create_pack(
                creator.id, item["slug"], name, description, pricing_model=item["pricing_model"]
            )
            first_pack = first_pack or (creator, pack)
            for release in item["versions"]:
                version, changelog = release["version"], release["changelog"]
                with tempfile.TemporaryDirectory() as tmp:
                    for rel, text in _files(name, description, version, changelog).items():
                        target = Path(tmp) / rel
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_text(text)
                    prov.publish_version(settings, pack.id, version, Path(tmp), changelog=changelog)
            out["packs"] = int(out["packs"]) + 1  # type: ignore[call-overload]
            period_end = utcnow() + dt.timedelta(days=30)
            for status, channel in (("active", None), ("trialing", "slack"), ("canceled", None)):
                prov.create_install(
                    pack.id, status=status, channel=channel, current_period_end=period_end
                )
    if first_pack:
        creator, pack = first_pack
        _, out["creator_key"] = prov.mint_key(creator.id, ["read:installs", "read:usage"], "demo")
        install = prov.create_install(pack.id, buyer_email="demo-buyer@example.com")
        _, token = prov.mint_install_token(install.id)
        out["install_token"] = token
        out["install_command"] = prov.install_command(creator.handle, pack.slug, token)
    return out
