"""Build the device agent's zipapp: agent/ plus the installed pyroute2, byte for byte reproducible.

The same sources always give the same bytes: entries are sorted, every timestamp is
1980-01-01 (the earliest a zip can store), permissions are fixed and compression settings
are pinned. The file is named by its SHA-256, so a device can tell whether the copy in its
cache is the version the controller expects.

The archive's ``__main__.py`` is ``agent/bootstrap.py`` followed by a call with the
build id, a digest of every other entry. On a device the bootstrap unpacks the archive
once into a directory named by that id and compiles it there (see agent/bootstrap.py).
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pyroute2

import agent

AGENT_DIR = Path(agent.__file__).resolve().parent
PYROUTE2_DIR = Path(pyroute2.__file__).resolve().parent
PYROUTE2_LICENSES = ("LICENSE", "LICENSE.Apache-2.0", "LICENSE.GPL-2.0-or-later")

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644
COMPRESS_LEVEL = 9
# The shebang lets a device run ./agent-HASH.pyz directly; the controller uses python3 -I.
SHEBANG = b"#!/usr/bin/env python3\n"


def _package_files(root: Path, arc_prefix: str) -> Iterator[tuple[str, Path]]:
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        yield arc_prefix + "/" + path.relative_to(root).as_posix(), path


def _license_files() -> Iterator[tuple[str, Path]]:
    dist_info = PYROUTE2_DIR.parent / f"pyroute2-{pyroute2.__version__}.dist-info" / "licenses"
    for name in PYROUTE2_LICENSES:
        path = dist_info / name
        if path.is_file():
            yield f"licenses/pyroute2/{name}", path


def collect_entries() -> dict[str, bytes]:
    """Return every entry except ``__main__.py``, keyed by its name in the archive."""
    entries: dict[str, bytes] = {}
    for arcname, path in (
        *_package_files(AGENT_DIR, "agent"),
        *_package_files(PYROUTE2_DIR, "pyroute2"),
        *_license_files(),
    ):
        entries[arcname] = path.read_bytes()
    return entries


def build_id(entries: dict[str, bytes]) -> str:
    """Digest the entries' names and contents, in sorted order."""
    digest = hashlib.sha256()
    for name in sorted(entries):
        digest.update(name.encode() + b"\0")
        digest.update(hashlib.sha256(entries[name]).digest())
    return digest.hexdigest()


def main_module(identifier: str) -> bytes:
    bootstrap = (AGENT_DIR / "bootstrap.py").read_bytes()
    call = f'\n\nif __name__ == "__main__":\n    sys.exit(run({identifier!r}))\n'
    return bootstrap + call.encode()


def _zip_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, so external_attr carries the permission bits
    info.external_attr = (0o100000 | FILE_MODE) << 16
    return info


def build() -> tuple[bytes, str]:
    """Build the zipapp; return its bytes and their SHA-256 in hex."""
    entries = collect_entries()
    entries["__main__.py"] = main_module(build_id(entries))
    buffer = io.BytesIO()
    buffer.write(SHEBANG)
    with zipfile.ZipFile(buffer, "w", compresslevel=COMPRESS_LEVEL) as archive:
        for name in sorted(entries):
            archive.writestr(_zip_info(name), entries[name])
    data = buffer.getvalue()
    return data, hashlib.sha256(data).hexdigest()


def file_name(sha256: str) -> str:
    return f"mudmap-agent-{sha256}.pyz"


def write_to_cache(cache_dir: Path) -> Path:
    """Build the zipapp into ``cache_dir`` unless that exact build is already there."""
    data, sha256 = build()
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / file_name(sha256)
    if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == sha256:
        return target
    # Written under a temporary name and renamed, so a reader never sees half a file.
    descriptor, temporary = tempfile.mkstemp(prefix=".agent-", suffix=".tmp", dir=cache_dir)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
