"""The APIs pentapi serves: spec file, handler package, mount prefix and error envelope.

The five product APIs are fixed below; extra documents (test fixtures, a spec author's draft)
can be mounted beside them with PENTAPI_EXTRA_APIS (see `extra_apis`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


@dataclass(frozen=True)
class ApiDef:
    name: str
    spec_path: Path
    handlers: str  # the package holding its handler modules
    envelope: str  # which API's error envelope it answers with
    document: dict = field(compare=False, repr=False, default_factory=dict)

    @classmethod
    def load(cls, name: str, spec_path: Path, handlers: str | None = None, envelope: str | None = None) -> ApiDef:
        document = json.loads(Path(spec_path).read_text(encoding="utf-8"))
        return cls(name, Path(spec_path), handlers or f"handlers.{name}", envelope or name, document)

    @property
    def own_base_path(self) -> str:
        """The path part of the spec's first server URL (loopat: /api/v1; the others: '')."""
        servers = self.document.get("servers") or [{"url": ""}]
        return urlsplit(servers[0]["url"]).path.rstrip("/")

    def base_path(self, combined: bool) -> str:
        """Mounted under /<name> when several share a server; at its own paths when alone."""
        return self.prefix(combined) + self.own_base_path

    def prefix(self, combined: bool) -> str:
        return f"/{self.name}" if combined else ""

    def mounts(self, combined: bool) -> list[Mount]:
        """Where the document's paths are served: the spec's server path, and apart from it each
        path-level `servers` path (OpenAPI 3.1 lets a path item name its own servers; loopat's
        /auth/login sits at /api beside /api/v1). The first mount is the spec's own."""
        groups: dict[str, dict] = {self.own_base_path: {}}
        for path, item in self.document.get("paths", {}).items():
            servers = item.get("servers") if isinstance(item, dict) else None
            base = urlsplit(servers[0]["url"]).path.rstrip("/") if servers else self.own_base_path
            groups.setdefault(base, {})[path] = item
        prefix = self.prefix(combined)
        return [
            Mount(self.name if i == 0 else f"{self.name}_{i}", prefix + base, {**self.document, "paths": paths})
            for i, (base, paths) in enumerate(groups.items())
        ]


@dataclass(frozen=True)
class Mount:
    """Part of an API's document served at one base path (`name` is unique per app)."""

    name: str
    base_path: str
    document: dict = field(compare=False, repr=False)


APIS: dict[str, ApiDef] = {
    name: ApiDef.load(name, SPECS / f"{name}.json") for name in ("loup", "loopkit", "loopat", "lithtrix", "gvnr")
}


def extra_apis(config: str) -> list[ApiDef]:
    """Parse PENTAPI_EXTRA_APIS: a JSON list of {"name", "spec", "handlers", "envelope"}."""
    if not config.strip():
        return []
    return [
        ApiDef.load(item["name"], ROOT / item["spec"], item.get("handlers"), item.get("envelope", "loopkit"))
        for item in json.loads(config)
    ]
