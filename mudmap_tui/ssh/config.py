"""Resolve a device into connection settings: inventory fields over ``~/.ssh/config``.

Like ``ssh HOST``, the device's host is looked up in the SSH config, whose HostName, User,
Port, IdentityFile, ProxyJump, ConnectTimeout, ServerAliveInterval, ServerAliveCountMax,
IdentityAgent and UserKnownHostsFile apply unless the inventory sets the same thing.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from asyncssh.config import SSHClientConfig

from mudmap_tui import sshconfig
from mudmap_tui.errors import MudmapError
from mudmap_tui.store.models import JUMP_RE, Device

DEFAULT_PORT = 22


class SshConfigUnreadable(MudmapError):
    """An SSH client config file cannot be used: unreadable, not UTF-8, or an Include loop."""

    exit_status = 2

    def __init__(self, path: object, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"SSH config {path}: {problem}")


@dataclass(frozen=True)
class SshSettings:
    """Defaults for every connection; the SSH config and the inventory refine them."""

    # None reads ~/.ssh/config when it exists; an empty list reads no config at all.
    config_paths: Sequence[Path] | None = None
    # Seconds for TCP connect plus key exchange, and for authentication.
    connect_timeout: float = 10.0
    login_timeout: float = 20.0
    # Seconds between keepalive requests; the connection drops after count_max unanswered.
    keepalive_interval: float = 15.0
    keepalive_count_max: int = 3

    def resolved_config_paths(self) -> list[Path]:
        if self.config_paths is not None:
            return list(self.config_paths)
        default = Path("~/.ssh/config").expanduser()
        return [default] if os.access(default, os.R_OK) else []


@dataclass(frozen=True)
class ConnectTarget:
    """Everything needed to open one SSH connection, with every source already merged."""

    name: str
    host: str
    port: int
    user: str
    identity_files: tuple[str, ...] = ()
    # Another inventory device's name, or an inline [user@]host[:port], or a
    # comma-separated chain of inline hops (OpenSSH ProxyJump syntax); None for direct.
    jump: str | None = None
    connect_timeout: float = 10.0
    login_timeout: float = 20.0
    keepalive_interval: float = 15.0
    keepalive_count_max: int = 3
    agent_path: str | None = None
    known_hosts_files: tuple[Path, ...] = field(default_factory=tuple)

    @property
    def address_key(self) -> str:
        """Return ``host:port``, the key for per-server limits such as sshd's MaxStartups."""
        return f"{self.host}:{self.port}"

    @property
    def display_address(self) -> str:
        """Return ``host:port`` for messages, with an IPv6 host in brackets."""
        return format_address(self.host, self.port)


def format_address(host: str, port: int) -> str:
    """Return ``host:port``, or ``[host]:port`` for an IPv6 host, as ssh users write it."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _load_config(settings: SshSettings, host: str) -> dict[str, object]:
    local_user = getpass.getuser()
    paths = settings.resolved_config_paths()
    for path in paths:
        check_config_file(path)
    try:
        config = SSHClientConfig.load(None, paths, False, False, False, local_user, (), host, ())
    except (OSError, UnicodeError, RecursionError) as error:
        # check_config_file catches the usual faults first, naming the file and line.
        where = ", ".join(str(path) for path in paths)
        raise SshConfigUnreadable(where, f"cannot be read ({type(error).__name__}: "
                                  f"{error}); fix the file") from None
    return config.get_options(False)


def check_config_file(path: Path) -> None:
    """Check that an SSH config file and the files it includes are readable UTF-8 text.

    asyncssh, which applies the config, follows an Include loop until Python's recursion
    limit and reads files with the locale's encoding, so both are checked here first,
    with the checks the config import uses.

    :raises SshConfigUnreadable: naming the file (and line) at fault
    """
    try:
        parsed = sshconfig.parse(path)
    except sshconfig.SshConfigError as error:
        raise SshConfigUnreadable(error.source, f"{error.problem}; fix the file") from None
    read = {path} | {option.source.path for option in parsed.options}
    read |= {block.source.path for block in parsed.host_blocks}
    for file in sorted(read):
        _check_utf8(file)


def _check_utf8(path: Path) -> None:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SshConfigUnreadable(path, f"cannot read the file: {error.strerror}; "
                                  "fix its permissions or path") from None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise SshConfigUnreadable(f"{path}:{line}", "not UTF-8 text; save the file as "
                                  "UTF-8") from None


def _text(options: dict[str, object], key: str) -> str | None:
    value = options.get(key)
    return None if value is None or value == "" else str(value)


def _paths(options: dict[str, object], key: str) -> tuple[str, ...]:
    value = options.get(key) or ()
    values = [value] if isinstance(value, str) else list(value)  # type: ignore[call-overload]
    return tuple(str(Path(str(item)).expanduser()) for item in values)


def _target_from_config(name: str, host: str, user: str | None, port: int | None,
                        identity_file: str | None, jump: str | None,
                        settings: SshSettings) -> ConnectTarget:
    options = _load_config(settings, host)
    config_port = _text(options, "Port")
    if identity_file:
        identities: tuple[str, ...] = (str(Path(identity_file).expanduser()),)
    else:
        identities = _paths(options, "IdentityFile")
    config_jump = _text(options, "ProxyJump")
    if config_jump == "none":
        config_jump = None
    agent_path = _text(options, "IdentityAgent") or os.environ.get("SSH_AUTH_SOCK") or None
    if agent_path == "none":
        agent_path = None
    connect_timeout = _text(options, "ConnectTimeout")
    alive_interval = _text(options, "ServerAliveInterval")
    alive_count = _text(options, "ServerAliveCountMax")
    return ConnectTarget(
        name=name,
        host=_text(options, "Hostname") or host,
        port=port if port is not None else int(config_port or DEFAULT_PORT),
        user=user or _text(options, "User") or getpass.getuser(),
        identity_files=identities,
        jump=jump or config_jump,
        connect_timeout=float(connect_timeout) if connect_timeout else settings.connect_timeout,
        login_timeout=settings.login_timeout,
        # OpenSSH's ServerAliveInterval 0 turns keepalives off; ours stay on regardless.
        keepalive_interval=(float(alive_interval) if alive_interval and alive_interval != "0"
                            else settings.keepalive_interval),
        keepalive_count_max=int(alive_count) if alive_count else settings.keepalive_count_max,
        agent_path=agent_path,
        known_hosts_files=tuple(Path(path) for path in _paths(options, "UserKnownHostsFile")),
    )


def resolve_device(device: Device, settings: SshSettings) -> ConnectTarget:
    """Merge a device's inventory fields over the SSH config entry for its host.

    The inventory cannot tell "port 22" from "no port given", so a device on port 22 takes
    the config's Port when the config sets one.
    """
    port = device.port if device.port != DEFAULT_PORT else None
    return _target_from_config(device.name, device.host, device.user, port,
                               device.identity_file, device.jump, settings)


def parse_inline_jump(spec: str) -> tuple[str | None, str, int | None]:
    """Split ``[user@]host[:port]`` into its parts; the host may be ``[ipv6]``."""
    match = JUMP_RE.fullmatch(spec.strip())
    if not match:
        raise ValueError(f"invalid jump host {spec!r}: use [user@]host[:port]")
    host = match.group("host")
    if host.startswith("["):
        host = host[1:-1]
    port = match.group("port")
    return match.group("user"), host, int(port) if port else None


def resolve_inline_jump(spec: str, settings: SshSettings) -> ConnectTarget:
    """Resolve one hop of a ProxyJump chain, which the SSH config may describe further."""
    user, host, port = parse_inline_jump(spec)
    # A hop's own ProxyJump from the config is ignored: the chain's order already says it.
    target = _target_from_config(f"jump:{spec}", host, user, port, None, None, settings)
    return ConnectTarget(**{**target.__dict__, "jump": None})


def split_jump_chain(jump: str) -> list[str]:
    """Split an OpenSSH ProxyJump value ``a,b,c`` into hops, the first one nearest to us."""
    return [hop.strip() for hop in jump.split(",") if hop.strip()]
