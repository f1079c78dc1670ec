"""Host key checking against our own known_hosts file and the user's, read only.

Our file lives in the data directory and is the only one we write. The user's
``~/.ssh/known_hosts`` (and any ``UserKnownHostsFile`` from the SSH config) is trusted but
never changed. Entries use OpenSSH's names: ``host`` on port 22, ``[host]:port`` elsewhere.
"""

from __future__ import annotations

import enum
import fcntl
import os
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh

from mudmap_tui.paths import known_hosts_path

DEFAULT_PORT = 22
_write_lock = threading.Lock()


class HostKeyPolicy(enum.Enum):
    """The policy for a host key that no known_hosts file lists."""

    # Reject, like OpenSSH's StrictHostKeyChecking=yes.
    STRICT = "strict"
    # Record it in our file and go on, like StrictHostKeyChecking=accept-new.
    ACCEPT_NEW = "accept-new"


def host_entry(host: str, port: int) -> str:
    """Return the known_hosts name of a host: ``host`` on port 22, else ``[host]:port``."""
    return host if port == DEFAULT_PORT else f"[{host}]:{port}"


def fingerprint(key: asyncssh.SSHKey) -> str:
    """Return the key's SHA-256 fingerprint as OpenSSH prints it (``SHA256:...``)."""
    return key.get_fingerprint("sha256")


def public_key_text(key: asyncssh.SSHKey) -> str:
    """Return the key as one OpenSSH line without comment (``ssh-ed25519 AAAA...``)."""
    algorithm, data = key.export_public_key("openssh").decode().split()[:2]
    return f"{algorithm} {data}"


@dataclass
class HostKeyMatch:
    """The keys that known_hosts files list for one host, and where they came from."""

    host_keys: list[asyncssh.SSHKey] = field(default_factory=list)
    ca_keys: list[asyncssh.SSHKey] = field(default_factory=list)
    revoked_keys: list[asyncssh.SSHKey] = field(default_factory=list)
    # Files (ours or the user's) that list at least one key for the host.
    sources: list[Path] = field(default_factory=list)


def _read_known_hosts(path: Path) -> asyncssh.SSHKnownHosts | None:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    return asyncssh.import_known_hosts(text)


def _match_file(known: asyncssh.SSHKnownHosts, host: str, addr: str, port: int) -> tuple:
    # OpenSSH looks up [host]:port only, while asyncssh's public match() falls back to the
    # port-22 entry. The fallback would report a port-2222 server as "changed" whenever the
    # same host runs another sshd on port 22, so the exact lookup is used when it exists.
    exact = getattr(known, "_match", None)
    lookup_port = None if port == DEFAULT_PORT else port
    if exact is not None:
        return exact(host, addr, lookup_port)
    return known.match(host, addr, lookup_port)


class HostKeyStore:
    """Our known_hosts file plus the user's read-only ones.

    :param path: the file we write; default ``known_hosts`` in the data directory
    :param user_files: files read but never written; default ``~/.ssh/known_hosts``
    """

    def __init__(self, path: Path | None = None,
                 user_files: Sequence[Path] | None = None) -> None:
        self.path = path if path is not None else known_hosts_path()
        if user_files is None:
            user_files = [Path("~/.ssh/known_hosts").expanduser()]
        self.user_files = list(user_files)

    def lookup(self, host: str, addr: str, port: int,
               extra_files: Sequence[Path] = ()) -> HostKeyMatch:
        """Collect the keys listed for ``host`` (or its address ``addr``) on ``port``."""
        match = HostKeyMatch()
        for path in [self.path, *self.user_files, *extra_files]:
            known = _read_known_hosts(path)
            if known is None:
                continue
            host_keys, ca_keys, revoked, *_ = _match_file(known, host, addr, port)
            if host_keys or ca_keys:
                match.sources.append(path)
            _extend_unique(match.host_keys, host_keys)
            _extend_unique(match.ca_keys, ca_keys)
            _extend_unique(match.revoked_keys, revoked)
        return match

    def add(self, host: str, port: int, key: asyncssh.SSHKey | str) -> None:
        """Record ``key`` for ``host``/``port`` in our file, written atomically."""
        if isinstance(key, str):
            key = asyncssh.import_public_key(key)
        line = f"{host_entry(host, port)} {public_key_text(key)}\n"
        with self._locked():
            lines = self._read_lines()
            if line not in lines:
                lines.append(line)
                self._write_lines(lines)

    def forget(self, host: str, port: int) -> int:
        """Remove every entry for ``host``/``port`` from our file; return how many went."""
        name = host_entry(host, port)
        with self._locked():
            lines = self._read_lines()
            kept = [line for line in lines if not _line_names_host(line, name)]
            removed = len(lines) - len(kept)
            if removed:
                self._write_lines(kept)
        return removed

    def user_files_listing(self, host: str, addr: str, port: int) -> list[Path]:
        """Return the user's files that list ``host``; we cannot edit those."""
        return [path for path in self.lookup(host, addr, port).sources if path != self.path]

    def _read_lines(self) -> list[str]:
        try:
            return self.path.read_text().splitlines(keepends=True)
        except FileNotFoundError:
            return []

    def _write_lines(self, lines: list[str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor, temp_name = tempfile.mkstemp(prefix=".known_hosts.", dir=self.path.parent)
        try:
            with os.fdopen(descriptor, "w") as temp:
                temp.writelines(lines)
                temp.flush()
                os.fsync(temp.fileno())
            os.chmod(temp_name, 0o600)
            os.replace(temp_name, self.path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # One writer at a time, across threads and across mudmap processes.
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with _write_lock, open(lock_path, "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)


def _extend_unique(keys: list[asyncssh.SSHKey], more: Sequence[asyncssh.SSHKey]) -> None:
    # A line can match both by name and by address, as when the host is an IP address.
    seen = {fingerprint(key) for key in keys}
    for key in more:
        if fingerprint(key) not in seen:
            seen.add(fingerprint(key))
            keys.append(key)


def _line_names_host(line: str, name: str) -> bool:
    fields = line.split()
    if not fields or fields[0].startswith("#"):
        return False
    patterns = fields[1] if fields[0].startswith("@") and len(fields) > 1 else fields[0]
    return name in patterns.split(",")
