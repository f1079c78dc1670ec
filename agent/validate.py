"""Parameter validators: each returns the value in canonical form or raises ``invalid_params``.

Every handler validates all of its parameters with these functions before it touches the
system, so a rejected request leaves the device unchanged. The error names the field, the
value and the rule.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from agent.errors import AgentError, invalid

IPInterface = Union[ipaddress.IPv4Interface, ipaddress.IPv6Interface]
IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]

# IFNAMSIZ is 16 bytes including the terminating NUL.
IFNAME_MAX_BYTES = 15
# The kernel's dev_valid_name() rejects '/', ':' and isspace() bytes; its isspace() also
# counts 0xa0 (Latin-1 no-break space), which occurs inside UTF-8 sequences such as 'à'.
# Control bytes are rejected too, so an accepted name always prints as it is.
_IFNAME_BAD_BYTES = frozenset(b"/:\x7f\xa0") | frozenset(range(0x21))
# The kernel rejects these names with EINVAL when it registers a link, because the
# per-interface sysctl directories net/ipv4/conf/all and .../default already exist.
RESERVED_IFNAMES = ("all", "default")

MTU_MIN = 68
MTU_MAX = 65535

VLAN_PROTOCOLS = {"802.1q": ("802.1Q", 0x8100), "802.1ad": ("802.1ad", 0x88A8)}

BOND_MODES = (
    "balance-rr",
    "active-backup",
    "balance-xor",
    "broadcast",
    "802.3ad",
    "balance-tlb",
    "balance-alb",
)

MACVLAN_MODES = {"private": 1, "vepa": 2, "bridge": 4, "passthru": 8, "source": 16}

VNI_MAX = 2**24 - 1
# The bonding driver stores miimon as an int of milliseconds.
MIIMON_MAX = 2**31 - 1

_MAC_RE = re.compile(r"^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$")
_PREFIX_RE = re.compile(r"^[0-9]{1,3}$")


def params_object(params: Any) -> Dict[str, Any]:
    """Return ``params`` when it is a JSON object; absent params count as an empty one."""
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise invalid("params", params, "must be a JSON object with named members")
    return params


def only(params: Dict[str, Any], allowed: Iterable[str]) -> None:
    """Reject members that the method does not take, so a misspelt option is never ignored."""
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        # The value is left out of the message because a misplaced member may be a secret,
        # such as a private key sent to a method that does not take one.
        raise AgentError(
            "invalid_params",
            "unknown parameter %r: this method accepts %s"
            % (unknown[0], ", ".join(sorted(allowed)) or "no parameters"),
            field=unknown[0],
        )


def required(params: Dict[str, Any], field: str) -> Any:
    if field not in params or params[field] is None:
        # "missing" lets the controller name the option that sets the field.
        raise AgentError("invalid_params", "missing %s" % field, field=field, missing=True)
    return params[field]


def string(field: str, value: Any, max_length: int = 4096) -> str:
    if not isinstance(value, str):
        raise invalid(field, value, "must be a string")
    if not value or len(value) > max_length:
        raise invalid(field, value, "must be 1 to %d characters long" % max_length)
    return value


def boolean(field: str, value: Any) -> bool:
    # JSON true/false only: 0, 1, "yes" and "true" are rejected so intent is never guessed.
    if not isinstance(value, bool):
        raise invalid(field, value, "must be true or false")
    return value


def integer(field: str, value: Any, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(field, value, "must be an integer from %d to %d" % (minimum, maximum))
    if not minimum <= value <= maximum:
        raise invalid(field, value, "must be from %d to %d" % (minimum, maximum))
    return value


def enum(field: str, value: Any, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise invalid(field, value, "must be one of: %s" % ", ".join(choices))
    return value


def interface_name(field: str, value: Any) -> str:
    """Check a Linux interface name by the kernel's rule; a long name is an error, never cut."""
    if not isinstance(value, str):
        raise invalid(field, value, "must be a string")
    raw = value.encode("utf-8", "surrogatepass")
    if not 1 <= len(raw) <= IFNAME_MAX_BYTES:
        raise invalid(
            field, value, "must be 1 to %d bytes long, not %d" % (IFNAME_MAX_BYTES, len(raw))
        )
    if value in (".", ".."):
        raise invalid(field, value, "must not be '.' or '..'")
    if value in RESERVED_IFNAMES:
        raise invalid(
            field,
            value,
            "'all' and 'default' are reserved by the kernel for its sysctl directories "
            "net/ipv4/conf/all and net/ipv4/conf/default; choose another name",
        )
    if value.startswith("-"):
        # The kernel allows it, but ip, wg and wireguard-go would read such a name as an option.
        raise invalid(field, value, "must not start with '-'")
    if any(byte in _IFNAME_BAD_BYTES for byte in raw):
        raise invalid(field, value, "must not contain '/', ':', whitespace or control characters")
    return value


def _prefix_length(field: str, value: str, text: str, maximum: int) -> int:
    if not _PREFIX_RE.match(text) or int(text) > maximum:
        raise invalid(field, value, "prefix length must be a number from 0 to %d" % maximum)
    return int(text)


_IP_RULE = "must be an IPv4 or IPv6 address such as 192.0.2.1 or 2001:db8::1"


def _parse_ip(text: Any) -> Tuple[Optional[IPAddress], str]:
    """Parse an address; return it, or None and the rule that the text breaks."""
    if not isinstance(text, str) or not text or "%" in text or text.strip() != text:
        return None, _IP_RULE
    dotted = text.rsplit(":", 1)[-1]
    if "." in dotted and any(len(octet) > 1 and octet[0] == "0" for octet in dotted.split(".")):
        # Python before 3.9.5 reads 010.0.0.1 as 10.0.0.1 while inet_aton reads it as octal.
        return None, "IPv4 octets must not have leading zeros"
    try:
        return ipaddress.ip_address(text), ""
    except ValueError:
        return None, _IP_RULE


def ip_address(field: str, value: Any) -> IPAddress:
    """Parse a bare IPv4 or IPv6 address (no prefix, no zone index)."""
    address, rule = _parse_ip(value)
    if address is None:
        raise invalid(field, value, rule)
    return address


def cidr_address(field: str, value: Any) -> IPInterface:
    """Parse a host address with prefix length, as ``ip addr add`` takes (192.0.2.10/24)."""
    rule = "must be an address with prefix length such as 192.0.2.10/24 or 2001:db8::1/64"
    if not isinstance(value, str) or value.count("/") != 1:
        raise invalid(field, value, rule)
    host, prefix_text = value.split("/")
    address, address_rule = _parse_ip(host)
    if address is None:
        raise invalid(field, value, rule if address_rule == _IP_RULE else address_rule)
    maximum = address.max_prefixlen
    prefix = _prefix_length(field, value, prefix_text, maximum)
    if address.is_unspecified:
        raise invalid(field, value, "the unspecified address cannot be assigned to an interface")
    if address.is_multicast:
        raise invalid(field, value, "a multicast address cannot be assigned to an interface")
    return ipaddress.ip_interface((address, prefix))


def format_interface(value: IPInterface) -> str:
    """Format an address with prefix in RFC 5952 form (compressed, lowercase)."""
    return "%s/%d" % (value.ip.compressed, value.network.prefixlen)


def mtu(field: str, value: Any) -> int:
    return integer(field, value, MTU_MIN, MTU_MAX)


def mtu_for_link(
    field: str, value: int, name: str, min_mtu: Optional[int], max_mtu: Optional[int]
) -> int:
    """Check an MTU against the range that the kernel reports for link ``name``."""
    low = min_mtu or MTU_MIN
    # A max_mtu of 0 means the driver sets no upper bound of its own.
    high = max_mtu or MTU_MAX
    if not low <= value <= high:
        raise invalid(field, value, "link %s accepts an MTU from %d to %d" % (name, low, high))
    return value


def mac_address(field: str, value: Any) -> str:
    """Check a unicast Ethernet MAC address; return it lowercase with colons."""
    if not isinstance(value, str) or not _MAC_RE.match(value):
        raise invalid(field, value, "must be six hexadecimal octets such as 02:00:5e:10:00:01")
    canonical = value.replace("-", ":").lower()
    first = int(canonical[:2], 16)
    if first & 1:
        raise invalid(field, value, "must be a unicast address (the first octet must be even)")
    if canonical == "00:00:00:00:00:00":
        raise invalid(field, value, "the all-zero address is not a usable MAC address")
    return canonical


def vlan_id(field: str, value: Any) -> int:
    return integer(field, value, 1, 4094)


def vlan_protocol(field: str, value: Any) -> Tuple[str, int]:
    """Return the canonical name and EtherType of 802.1Q or 802.1ad."""
    if not isinstance(value, str) or value.lower() not in VLAN_PROTOCOLS:
        raise invalid(field, value, "must be 802.1Q or 802.1ad")
    return VLAN_PROTOCOLS[value.lower()]


def port(field: str, value: Any) -> int:
    return integer(field, value, 1, 65535)


def vni(field: str, value: Any) -> int:
    return integer(field, value, 0, VNI_MAX)


def bond_mode(field: str, value: Any) -> Tuple[str, int]:
    """Accept a bonding mode by name (active-backup) or number (1); return both."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(BOND_MODES):
        return BOND_MODES[value], value
    if isinstance(value, str) and value in BOND_MODES:
        return value, BOND_MODES.index(value)
    raise invalid(
        field,
        value,
        "must be one of %s or their numbers 0 to %d" % (", ".join(BOND_MODES), len(BOND_MODES) - 1),
    )


def miimon(field: str, value: Any) -> int:
    return integer(field, value, 0, MIIMON_MAX)


def macvlan_mode(field: str, value: Any) -> Tuple[str, int]:
    name = enum(field, value, tuple(MACVLAN_MODES))
    return name, MACVLAN_MODES[name]


def admin_state(field: str, value: Any) -> str:
    return enum(field, value, ("up", "down"))


def array(field: str, value: Any, max_items: int = 4096) -> List[Any]:
    if not isinstance(value, list):
        raise invalid(field, value, "must be a JSON array")
    if len(value) > max_items:
        raise invalid(field, "%d items" % len(value), "must have at most %d items" % max_items)
    return value
