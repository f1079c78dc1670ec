"""Onboard a device: log in once with a password or a key, install mudmap's key, verify it.

Onboarding installs a public key for root, or for a dedicated ``mudmap`` account with a
passwordless sudoers drop-in, and records on the device in ``/etc/mudmap/onboarding``
exactly what it added. Offboarding reads that record and removes those things and nothing
else. Both scripts are idempotent: a second run adds or removes nothing.

The password is used for one SSH login, and fed to ``sudo -S`` when the login user is not
root. It is never stored, logged or shown.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shlex
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh

from mudmap_tui.errors import InvalidInput
from mudmap_tui.paths import data_dir
from mudmap_tui.ssh.config import ConnectTarget
from mudmap_tui.ssh.connection import HostKeyVerifier
from mudmap_tui.ssh.errors import (
    AuthFailed,
    ConnectFailed,
    SshError,
    SudoPasswordRequired,
    TimedOut,
)
from mudmap_tui.ssh.hostkeys import HostKeyPolicy, HostKeyStore, fingerprint
from mudmap_tui.ssh.pool import forget_hint

log = logging.getLogger("mudmap.onboarding")

MUDMAP_ACCOUNT = "mudmap"
ACCOUNTS = ("root", MUDMAP_ACCOUNT)
KEY_FILENAME = "mudmap_ed25519"
STATE_FILE = "/etc/mudmap/onboarding"
SUDOERS_FILE = "/etc/sudoers.d/mudmap"
SUDOERS_RULE = "mudmap ALL=(ALL:ALL) NOPASSWD: ALL"
SCRIPT_TIMEOUT = 60.0
# A key comment lands in authorized_keys; anything outside this set is dropped.
_COMMENT_UNSAFE_RE = re.compile(r"[^A-Za-z0-9@._+-]")

# Runs as root. $1 account, $2 authorized_keys line, $3 the key's base64 blob.
# Prints key=value lines saying what it found and what it added.
ONBOARD_SCRIPT = r"""
set -eu
account=$1; line=$2; blob=$3
state={state}
umask 077
previous_user=0; previous_sudoers=0
if [ -f "$state" ]; then
    previous_user=$(sed -n 's/^user_created=//p' "$state" | tail -n 1)
    previous_sudoers=$(sed -n 's/^sudoers_created=//p' "$state" | tail -n 1)
fi
user_created=${{previous_user:-0}}; sudoers_created=${{previous_sudoers:-0}}
if [ "$account" = mudmap ]; then
    if id -u mudmap >/dev/null 2>&1; then
        echo user=present
    else
        useradd --create-home --shell /bin/sh --comment "mudmap fleet manager" mudmap
        # useradd leaves the password locked ("!"), and sshd without PAM rejects even key
        # logins to a locked account. "*" allows no password login but is not locked.
        usermod -p '*' mudmap
        user_created=1
        echo user=created
    fi
    if [ -f {sudoers} ] && grep -qxF '{rule}' {sudoers}; then
        echo sudoers=present
    else
        # A name with a dot is skipped by sudo's @includedir, so the draft is never live.
        draft=$(mktemp /etc/sudoers.d/.mudmap.XXXXXX)
        printf '%s\n' '{rule}' > "$draft"
        chmod 0440 "$draft"
        if ! visudo -c -q -f "$draft" >/dev/null 2>&1; then
            rm -f "$draft"
            echo "error=visudo rejected the sudoers drop-in"
            exit 3
        fi
        mv -f "$draft" {sudoers}
        sudoers_created=1
        echo sudoers=created
    fi
fi
home=$(getent passwd "$account" | cut -d: -f6)
group=$(id -g "$account")
mkdir -p "$home/.ssh"
chmod 700 "$home/.ssh"
chown "$account:$group" "$home/.ssh"
keys="$home/.ssh/authorized_keys"
touch "$keys"
chmod 600 "$keys"
chown "$account:$group" "$keys"
if awk -v blob="$blob" '{{for (i = 1; i <= NF; i++) if ($i == blob) found = 1}}
        END {{exit !found}}' "$keys"; then
    echo key=present
    key_added=0
else
    if [ -s "$keys" ] && [ -n "$(tail -c 1 "$keys")" ]; then echo >> "$keys"; fi
    printf '%s\n' "$line" >> "$keys"
    key_added=1
    echo key=added
fi
mkdir -p "$(dirname "$state")"
draft="$state.new"
{{
    echo "account=$account"
    echo "user_created=$user_created"
    echo "sudoers_created=$sudoers_created"
    if [ -f "$state" ]; then sed -n 's/^key=//p' "$state" | sed 's/^/key=/'; fi
    if [ "$key_added" = 1 ]; then echo "key=$blob"; fi
}} > "$draft"
mv -f "$draft" "$state"
echo home="$home"
"""

# Runs as root; removes what the state file lists. Prints key=value lines.
OFFBOARD_SCRIPT = r"""
set -eu
state={state}
if [ ! -f "$state" ]; then echo state=missing; exit 0; fi
account=$(sed -n 's/^account=//p' "$state" | tail -n 1)
user_created=$(sed -n 's/^user_created=//p' "$state" | tail -n 1)
sudoers_created=$(sed -n 's/^sudoers_created=//p' "$state" | tail -n 1)
home=$(getent passwd "$account" | cut -d: -f6 || true)
keys="$home/.ssh/authorized_keys"
if [ -n "$home" ] && [ -f "$keys" ]; then
    for blob in $(sed -n 's/^key=//p' "$state"); do
        draft="$keys.mudmap-new"
        cp -p "$keys" "$draft"
        awk -v blob="$blob" '{{for (i = 1; i <= NF; i++) if ($i == blob) next; print}}' \
            "$keys" > "$draft"
        mv -f "$draft" "$keys"
        echo key=removed
    done
fi
if [ "$sudoers_created" = 1 ]; then rm -f {sudoers}; echo sudoers=removed; fi
if [ "$user_created" = 1 ] && id -u "$account" >/dev/null 2>&1; then
    userdel --remove --force "$account" 2>/dev/null || userdel --force "$account"
    echo user=removed
fi
rm -f "$state"
rmdir "$(dirname "$state")" 2>/dev/null || true
echo state=removed
"""


@dataclass
class Credentials:
    """How to log in for onboarding: a password, or an existing private key, or both."""

    password: str | None = None
    key_file: Path | None = None

    def __repr__(self) -> str:
        # The password must never reach a log line or a traceback.
        shown = "<hidden>" if self.password is not None else None
        return f"Credentials(password={shown}, key_file={self.key_file!r})"


@dataclass
class InstallKey:
    """The public key to install, and the private key file that logs in with it afterwards."""

    public_line: str
    blob: str
    fingerprint: str
    identity_file: Path


@dataclass
class ScriptReport:
    """The key=value lines a device script printed."""

    values: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> ScriptReport:
        values: dict[str, str] = {}
        for line in text.splitlines():
            key, sep, value = line.partition("=")
            if sep:
                values[key.strip()] = value.strip()
        return cls(values)

    def get(self, key: str, default: str = "") -> str:
        return self.values.get(key, default)


def mudmap_key_path() -> Path:
    return data_dir() / "keys" / KEY_FILENAME


def ensure_mudmap_key(path: Path | None = None) -> Path:
    """Return the mudmap Ed25519 private key file, generating it (mode 0600) if missing."""
    path = path or mudmap_key_path()
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = asyncssh.generate_private_key("ssh-ed25519", comment=f"mudmap@{socket.gethostname()}")
    _write_new_file(path, key.export_private_key("openssh"), 0o600)
    _write_new_file(path.with_name(path.name + ".pub"), key.export_public_key("openssh"), 0o644)
    return path


def _write_new_file(path: Path, data: bytes, mode: int) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def install_key(key_path: Path | None) -> InstallKey:
    """Describe the key to install: ``key_path`` (private or .pub) or mudmap's own key."""
    if key_path is None:
        private = ensure_mudmap_key()
        public_path = private.with_name(private.name + ".pub")
    elif key_path.suffix == ".pub":
        public_path, private = key_path, key_path.with_suffix("")
    else:
        private, public_path = key_path, key_path.with_name(key_path.name + ".pub")
    if not private.exists():
        raise InvalidInput(
            "key",
            str(key_path),
            f"the private key {private} is missing; "
            "onboarding logs in with it to check the installed key",
        )
    try:
        public = asyncssh.read_public_key(str(public_path))
    except (OSError, asyncssh.KeyImportError) as error:
        raise InvalidInput(
            "key",
            str(public_path),
            f"cannot read the public key ({error}); give an OpenSSH .pub "
            "file, or create one with ssh-keygen -y -f PRIVATE",
        ) from None
    algorithm, blob = public.export_public_key("openssh").decode().split()[:2]
    comment = _COMMENT_UNSAFE_RE.sub("", (public.get_comment() or "mudmap"))[:64] or "mudmap"
    return InstallKey(f"{algorithm} {blob} {comment}", blob, fingerprint(public), private)


class _Client(asyncssh.SSHClient):
    def __init__(self, verifier: HostKeyVerifier) -> None:
        self._verifier = verifier

    def validate_host_public_key(
        self, host: str, addr: str, port: int, key: asyncssh.SSHKey
    ) -> bool:
        return self._verifier.validate(key)


async def login(
    target: ConnectTarget,
    user: str,
    *,
    password: str | None = None,
    client_keys: list[str] | None = None,
    hostkeys: HostKeyStore,
    policy: HostKeyPolicy,
    tunnel: Any = None,
) -> asyncssh.SSHClientConnection:
    """Log in as ``user`` with exactly the password or keys given (no ssh-agent)."""
    verifier = HostKeyVerifier(target.name, target, hostkeys, policy, forget_hint(target.name))
    options: dict[str, Any] = {
        "host": target.host,
        "port": target.port,
        "username": user,
        "known_hosts": verifier.known_hosts,
        "client_factory": lambda: _Client(verifier),
        "config": None,
        "agent_path": None,
        "client_keys": client_keys or None,
        "password": password,
        "preferred_auth": ("publickey,password" if client_keys
                           else "password,keyboard-interactive"),
        "connect_timeout": target.connect_timeout,
        "login_timeout": target.login_timeout,
        "tunnel": tunnel,
    }
    entry = f"{user}@{target.host}:{target.port}"
    try:
        return await asyncio.wait_for(
            asyncssh.connect(**options), target.connect_timeout + target.login_timeout
        )
    except asyncssh.HostKeyNotVerifiable as error:
        raise verifier.rejection or ConnectFailed(target.name, "onboard", str(error)) from None
    except asyncssh.PermissionDenied:
        what = "the password" if password is not None and not client_keys else "the key"
        raise AuthFailed(
            target.name,
            "onboard login",
            f"{entry} rejected {what}; check the password or key and the user "
            "(nothing was changed on the device)",
        ) from None
    except asyncio.TimeoutError:
        raise TimedOut(target.name, "onboard login", target.connect_timeout) from None
    except (asyncssh.Error, OSError) as error:
        reason = getattr(error, "reason", None) or getattr(error, "strerror", None) or error
        raise ConnectFailed(target.name, "onboard login", f"{entry}: {reason}") from None


def root_command(script: str, args: list[str], is_root: bool, password: str | None) -> str:
    """Return the command that runs ``script`` as root: directly, or through sudo."""
    quoted = " ".join(shlex.quote(arg) for arg in args)
    command = f"sh -c {shlex.quote(script)} mudmap {quoted}".rstrip()
    if is_root:
        return command
    if password is not None:
        # -S reads the password from stdin; -p '' keeps sudo's prompt out of the output.
        return f"sudo -S -p '' -- {command}"
    return f"sudo -n -- {command}"


async def run_as_root(
    conn: asyncssh.SSHClientConnection,
    device: str,
    operation: str,
    command: str,
    password: str | None,
) -> ScriptReport:
    """Run a root command over ``conn`` and parse its report; raise on failure."""
    stdin = f"{password}\n" if password is not None else ""
    try:
        result = await asyncio.wait_for(conn.run(command, input=stdin, check=False), SCRIPT_TIMEOUT)
    except asyncio.TimeoutError:
        raise TimedOut(device, operation, SCRIPT_TIMEOUT) from None
    except asyncssh.Error as error:
        raise ConnectFailed(device, operation, str(error.reason)) from None
    stdout = str(result.stdout or "")
    stderr = str(result.stderr or "")
    if result.exit_status != 0:
        if "password is required" in stderr or "incorrect password" in stderr:
            raise SudoPasswordRequired(
                device,
                operation,
                "sudo needs the login user's password; onboard with "
                "--password-stdin, or log in as root",
            )
        report = ScriptReport.parse(stdout)
        reason = report.get("error") or stderr.strip()[-400:] or "no output"
        raise SshError(
            device,
            operation,
            f"the device script exited with status {result.exit_status}: {reason}",
        )
    return ScriptReport.parse(stdout)


def onboard_command(account: str, key: InstallKey, is_root: bool, password: str | None) -> str:
    script = ONBOARD_SCRIPT.format(state=STATE_FILE, sudoers=SUDOERS_FILE, rule=SUDOERS_RULE)
    return root_command(script, [account, key.public_line, key.blob], is_root, password)


def offboard_command(is_root: bool) -> str:
    script = OFFBOARD_SCRIPT.format(state=STATE_FILE, sudoers=SUDOERS_FILE)
    return root_command(script, [], is_root, None)


def check_account(account: str) -> str:
    if account not in ACCOUNTS:
        raise InvalidInput("account", account, "use root or mudmap")
    return account


@dataclass
class OnboardResult:
    """The outcome of onboarding one device: the account, the key and what was added."""

    device: str
    account: str
    identity_file: str
    key_fingerprint: str
    # "created"/"present" for user and sudoers (mudmap account only), "added"/"present" for key.
    report: dict[str, str]

    @property
    def changed(self) -> bool:
        return any(value in ("created", "added") for value in self.report.values())


async def onboard(
    target: ConnectTarget,
    account: str,
    credentials: Credentials,
    key: InstallKey,
    *,
    hostkeys: HostKeyStore,
    policy: HostKeyPolicy,
    tunnel: Any = None,
) -> OnboardResult:
    """Install ``key`` for ``account`` on the device and check that it logs in.

    :param target: the device as resolved for SSH; ``target.user`` is the login user
    :raises AuthFailed: the password or login key was rejected (nothing was changed)
    """
    check_account(account)
    client_keys = [str(credentials.key_file)] if credentials.key_file else None
    conn = await login(
        target,
        target.user,
        password=credentials.password,
        client_keys=client_keys,
        hostkeys=hostkeys,
        policy=policy,
        tunnel=tunnel,
    )
    is_root = target.user == "root"
    sudo_password = None if is_root else credentials.password
    try:
        report = await run_as_root(
            conn,
            target.name,
            "onboard",
            onboard_command(account, key, is_root, sudo_password),
            sudo_password,
        )
    finally:
        conn.close()
    await verify_key_login(target, account, key, hostkeys=hostkeys, tunnel=tunnel)
    report.values.pop("home", None)
    return OnboardResult(
        target.name, account, str(key.identity_file), key.fingerprint, report.values
    )


async def verify_key_login(
    target: ConnectTarget,
    account: str,
    key: InstallKey,
    *,
    hostkeys: HostKeyStore,
    tunnel: Any = None,
) -> None:
    """Log in as ``account`` with only the installed key; for mudmap also check sudo -n."""
    conn = await login(
        target,
        account,
        client_keys=[str(key.identity_file)],
        hostkeys=hostkeys,
        policy=HostKeyPolicy.STRICT,
        tunnel=tunnel,
    )
    try:
        check = "true" if account == "root" else "sudo -n true"
        result = await asyncio.wait_for(conn.run(check, check=False), SCRIPT_TIMEOUT)
        if result.exit_status != 0:
            raise SudoPasswordRequired(
                target.name,
                "onboard check",
                f"{account} logged in but `{check}` failed: {str(result.stderr or '').strip()}",
            )
    finally:
        conn.close()


async def offboard(
    conn: asyncssh.SSHClientConnection,
    device: str,
    login_user: str,
) -> dict[str, str]:
    """Remove what onboarding recorded on the device; return what the script reported."""
    report = await run_as_root(
        conn, device, "offboard", offboard_command(login_user == "root"), None
    )
    return report.values
