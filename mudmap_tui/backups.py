"""Backups of a device's network configuration, content-addressed in the local store.

Each file's content is a blob named by its SHA-256 in ``backup_blobs``, so content that
did not change between backups, or that several devices share, is stored once. A backup is
a row in ``backups`` pointing at its manifest, itself a blob: canonical JSON listing each
file's path, type, mode, owner and content hash, plus the paths that were missing.

Backups contain secrets (WireGuard private keys, Wi-Fi passwords). They stay in the local
database, which open_database creates with mode 0600; the show and diff helpers hide
secret values unless the caller asks for them.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import json
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from mudmap_tui.errors import NotFound
from mudmap_tui.ssh.connection import DeviceConnection
from mudmap_tui.ssh.errors import SshError, SudoPasswordRequired, TimedOut
from mudmap_tui.ssh.process import CommandResult, run_remote
from mudmap_tui.store.timestamps import utc_now
from mudmap_tui.store.transactions import write_transaction

# The network configuration of the usual Linux stacks: ifupdown, systemd-networkd,
# netplan, NetworkManager, wg-quick and nftables.
NETWORK_CONFIG_PATHS = (
    "/etc/network",
    "/etc/systemd/network",
    "/etc/netplan",
    "/etc/NetworkManager/system-connections",
    "/etc/wireguard",
    "/etc/nftables.conf",
    "/etc/nftables.d",
)
MANIFEST_VERSION = 1
# Larger files are listed with an error instead of being copied: configuration is small,
# and a huge file there is more likely a mistake than configuration.
MAX_FILE_BYTES = 16 * 1024 * 1024
# The collector's JSON carries every file base64-encoded (4/3 of the size).
OUTPUT_CAP = 256 * 1024 * 1024
COLLECT_TIMEOUT = 120.0
REDACTED = "<redacted>"
REDACTED_CHANGED = "<redacted, changed>"
# Stands in for a secret value while two texts are compared: the value's SHA-256 between
# NUL bytes, which no text file line contains, so a changed secret makes a changed line.
SECRET_MARK_RE = re.compile(r"\x00secret:(?P<digest>[0-9a-f]{64})\x00")
# Lines whose value is a secret in wg-quick, NetworkManager keyfiles, netplan and
# wpa_supplicant syntax: "PrivateKey = ...", "psk=...", "password: ...".
SECRET_LINE_RE = re.compile(
    r"^(?P<head>\s*(?:PrivateKey|PresharedKey|psk|password|[a-z0-9-]*-password|"
    r"wep-key[0-9]|secret|pin|private-key)\s*[=:]\s*)(?P<value>\S.*?)\s*$",
    re.IGNORECASE,
)

# Runs on the device's python3 as root; prints one JSON object. argv: paths to collect.
COLLECTOR = r"""
import base64, json, os, stat, sys
limit = int(sys.argv[1])
out = {"files": [], "missing": [], "errors": []}
def add(path):
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        out["missing"].append(path)
        return
    except OSError as error:
        out["errors"].append({"path": path, "error": error.strerror or str(error)})
        return
    entry = {"path": path, "mode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid}
    if stat.S_ISLNK(st.st_mode):
        entry.update(type="symlink", target=os.readlink(path))
        out["files"].append(entry)
    elif stat.S_ISDIR(st.st_mode):
        try:
            names = sorted(os.listdir(path))
        except OSError as error:
            out["errors"].append({"path": path, "error": error.strerror or str(error)})
            return
        for name in names:
            add(os.path.join(path, name))
    elif stat.S_ISREG(st.st_mode):
        if st.st_size > limit:
            out["errors"].append({"path": path, "error": "larger than %d bytes" % limit})
            return
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as error:
            out["errors"].append({"path": path, "error": error.strerror or str(error)})
            return
        entry.update(type="file", content=base64.b64encode(data).decode())
        out["files"].append(entry)
for path in sys.argv[2:]:
    add(path)
json.dump(out, sys.stdout)
"""


@dataclass
class Collected:
    """Files read from a device: manifest entries, blob contents by hash, missing paths."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    blobs: dict[str, bytes] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class BackupInfo:
    """One backup's row and its manifest."""

    id: int
    device: str
    taken_at: str
    manifest_sha256: str
    manifest: dict[str, Any]

    @property
    def files(self) -> list[dict[str, Any]]:
        return list(self.manifest.get("files", []))

    def file(self, path: str) -> dict[str, Any]:
        for entry in self.files:
            if entry["path"] == path:
                return entry
        raise NotFound(
            f"backup {self.id} has no file {path!r}; list its files with "
            f"`mudmap backup show {self.id}`"
        )


def collector_command(paths: Sequence[str], as_root: bool) -> str:
    quoted = " ".join(shlex.quote(path) for path in paths)
    command = f"python3 -I -c {shlex.quote(COLLECTOR)} {MAX_FILE_BYTES} {quoted}"
    return command if as_root else f"sudo -n {command}"


async def collect(
    connection: DeviceConnection,
    paths: Sequence[str] = NETWORK_CONFIG_PATHS,
) -> Collected:
    """Read ``paths`` (files, or directories walked without following links) from a device.

    Reads as root: directly when the login user is root, else through ``sudo -n``.
    :raises SudoPasswordRequired: sudo wants a password from the login user
    """
    as_root = connection.target.user == "root"
    result = await _run_collector(connection, collector_command(paths, as_root))
    stderr = result.stderr.decode(errors="replace")
    if result.exit_status != 0:
        if "password is required" in stderr or "a terminal is required" in stderr:
            raise SudoPasswordRequired(
                connection.device,
                "backup",
                f"sudo -n asks {connection.target.user} for a password; "
                "allow passwordless sudo or log in as root",
            )
        raise SshError(
            connection.device,
            "backup",
            f"the file collector exited with status {result.exit_status}: "
            f"{stderr.strip()[-400:] or 'no output'}",
        )
    if result.truncated:
        raise SshError(
            connection.device,
            "backup",
            f"the configuration is larger than {OUTPUT_CAP} bytes; nothing stored",
        )
    return parse_collected(json.loads(result.stdout))


async def _run_collector(connection: DeviceConnection, command: str) -> CommandResult:
    result = await run_remote(connection, command, timeout=COLLECT_TIMEOUT, output_cap=OUTPUT_CAP)
    if result.timed_out:
        raise TimedOut(connection.device, "backup", COLLECT_TIMEOUT)
    return result


def parse_collected(data: dict[str, Any]) -> Collected:
    collected = Collected(
        missing=list(data.get("missing", [])), errors=list(data.get("errors", []))
    )
    for item in data.get("files", []):
        entry = {key: item[key] for key in ("path", "type", "mode", "uid", "gid")}
        if item["type"] == "symlink":
            entry["target"] = item["target"]
        else:
            content = base64.b64decode(item["content"])
            digest = hashlib.sha256(content).hexdigest()
            collected.blobs[digest] = content
            entry.update(sha256=digest, size=len(content))
        collected.entries.append(entry)
    return collected


def manifest_bytes(collected: Collected) -> bytes:
    manifest = {
        "version": MANIFEST_VERSION,
        "files": collected.entries,
        "missing": collected.missing,
        "errors": collected.errors,
    }
    return json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()


def store_backup(db: Database, device: str, collected: Collected, note: str = "") -> int:
    """Write the blobs and the manifest, then the backup row; return the backup's id."""
    manifest = manifest_bytes(collected)
    manifest_sha256 = hashlib.sha256(manifest).hexdigest()
    with write_transaction(db):
        for digest, content in [*collected.blobs.items(), (manifest_sha256, manifest)]:
            db.execute(
                "INSERT OR IGNORE INTO backup_blobs (sha256, size, content) VALUES (?, ?, ?)",
                (digest, len(content), content),
            )
        cursor = db.execute(
            "INSERT INTO backups (device, taken_at, manifest_sha256, note) VALUES (?, ?, ?, ?)",
            (device, utc_now(), manifest_sha256, note),
        )
    return int(cursor.lastrowid or 0)


def blob(db: Database, digest: str) -> bytes:
    row = db.execute("SELECT content FROM backup_blobs WHERE sha256 = ?", (digest,)).fetchone()
    if row is None:
        raise NotFound(
            f"blob {digest} is missing from the backup store; the database is "
            "damaged, take a new backup"
        )
    return bytes(row[0])


def get_backup(db: Database, backup_id: int) -> BackupInfo:
    row = db.execute(
        "SELECT id, device, taken_at, manifest_sha256 FROM backups WHERE id = ?", (backup_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"no backup with id {backup_id}; see `mudmap backup list`")
    manifest = json.loads(blob(db, row[3]))
    return BackupInfo(row[0], row[1], row[2], row[3], manifest)


def list_backups(db: Database, device: str | None = None) -> list[BackupInfo]:
    """Return backups newest first, of one device when given."""
    sql = "SELECT id FROM backups"
    values: list[Any] = []
    if device is not None:
        sql += " WHERE device = ?"
        values.append(device)
    sql += " ORDER BY taken_at DESC, id DESC"
    return [get_backup(db, row[0]) for row in db.execute(sql, values).fetchall()]


def redact_text(text: str) -> str:
    """Replace the values of secret lines (PrivateKey = ..., psk=...) with a marker."""
    lines = []
    for line in text.splitlines(keepends=True):
        match = SECRET_LINE_RE.match(line.rstrip("\r\n"))
        if match:
            ending = line[len(line.rstrip("\r\n")) :]
            line = f"{match.group('head')}{REDACTED}{ending}"
        lines.append(line)
    return "".join(lines)


def _mark_secrets(text: str) -> tuple[str, set[str]]:
    """Replace secret values with marks carrying their hashes; return the text and hashes."""
    digests: set[str] = set()
    lines = []
    for line in text.splitlines(keepends=True):
        match = SECRET_LINE_RE.match(line.rstrip("\r\n"))
        if match:
            digest = hashlib.sha256(match.group("value").encode()).hexdigest()
            digests.add(digest)
            ending = line[len(line.rstrip("\r\n")) :]
            line = f"{match.group('head')}\x00secret:{digest}\x00{ending}"
        lines.append(line)
    return "".join(lines), digests


def _show_marks(line: str, other_side: set[str]) -> str:
    """Replace the marks in a diff line; a value absent from ``other_side`` is shown changed."""

    def marker(match: re.Match[str]) -> str:
        return REDACTED if match.group("digest") in other_side else REDACTED_CHANGED

    return SECRET_MARK_RE.sub(marker, line)


def file_text(db: Database, entry: dict[str, Any], show_secrets: bool) -> str | None:
    """Return a file's text (secrets hidden unless asked), or None for binary content."""
    if entry["type"] == "symlink":
        return f"symbolic link to {entry['target']}\n"
    try:
        text = blob(db, entry["sha256"]).decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if show_secrets else redact_text(text)


def diff_backups(
    db: Database, old: BackupInfo, new: BackupInfo, show_secrets: bool = False
) -> list[str]:
    """Return a unified diff per changed file, and a line per added or removed file."""
    before = {entry["path"]: entry for entry in old.files}
    after = {entry["path"]: entry for entry in new.files}
    lines: list[str] = []
    for path in sorted(set(before) | set(after)):
        if path not in after:
            lines.append(f"removed: {path}")
        elif path not in before:
            lines.append(f"added: {path}")
        else:
            lines.extend(_diff_file(db, path, before[path], after[path], show_secrets))
    return lines


def _diff_file(
    db: Database, path: str, old: dict[str, Any], new: dict[str, Any], show_secrets: bool
) -> list[str]:
    lines: list[str] = []
    if old.get("mode") != new.get("mode"):
        lines.append(f"mode changed: {path} {old.get('mode', 0):04o} -> {new.get('mode', 0):04o}")
    if old.get("sha256") == new.get("sha256") and old.get("target") == new.get("target"):
        return lines
    old_text = file_text(db, old, show_secrets=True)
    new_text = file_text(db, new, show_secrets=True)
    if old_text is None or new_text is None:
        return [*lines, f"binary file changed: {path}"]
    old_secrets: set[str] = set()
    new_secrets: set[str] = set()
    if not show_secrets:
        old_text, old_secrets = _mark_secrets(old_text)
        new_text, new_secrets = _mark_secrets(new_text)
    diff = difflib.unified_diff(
        old_text.splitlines(keepends=True),
        new_text.splitlines(keepends=True),
        fromfile=f"a{path}",
        tofile=f"b{path}",
    )
    for line in diff:
        # A removed value is changed unless the new file still has it, and the reverse.
        if line.startswith("-") and not line.startswith("---"):
            line = _show_marks(line, new_secrets)
        elif line.startswith("+") and not line.startswith("+++"):
            line = _show_marks(line, old_secrets)
        else:
            line = SECRET_MARK_RE.sub(REDACTED, line)
        lines.append(line.rstrip("\n"))
    return lines
