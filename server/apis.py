"""The five APIs pentapi serves: spec file, mount prefix and error envelope, in one table."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


@dataclass(frozen=True)
class ApiDef:
    name: str
    spec_file: str

    @property
    def spec_path(self) -> Path:
        return SPECS / self.spec_file

    @cached_property
    def document(self) -> dict:
        return json.loads(self.spec_path.read_text(encoding="utf-8"))

    @property
    def own_base_path(self) -> str:
        """The path part of the spec's first server URL (loopat: /api/v1; the others: '')."""
        servers = self.document.get("servers") or [{"url": ""}]
        return urlsplit(servers[0]["url"]).path.rstrip("/")

    def base_path(self, combined: bool) -> str:
        """Mounted under /<name> when all five share a server; at its own paths when alone."""
        return (f"/{self.name}" if combined else "") + self.own_base_path


APIS: dict[str, ApiDef] = {
    api.name: api
    for api in (
        ApiDef("loup", "loup.json"),
        ApiDef("loopkit", "loopkit.json"),
        ApiDef("loopat", "loopat.json"),
        ApiDef("lithtrix", "lithtrix.json"),
        ApiDef("gvnr", "gvnr.json"),
    )
}
