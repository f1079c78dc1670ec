"""Read and write wg-quick(8) configuration files, keeping every line they do not change.

The grammar follows wg-quick 1.0.20210914 and wg(8)'s config parser: section names and keys
are case-insensitive, ``#`` starts a comment anywhere on a line (so a ``#`` inside a PostUp
hook ends the hook, as wg-quick itself reads it), a value is the text after the first ``=``
with surrounding blanks removed, and Address, DNS and AllowedIPs take comma-separated lists
over any number of lines. DNS entries that are not IP addresses are search domains.

A parsed file keeps its lines. Rendering a file nobody changed returns the original text
byte for byte; an edit rewrites only the lines of the keys it sets.

Standard library only, Python 3.9: the agent and the app both import this module.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Dict, List, Optional, Tuple

INTERFACE = "interface"
PEER = "peer"
SECTIONS = (INTERFACE, PEER)

# Keys in their usual spelling, looked up by their lower-case form.
INTERFACE_KEYS = (
    "PrivateKey", "ListenPort", "FwMark", "Address", "DNS", "MTU", "Table",
    "PreUp", "PostUp", "PreDown", "PostDown", "SaveConfig",
)  # fmt: skip
PEER_KEYS = ("PublicKey", "PresharedKey", "AllowedIPs", "Endpoint", "PersistentKeepalive")
CANONICAL_KEYS = {key.lower(): key for key in INTERFACE_KEYS + PEER_KEYS}
# Keys whose value is a comma-separated list that may also repeat over several lines.
LIST_KEYS = ("address", "dns", "allowedips")
# Keys that may repeat, each line adding one more hook command.
HOOK_KEYS = ("preup", "postup", "predown", "postdown")
SECRET_KEYS = ("privatekey", "presharedkey")
NAME_RE = re.compile(r"^[a-zA-Z0-9_=+.-]{1,15}$")
NAME_RULE = "wg-quick rejects the name: use 1 to 15 letters, digits or _ = + . -"
# wg(8) reads a key as 44 characters of base64 that end in '=' and decode to 32 bytes.
KEY_RE = re.compile(r"^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw480]=$")
# Pattern of an unknown key name that messages may quote, such as X-Provisioned-By. A
# base64 key, or a key line with a mistyped separator, never matches it.
SHOWN_KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")


class WgQuickError(ValueError):
    """A line that wg-quick or wg(8) would reject; ``line`` is its 1-based number.

    Line 0 stands for the whole file, such as a directory or a file that is not UTF-8.
    """

    def __init__(self, line: int, message: str) -> None:
        super().__init__("line %d: %s" % (line, message) if line else message)
        self.line = line


class Line:
    """One line of the file: its text as read and, for a key line, the key and value."""

    def __init__(self, raw: str, key: Optional[str] = None, value: str = "") -> None:
        self.raw = raw
        self.key = key
        self.value = value

    @property
    def name(self) -> Optional[str]:
        """Return the key in lower case, or None for a blank, comment or header line."""
        return self.key.lower() if self.key is not None else None


class Section:
    """A header line and the lines below it up to the next header."""

    def __init__(self, kind: str, header: Line) -> None:
        self.kind = kind
        self.header = header
        self.lines: List[Line] = []

    def values(self, key: str) -> List[str]:
        """Return the value of every line of ``key`` (any case), in file order."""
        wanted = key.lower()
        return [line.value for line in self.lines if line.name == wanted]

    def value(self, key: str) -> Optional[str]:
        """Return the last value of ``key``: later lines override earlier ones in wg(8)."""
        found = self.values(key)
        return found[-1] if found else None

    def items(self, key: str) -> List[str]:
        """Split a list key's lines at commas into their items."""
        result: List[str] = []
        for value in self.values(key):
            result.extend(item.strip() for item in value.split(",") if item.strip())
        return result

    def set(self, key: str, values: List[str]) -> None:
        """Make ``key`` have exactly ``values``, one line each, keeping untouched lines.

        Lines whose value stays keep their text and trailing comment; a changed line is
        rewritten as ``Key = value``; extra new lines go after the key's last line, or at
        the end of the section's key lines when the key was absent.
        """
        wanted = key.lower()
        spelled = CANONICAL_KEYS.get(wanted, key)
        positions = [i for i, line in enumerate(self.lines) if line.name == wanted]
        for number in range(min(len(positions), len(values))):
            position, value = positions[number], values[number]
            line = self.lines[position]
            if line.value != value:
                self.lines[position] = _key_line(line.key or spelled, value, line.raw)
        for position in reversed(positions[len(values) :]):
            del self.lines[position]
        extra = [_key_line(spelled, value) for value in values[len(positions) :]]
        if extra:
            insert_at = positions[-1] + 1 if positions else _after_last_key(self.lines)
            self.lines[insert_at:insert_at] = extra


def _after_last_key(lines: List[Line]) -> int:
    for position in range(len(lines) - 1, -1, -1):
        if lines[position].key is not None:
            return position + 1
    return 0


def _key_line(key: str, value: str, old_raw: Optional[str] = None) -> Line:
    comment = ""
    if old_raw is not None and "#" in old_raw:
        comment = " #" + old_raw.split("#", 1)[1]
    return Line("%s = %s%s" % (key, value, comment), key, value)


class WgQuickFile:
    """A parsed wg-quick file: lines before the first section, then the sections."""

    def __init__(self, preamble: List[Line], sections: List[Section], newline_at_end: bool):
        self.preamble = preamble
        self.sections = sections
        self.newline_at_end = newline_at_end

    @property
    def interface(self) -> Section:
        for section in self.sections:
            if section.kind == INTERFACE:
                return section
        section = Section(INTERFACE, Line("[Interface]"))
        self.sections.insert(0, section)
        return section

    @property
    def peers(self) -> List[Section]:
        return [section for section in self.sections if section.kind == PEER]

    def peer(self, public_key: str) -> Optional[Section]:
        for section in self.peers:
            if section.value("PublicKey") == public_key:
                return section
        return None

    def duplicate_peers(self) -> List[str]:
        """List public keys that appear in more than one [Peer] section.

        wg(8) merges such sections into one peer; this module reports them and leaves the
        choice to the user.
        """
        seen: Dict[str, int] = {}
        for section in self.peers:
            key = section.value("PublicKey")
            if key:
                seen[key] = seen.get(key, 0) + 1
        return [key for key, count in seen.items() if count > 1]

    def add_peer(self, settings: Dict[str, List[str]]) -> Section:
        """Append a [Peer] section with the given keys, each a list of line values."""
        section = Section(PEER, Line("[Peer]"))
        for key, values in settings.items():
            section.set(key, values)
        if self.sections and self.sections[-1].lines and self.sections[-1].lines[-1].raw:
            self.sections[-1].lines.append(Line(""))
        self.sections.append(section)
        return section

    def remove_peer(self, public_key: str) -> bool:
        section = self.peer(public_key)
        if section is None:
            return False
        self.sections.remove(section)
        return True

    def render(self) -> str:
        lines = [line.raw for line in self.preamble]
        for section in self.sections:
            lines.append(section.header.raw)
            lines.extend(line.raw for line in section.lines)
        text = "\n".join(lines)
        return text + "\n" if self.newline_at_end and lines else text

    def summary(self) -> Dict[str, object]:
        """Describe the file for the controller, without PrivateKey or PresharedKey values."""
        interface = self.interface
        addresses = interface.items("Address")
        dns = interface.items("DNS")
        return {
            "addresses": addresses,
            "dns": [item for item in dns if is_dns_server(item)],
            "dns_search": [item for item in dns if not is_dns_server(item)],
            "listen_port": _int_or_none(interface.value("ListenPort")),
            "fwmark": interface.value("FwMark"),
            "mtu": _int_or_none(interface.value("MTU")),
            "table": interface.value("Table"),
            "save_config": parse_bool(interface.value("SaveConfig") or "false"),
            "has_private_key": bool(interface.value("PrivateKey")),
            "hooks": {
                key: interface.values(key) for key in ("PreUp", "PostUp", "PreDown", "PostDown")
            },
            "peers": [peer_summary(section) for section in self.peers],
            "duplicate_peers": self.duplicate_peers(),
        }


def peer_summary(section: Section) -> Dict[str, object]:
    return {
        "public_key": section.value("PublicKey"),
        "endpoint": section.value("Endpoint"),
        "allowed_ips": section.items("AllowedIPs"),
        "persistent_keepalive": section.value("PersistentKeepalive"),
        "preshared_key_set": bool(section.value("PresharedKey")),
    }


def _int_or_none(value: Optional[str]) -> Optional[int]:
    if value is None or not value.strip().isdigit():
        return None
    return int(value)


def is_dns_server(entry: str) -> bool:
    """Tell a DNS server from a search domain the way wg-quick does: IPv4 digits or a colon."""
    return bool(re.match(r"^[0-9.]+$", entry)) or ":" in entry


def parse_bool(value: str) -> bool:
    """Read SaveConfig as wg-quick does: true or false in any case."""
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise ValueError("invalid boolean %r: must be true or false" % value)


def split_line(raw: str) -> Tuple[str, Optional[str], str]:
    """Split a line as wg-quick does into (stripped text, key or None, value)."""
    stripped = raw.split("#", 1)[0].strip()
    if not stripped:
        return "", None, ""
    if "=" not in stripped:
        return stripped, None, ""
    key, _, value = stripped.partition("=")
    return stripped, key.strip(), value.strip()


def parse(text: str) -> WgQuickFile:
    """Parse a wg-quick file; raise WgQuickError for a line wg-quick or wg(8) rejects."""
    newline_at_end = text.endswith("\n")
    body = text[:-1] if newline_at_end else text
    raws = body.split("\n") if body or newline_at_end else []
    preamble: List[Line] = []
    sections: List[Section] = []
    for number, raw in enumerate(raws, 1):
        stripped, key, value = split_line(raw)
        if stripped.startswith("["):
            sections.append(Section(_section_kind(number, stripped), Line(raw)))
            continue
        if not stripped:
            (sections[-1].lines if sections else preamble).append(Line(raw))
            continue
        if key is None:
            raise WgQuickError(
                number, "%s is neither a [Section] header nor Key = Value" % describe_line(raw)
            )
        if not sections:
            raise WgQuickError(
                number, "%s comes before any [Interface] or [Peer]" % describe_key(key)
            )
        sections[-1].lines.append(Line(raw, key, value))
    return WgQuickFile(preamble, sections, newline_at_end)


def _section_kind(number: int, stripped: str) -> str:
    if not stripped.endswith("]"):
        raise WgQuickError(number, "the section header has no closing ]")
    kind = stripped[1:-1].strip().lower()
    if kind not in SECTIONS:
        shown = " [%s]" % kind if SHOWN_KEY_RE.match(kind) else ""
        raise WgQuickError(number, "unknown section%s: use [Interface] or [Peer]" % shown)
    return kind


def describe_line(raw: str) -> str:
    """Name a line for a message by the wg-quick key it starts with, never by what follows.

    A mistyped line such as ``PrivateKey: KEY`` carries a secret after its key. A symlinked
    file may be any file on the device. So a line that does not start with a known key is
    named by its number alone.
    """
    match = re.match(r"[A-Za-z]+", raw.strip())
    key = CANONICAL_KEYS.get(match.group(0).lower()) if match else None
    return "a line starting with %s" % key if key else "the line"


def unknown_keys(config: WgQuickFile) -> List[str]:
    """List keys that neither wg-quick nor wg(8) recognizes, which `wg setconf` would reject.

    A key that matches SHOWN_KEY_RE is listed as it is. Any other key, such as
    ``PrivateKey: KEY`` whose base64 value ends in ``=``, is listed as ``line N (a line
    starting with PrivateKey)``, so no value reaches the list.
    """
    found: List[str] = []
    number = len(config.preamble)
    for section in config.sections:
        number += 1
        known = INTERFACE_KEYS if section.kind == INTERFACE else PEER_KEYS
        allowed = {key.lower() for key in known}
        for line in section.lines:
            number += 1
            if line.name is None or line.name in allowed:
                continue
            label = _key_label(number, line.key or "")
            if label not in found:
                found.append(label)
    return found


def _key_label(number: int, key: str) -> str:
    if SHOWN_KEY_RE.match(key):
        return key
    described = describe_line(key)
    return "line %d" % number if described == "the line" else "line %d (%s)" % (number, described)


def describe_key(key: str) -> str:
    """Name a key for a message: as it is when it looks like a key name, else as describe_line."""
    return key if SHOWN_KEY_RE.match(key) else describe_line(key)


def format_endpoint(host: str, port: int) -> str:
    """Write an endpoint as wg(8) reads it: an IPv6 address goes in brackets."""
    try:
        if ipaddress.ip_address(host).version == 6:
            return "[%s]:%d" % (host, port)
    except ValueError:
        pass
    return "%s:%d" % (host, port)


def parse_endpoint(value: str) -> Tuple[str, int]:
    """Split ``host:port`` or ``[IPv6]:port``; the host may also be a DNS name."""
    if value.startswith("["):
        host, sep, port = value[1:].partition("]:")
    else:
        host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("invalid endpoint %r: must be host:port or [IPv6]:port" % value)
    return host, int(port)


def build(
    interface: Dict[str, List[str]],
    peers: List[Dict[str, List[str]]],
    header_comment: Optional[str] = None,
) -> str:
    """Write a new file from key to line-values maps, in the usual key order."""
    preamble = [Line("# " + text) for text in (header_comment or "").splitlines()]
    config = WgQuickFile(preamble, [], True)
    section = config.interface
    for key in INTERFACE_KEYS:
        if interface.get(key):
            section.set(key, interface[key])
    for peer in peers:
        config.add_peer({key: peer[key] for key in PEER_KEYS if peer.get(key)})
    return config.render()


def valid_name(name: str) -> bool:
    """Tell whether wg-quick accepts ``name`` as an interface name for NAME.conf."""
    return bool(NAME_RE.match(name))


def numbered_lines(config: WgQuickFile) -> List[Tuple[int, Section, Line]]:
    """Pair each key line with its section and its 1-based line number in the file."""
    result = []
    number = len(config.preamble)
    for section in config.sections:
        number += 1
        for line in section.lines:
            number += 1
            if line.name is not None:
                result.append((number, section, line))
    return result


def problems(config: WgQuickFile) -> List[str]:
    """List the values that wg-quick or wg(8) rejects when it brings the file up.

    Messages show a key's value only for keys that hold no secret.
    """
    found = []
    for number, _section, line in numbered_lines(config):
        rule = _value_problem(line.name or "", line.value)
        if rule:
            found.append("line %d: %s" % (number, rule))
    for position, section in enumerate(config.peers, 1):
        if not section.value("PublicKey"):
            found.append("[Peer] number %d has no PublicKey" % position)
    return found


def _value_problem(key: str, value: str) -> Optional[str]:
    if key in SECRET_KEYS or key == "publickey":
        if not KEY_RE.match(value):
            return "%s is not a base64 key of 32 bytes" % CANONICAL_KEYS[key]
    elif key == "listenport":
        if not value.isdigit() or int(value) > 65535:
            return "ListenPort %r must be a number from 0 to 65535" % value
    elif key == "persistentkeepalive":
        if value != "off" and (not value.isdigit() or int(value) > 65535):
            return "PersistentKeepalive %r must be off or a number from 0 to 65535" % value
    elif key in ("address", "allowedips"):
        return _cidr_problem(CANONICAL_KEYS[key], value)
    elif key == "endpoint":
        try:
            parse_endpoint(value)
        except ValueError as error:
            return str(error)
    return None


def _cidr_problem(key: str, value: str) -> Optional[str]:
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        try:
            ipaddress.ip_interface(item)
        except ValueError:
            return "%s %r is not an IP address with an optional /prefix" % (key, item)
    return None
