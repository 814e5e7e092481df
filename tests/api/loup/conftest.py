"""A small marketplace for Loup's API tests: two creators, their packs, installs and tokens,
built with the same provisioning functions the admin commands use."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from handlers.loup import provisioning as prov
from server.settings import Settings

P = "/loup/api/v1"


@dataclass
class World:
    settings: Settings
    files: Path
    keys: dict[str, str] = field(default_factory=dict)  # name -> plaintext plat_ key
    tokens: dict[str, str] = field(default_factory=dict)  # name -> plaintext loupit_ token
    ids: dict[str, str] = field(default_factory=dict)

    def creator_headers(self, name: str = "alice") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[name]}"}

    def token_headers(self, name: str = "alice_install") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    def publish(
        self,
        pack: str,
        version: str,
        files: dict[str, bytes],
        changelog: str = "",
        approve: bool = True,
    ):
        source = self.files / f"{pack}-{version}"
        for rel, content in files.items():
            target = source / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        return prov.publish_version(
            self.settings, self.ids[pack], version, source, changelog=changelog, approve=approve
        )


@pytest.fixture
def loup_settings(settings: Settings) -> Settings:
    # Generous limits so only the rate-limit tests (which lower them) ever see a 429.
    return settings.replace(
        loup_rate_limit_key=10_000, loup_rate_limit_token=10_000, loup_rate_limit_search=10_000
    )


@pytest.fixture
def api(make_client, loup_settings: Settings):
    return make_client(
        **{
            k: getattr(loup_settings, k)
            for k in ("loup_rate_limit_key", "loup_rate_limit_token", "loup_rate_limit_search")
        }
    )


@pytest.fixture
def world(api, loup_settings: Settings, tmp_path: Path) -> World:
    w = World(settings=loup_settings, files=tmp_path / "sources")
    alice = prov.create_creator("selr-ai", "Selr AI", "team@selr.example")
    bob = prov.create_creator("bobs-skills", "Bob's Skills")
    w.ids.update(alice=alice.id, bob=bob.id)
    _, w.keys["alice"] = prov.mint_key(alice.id, ["read:installs", "read:usage"])
    _, w.keys["alice_installs_only"] = prov.mint_key(alice.id, ["read:installs"])
    _, w.keys["bob"] = prov.mint_key(bob.id, ["read:installs", "read:usage"])
    writer = prov.create_pack(
        alice.id,
        "voice-graded-writer",
        "Voice-Graded Content Writer",
        "Writes LinkedIn posts in your own voice, graded against samples.",
    )
    kit = prov.create_pack(
        alice.id,
        "workshop-kit",
        "Claude Workshop Kit",
        "Prompts and config for running a hands-on Claude workshop.",
        pricing_model="one_off",
    )
    ledger = prov.create_pack(
        bob.id, "ledger-helper", "Ledger Helper", "Bookkeeping prompts for small businesses."
    )
    w.ids.update(writer=writer.id, kit=kit.id, ledger=ledger.id)
    w.publish(
        "writer",
        "1.0.0",
        {"SKILL.md": b"# Writer\n", "prompts/hook.md": b"Draft a hook\n"},
        "First release",
    )
    w.publish("writer", "1.1.0", {"SKILL.md": b"# Writer v1.1\n"}, "Sharper hooks")
    w.publish("ledger", "0.1.0", {"SKILL.md": b"# Ledger\n"}, "Initial")
    alice_install = prov.create_install(writer.id, buyer_email="buyer@example.com")
    bob_install = prov.create_install(ledger.id, buyer_email="buyer@example.com", channel="slack")
    w.ids.update(alice_install=alice_install.id, bob_install=bob_install.id)
    _, w.tokens["alice_install"] = prov.mint_install_token(alice_install.id)
    _, w.tokens["bob_install"] = prov.mint_install_token(bob_install.id)
    return w
