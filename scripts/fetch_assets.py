"""Fetch the docs UI's browser assets (swagger-ui-dist, the only Swagger UI that renders OpenAPI
3.1; Connexion bundles 4.15) from the npm registry into server/static/swagger-ui/.

Pinned like the Python dependencies: one version and the registry's sha512 integrity of its
tarball, checked before anything is unpacked. `./run` calls this once per checkout
(`python -m scripts.fetch_assets`); the files are not kept in git.
"""

from __future__ import annotations

import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from pathlib import Path

VERSION = "5.35.0"
TARBALL = f"https://registry.npmjs.org/swagger-ui-dist/-/swagger-ui-dist-{VERSION}.tgz"
INTEGRITY = "sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ=="
FILES = ("swagger-ui-bundle.js", "swagger-ui-bundle.js.LICENSE.txt", "swagger-ui.css", "favicon-32x32.png",
         "LICENSE", "NOTICE")
TARGET = Path(__file__).resolve().parent.parent / "server" / "static" / "swagger-ui"
STAMP = "VERSION"


class IntegrityError(Exception):
    pass


def verify(data: bytes, integrity: str = INTEGRITY) -> None:
    """Refuse bytes whose digest is not the pinned Subresource-Integrity value."""
    algorithm, _, expected = integrity.partition("-")
    actual = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if actual != expected:
        raise IntegrityError(f"swagger-ui-dist {VERSION}: {algorithm} {actual} is not the pinned {expected}")


def unpack(data: bytes, target: Path) -> None:
    """Write FILES from the verified tarball (npm puts them under package/), then the stamp."""
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for name in FILES:
            member = archive.extractfile(f"package/{name}")
            if member is None:
                raise IntegrityError(f"package/{name} is not a file in swagger-ui-dist {VERSION}")
            (target / name).write_bytes(member.read())
    (target / STAMP).write_text(f"swagger-ui-dist {VERSION} from the npm registry (Apache-2.0); renders OpenAPI 3.1.\n")


def current(target: Path = TARGET) -> bool:
    stamp = target / STAMP
    return (stamp.is_file() and f" {VERSION} " in stamp.read_text()
            and all((target / name).is_file() for name in FILES))


def main() -> int:
    if current():
        return 0
    print(f"==> fetching swagger-ui-dist {VERSION} from the npm registry", file=sys.stderr)
    with urllib.request.urlopen(TARBALL, timeout=60) as response:
        data = response.read()
    verify(data)
    unpack(data, TARGET)
    return 0


if __name__ == "__main__":
    sys.exit(main())
