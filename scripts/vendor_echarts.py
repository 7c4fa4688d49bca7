"""Vendor Apache ECharts from its npm package (``make vendor-echarts``): no CDN, no npm.

Downloads the pinned version's tarball from the npm registry, checks it against the sha512
integrity the registry's metadata gives for that version (and against the one pinned in the
Makefile, so an upgrade is a reviewed change of both), and writes ``dist/echarts.min.js`` with
the package's LICENSE and NOTICE and a README naming the version and integrity.

Usage: python scripts/vendor_echarts.py VERSION INTEGRITY TARGET_DIRECTORY
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
import tarfile
import urllib.request
from pathlib import Path

REGISTRY = "https://registry.npmjs.org"
FILES = {"package/dist/echarts.min.js": "dist/echarts.min.js", "package/LICENSE": "LICENSE"}
OPTIONAL = {"package/NOTICE": "NOTICE"}


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=120) as response:  # noqa: S310 (https only)
        return bytes(response.read())


def main(version: str, pinned: str, target: Path) -> None:
    metadata = json.loads(fetch(f"{REGISTRY}/echarts/{version}"))
    integrity = metadata["dist"]["integrity"]
    if integrity != pinned:
        sys.exit(f"echarts {version}: the registry says {integrity}, the Makefile pins {pinned}")
    tarball = fetch(metadata["dist"]["tarball"])
    digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    if digest != integrity:
        sys.exit(f"echarts {version}: the tarball's sha512 does not match the registry's")
    (target / "dist").mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(tarball)) as archive:
        names = set(archive.getnames())
        for member, name in {**FILES, **{k: v for k, v in OPTIONAL.items() if k in names}}.items():
            extracted = archive.extractfile(member)
            if extracted is None:
                sys.exit(f"echarts {version}: {member} is missing from the package")
            (target / name).write_bytes(extracted.read())
    (target / "README.md").write_text(
        f"Apache ECharts {version}, `dist/echarts.min.js` of the npm package `echarts@{version}`"
        f" ({metadata['dist']['tarball']}), integrity `{integrity}` (checked against the"
        " registry's metadata). Licence: Apache-2.0 (LICENSE, NOTICE). Re-vendor with"
        " `make vendor-echarts` after changing ECHARTS_VERSION and ECHARTS_INTEGRITY in the"
        " Makefile.\n"
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], Path(sys.argv[3]))
