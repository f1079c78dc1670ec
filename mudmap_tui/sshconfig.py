"""Read an OpenSSH client config (ssh_config(5)) and turn its concrete Host entries into devices.

Each concrete alias (no ``*``, ``?`` or ``!``) becomes a device whose settings are the ones
OpenSSH would use for it: every Host block whose patterns match the alias contributes, and
the first value of each keyword wins. Wildcard and negated patterns are not devices. Match
blocks are skipped because their conditions (exec, localuser, ...) depend on the moment of
connection. ``ImportPlan.notes`` reports each pattern and block skipped.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mudmap_tui.errors import InvalidInput, MudmapError
from mudmap_tui.store.devices import validate_device
from mudmap_tui.store.models import JUMP_RE, Device, is_inline_jump

# OpenSSH's own limit on nested Include directives (READCONF_MAX_DEPTH in readconf.c).
MAX_INCLUDE_DEPTH = 16
# The device field each keyword sets, so an invalid value is reported at its own line.
KEYWORD_BY_FIELD = {
    "host": "hostname",
    "port": "port",
    "user": "user",
    "identity_file": "identityfile",
    "jump": "proxyjump",
}
LINE_RE = re.compile(r"^(?P<keyword>[^\s=]+)\s*(?:=\s*)?(?P<rest>.*)$")
PORT_RULE = "must be a whole number from 1 to 65535"


@dataclass(frozen=True)
class Source:
    """A line of a config file."""

    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


class SshConfigError(MudmapError):
    """A config file cannot be read, or an entry in it cannot become a device."""

    exit_status = 2

    def __init__(self, source: Source | Path, message: str, entry: str | None = None) -> None:
        self.source = source
        self.entry = entry
        self.problem = message
        where = f"{source}: Host {entry}" if entry else str(source)
        super().__init__(f"{where}: {message}; nothing was imported")


@dataclass
class HostBlock:
    patterns: list[str]
    source: Source

    def matches(self, alias: str) -> bool:
        """Match like OpenSSH: any negated pattern that matches rules the block out."""
        alias = alias.lower()
        matched = False
        for pattern in self.patterns:
            negated = pattern.startswith("!")
            if _pattern_matches(pattern.lstrip("!").lower(), alias):
                if negated:
                    return False
                matched = True
        return matched


@dataclass
class MatchBlock:
    source: Source


@dataclass
class Option:
    """One keyword line, with the block it belongs to (None: before any Host or Match)."""

    keyword: str
    args: list[str]
    source: Source
    block: HostBlock | MatchBlock | None


@dataclass
class ParsedConfig:
    options: list[Option] = field(default_factory=list)
    host_blocks: list[HostBlock] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def settings(self, alias: str) -> dict[str, Option]:
        """Return the option OpenSSH would use for each keyword when connecting to ``alias``."""
        chosen: dict[str, Option] = {}
        for option in self.options:
            if isinstance(option.block, MatchBlock):
                continue
            if option.block is not None and not option.block.matches(alias):
                continue
            chosen.setdefault(option.keyword, option)
        return chosen

    def concrete_aliases(self) -> dict[str, Source]:
        """Return each alias that names one host, with the Host line that first names it."""
        aliases: dict[str, Source] = {}
        for block in self.host_blocks:
            for pattern in block.patterns:
                if not _is_pattern(pattern):
                    aliases.setdefault(pattern, block.source)
        return aliases


@dataclass
class ImportPlan:
    """The devices an import would write, and what it skipped and why."""

    devices: list[Device]
    sources: dict[str, Source]
    notes: list[str]


def default_config_path() -> Path:
    return Path("~/.ssh/config").expanduser()


def plan_import(
    path: Path,
    *,
    ssh_dir: Path | None = None,
    known_devices: Iterable[str] = (),
    groups: Sequence[str] = (),
) -> ImportPlan:
    """Parse ``path`` and validate a device for every concrete Host alias.

    ``ssh_dir`` is where relative Include paths resolve (default ~/.ssh, as for a user's
    config). A ProxyJump naming an alias of this file or one of ``known_devices`` becomes a
    jump to that device; any other becomes an inline [user@]host[:port]. Raises
    SshConfigError naming the file, line and Host entry of the first problem.
    """
    config = parse(path, ssh_dir=ssh_dir)
    aliases = config.concrete_aliases()
    device_names = set(aliases) | set(known_devices)
    devices = [
        _device(config, alias, source, device_names, groups) for alias, source in aliases.items()
    ]
    _check_jump_loops(devices, config)
    return ImportPlan(devices=devices, sources=aliases, notes=config.notes)


def parse(path: Path, *, ssh_dir: Path | None = None) -> ParsedConfig:
    """Read ``path`` and the files it includes into options tagged with their blocks."""
    config = ParsedConfig()
    _Parser(config, ssh_dir or Path("~/.ssh").expanduser()).read(Path(path), None, ())
    return config


class _Parser:
    def __init__(self, config: ParsedConfig, ssh_dir: Path) -> None:
        self.config = config
        self.ssh_dir = ssh_dir

    def read(
        self,
        path: Path,
        block: HostBlock | MatchBlock | None,
        including: tuple[Path, ...],
    ) -> None:
        """Parse one file, starting inside ``block`` (that of the Include line, if any)."""
        resolved = path.resolve()
        if resolved in including:
            chain = " -> ".join(str(p) for p in (*including, resolved))
            raise SshConfigError(path, f"Include loop: {chain}")
        if len(including) >= MAX_INCLUDE_DEPTH:
            raise SshConfigError(path, f"more than {MAX_INCLUDE_DEPTH} nested Include levels")
        try:
            text = path.read_text(encoding="utf-8", errors="surrogateescape")
        except OSError as error:
            raise SshConfigError(path, f"cannot read the file: {error.strerror}") from error
        for number, line in enumerate(text.splitlines(), start=1):
            block = self._line(line, Source(path, number), block, (*including, resolved))

    def _line(
        self,
        line: str,
        source: Source,
        block: HostBlock | MatchBlock | None,
        including: tuple[Path, ...],
    ) -> HostBlock | MatchBlock | None:
        """Handle one line and return the block that the next line belongs to."""
        line = line.strip()
        if not line or line.startswith("#"):
            return block
        match = LINE_RE.match(line)
        assert match is not None
        keyword = match.group("keyword").lower()
        try:
            args = split_arguments(match.group("rest"))
        except ValueError as error:
            raise SshConfigError(source, str(error)) from None
        if keyword == "host":
            return self._host(args, source)
        if keyword == "match":
            self.config.notes.append(
                f"{source}: skipped Match block: its conditions are evaluated only when"
                " connecting, so its settings are not imported"
            )
            return MatchBlock(source)
        if keyword == "include":
            self._include(args, source, block, including)
            return block
        if keyword == "proxycommand" and isinstance(block, HostBlock):
            self.config.notes.append(
                f"{source}: ProxyCommand is not imported; add a jump with `mudmap device edit`"
            )
        self.config.options.append(Option(keyword, args, source, block))
        return block

    def _host(self, patterns: list[str], source: Source) -> HostBlock:
        if not patterns:
            raise SshConfigError(source, "Host needs at least one pattern")
        for pattern in patterns:
            if pattern.startswith("!"):
                self.config.notes.append(
                    f"{source}: skipped negated Host pattern {pattern!r}: not a device"
                )
            elif _is_pattern(pattern):
                self.config.notes.append(
                    f"{source}: skipped wildcard Host pattern {pattern!r}: not a device"
                )
        block = HostBlock(patterns, source)
        self.config.host_blocks.append(block)
        return block

    def _include(
        self,
        args: list[str],
        source: Source,
        block: HostBlock | MatchBlock | None,
        including: tuple[Path, ...],
    ) -> None:
        if not args:
            raise SshConfigError(source, "Include needs at least one file name")
        for arg in args:
            pattern = Path(os.path.expanduser(arg))
            if not pattern.is_absolute():
                pattern = self.ssh_dir / pattern
            matches = sorted(glob.glob(str(pattern)))
            if not matches:
                self.config.notes.append(f"{source}: Include {arg!r} matched no files")
            for match in matches:
                self.read(Path(match), block, including)


def split_arguments(text: str) -> list[str]:
    """Split a keyword's arguments as OpenSSH does.

    Whitespace separates arguments, and double or single quotes group words. A backslash
    escapes a quote, a backslash or (outside quotes) a space. A ``#`` at the start of an
    argument begins a comment. Raises ValueError on an unclosed quote.
    """
    args: list[str] = []
    index = 0
    while index < len(text):
        if text[index].isspace():
            index += 1
            continue
        if text[index] == "#":
            break
        arg, index = _read_argument(text, index)
        args.append(arg)
    return args


def _read_argument(text: str, index: int) -> tuple[str, int]:
    chars: list[str] = []
    quote = ""
    while index < len(text):
        char = text[index]
        following = text[index + 1] if index + 1 < len(text) else ""
        escapable = "\"'\\" if quote else "\"'\\ "
        if char == "\\" and following and following in escapable:
            chars.append(following)
            index += 2
            continue
        if quote and char == quote:
            quote = ""
        elif not quote and char in "\"'":
            quote = char
        elif not quote and char.isspace():
            break
        else:
            chars.append(char)
        index += 1
    if quote:
        raise ValueError(f"unclosed {quote} quote")
    return "".join(chars), index


def _is_pattern(pattern: str) -> bool:
    return pattern.startswith("!") or "*" in pattern or "?" in pattern


def _pattern_matches(pattern: str, alias: str) -> bool:
    """Match OpenSSH's wildcards: ``*`` is any run of characters, ``?`` is one character."""
    parts: list[str] = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    regex = "".join(parts)
    return re.fullmatch(regex, alias, re.DOTALL) is not None


def _device(
    config: ParsedConfig,
    alias: str,
    source: Source,
    device_names: set[str],
    groups: Sequence[str],
) -> Device:
    settings = config.settings(alias)
    try:
        fields = {
            "name": alias,
            "host": _hostname(settings, alias),
            "port": _port(settings),
            "user": _first(settings, "user"),
            "identity_file": _identity_file(settings),
            "jump": _jump(config, settings, device_names),
            "groups": list(groups),
        }
        return validate_device(fields)
    except InvalidInput as error:
        keyword = KEYWORD_BY_FIELD.get(error.field.replace(" ", "_"))
        option = settings.get(keyword) if keyword else None
        raise SshConfigError(option.source if option else source, str(error), alias) from None


def _first(settings: dict[str, Option], keyword: str) -> str | None:
    option = settings.get(keyword)
    if option is None:
        return None
    if not option.args:
        raise InvalidInput(keyword, "", "is missing its value")
    return option.args[0]


def _hostname(settings: dict[str, Option], alias: str) -> str:
    """Return HostName with %h expanded, else the alias itself, as ssh would connect."""
    hostname = _first(settings, "hostname")
    if hostname is None:
        return alias
    return _expand_tokens(hostname, alias)


def _expand_tokens(hostname: str, alias: str) -> str:
    """Expand %h (the alias) and %% in HostName; other tokens depend on the connection."""

    def expand(match: re.Match[str]) -> str:
        token = match.group(1)
        if token == "h":
            return alias
        if token == "%":
            return "%"
        raise InvalidInput("host", hostname, "only the %h and %% tokens can be imported")

    return re.sub(r"%(.?)", expand, hostname)


def _port(settings: dict[str, Option]) -> int:
    port = _first(settings, "port")
    if port is None:
        return 22
    if not port.isdigit():
        raise InvalidInput("port", port, PORT_RULE)
    return int(port)


def _identity_file(settings: dict[str, Option]) -> str | None:
    path = _first(settings, "identityfile")
    return None if path is None or path.lower() == "none" else path


def _jump(config: ParsedConfig, settings: dict[str, Option], device_names: set[str]) -> str | None:
    """Map ProxyJump to a device name when it names one, else to an inline host."""
    value = _first(settings, "proxyjump")
    if value is None or value.lower() == "none":
        return None
    if "," in value:
        raise InvalidInput(
            "jump", value, "several jump hosts are not supported; give each hop a Host entry"
        )
    value = value.removeprefix("ssh://").rstrip("/")
    if value in device_names:
        return value
    match = JUMP_RE.fullmatch(value)
    if match is None:
        raise InvalidInput("jump", value, "use [user@]host[:port]")
    return _inline_jump(config, match.group("host"), match.group("user"), match.group("port"))


def _inline_jump(config: ParsedConfig, host: str, user: str | None, port: str | None) -> str:
    """Resolve a jump host through the config (HostName, User, Port), as ssh would."""
    settings = config.settings(host)
    hostname = _hostname(settings, host)
    user = user or _first(settings, "user")
    port = port or _first(settings, "port")
    if ":" in hostname and not hostname.startswith("["):
        hostname = f"[{hostname}]"
    inline = f"{user}@{hostname}" if user else hostname
    if port is None and not is_inline_jump(inline):
        # A bare word would be read as a device name, so the default port marks it as a host.
        port = "22"
    return f"{inline}:{port}" if port else inline


def _check_jump_loops(devices: list[Device], config: ParsedConfig) -> None:
    jumps = {device.name: device.jump for device in devices}
    for device in devices:
        chain = [device.name]
        hop = device.jump
        while hop in jumps:
            if hop in chain:
                option = config.settings(device.name)["proxyjump"]
                loop = " -> ".join([*chain, hop])
                raise SshConfigError(option.source, f"ProxyJump hosts loop: {loop}", device.name)
            chain.append(hop)
            hop = jumps[hop]
