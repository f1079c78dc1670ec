"""Read methods for interfaces and routes: interfaces.list, interfaces.get, routes.list.

Each call makes one netlink link dump and one address dump and builds every interface from
them, so the cost does not grow with one request per interface.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import logging
import os
import socket
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Set, Tuple

from agent import netlink, validate
from agent.errors import AgentError, invalid
from agent.registry import method
from agent.rtnl_dump import (
    Memo,
    dump_bodies,
    dump_links_and_addresses,
    dump_links_and_routes,
    parse_address,
    parse_link,
)

if TYPE_CHECKING:
    from pyroute2 import IPRoute
    from pyroute2.netlink.exceptions import NetlinkError

ARPHRD_LOOPBACK = 772

# fmt: off
# net/if.h and linux/if.h flag bits, named as iproute2 prints them.
IFF_FLAGS = (
    (0x1, "UP"), (0x2, "BROADCAST"), (0x4, "DEBUG"), (0x8, "LOOPBACK"),
    (0x10, "POINTOPOINT"), (0x20, "NOTRAILERS"), (0x40, "RUNNING"), (0x80, "NOARP"),
    (0x100, "PROMISC"), (0x200, "ALLMULTI"), (0x400, "MASTER"), (0x800, "SLAVE"),
    (0x1000, "MULTICAST"), (0x2000, "PORTSEL"), (0x4000, "AUTOMEDIA"), (0x8000, "DYNAMIC"),
    (0x10000, "LOWER_UP"), (0x20000, "DORMANT"), (0x40000, "ECHO"),
)

# linux/if_addr.h; bit 0x01 is "secondary" for IPv4 and "temporary" for IPv6.
IFA_FLAGS = (
    (0x2, "nodad"), (0x4, "optimistic"), (0x8, "dadfailed"), (0x10, "homeaddress"),
    (0x20, "deprecated"), (0x40, "tentative"), (0x80, "permanent"), (0x100, "managetempaddr"),
    (0x200, "noprefixroute"), (0x400, "mcautojoin"), (0x800, "stable-privacy"),
)

SCOPES = {0: "global", 200: "site", 253: "link", 254: "host", 255: "nowhere"}
ROUTE_PROTOCOLS = {
    0: "unspec", 1: "redirect", 2: "kernel", 3: "boot", 4: "static", 8: "gated", 9: "ra",
    10: "mrt", 11: "zebra", 12: "bird", 13: "dnrouted", 14: "xorp", 15: "ntk", 16: "dhcp",
    17: "mrouted", 18: "keepalived", 42: "babel", 99: "openr", 186: "bgp", 187: "isis",
    188: "ospf", 189: "rip", 192: "eigrp",
}
ROUTE_TYPES = {
    1: "unicast", 2: "local", 3: "broadcast", 4: "anycast", 5: "multicast", 6: "blackhole",
    7: "unreachable", 8: "prohibit", 9: "throw", 10: "nat", 11: "xresolve",
}
TABLES = {"default": 253, "main": 254, "local": 255}
TABLE_NAMES = {number: name for name, number in TABLES.items()}
FOREVER = 0xFFFFFFFF
COUNTERS = (
    "rx_bytes", "tx_bytes", "rx_packets", "tx_packets",
    "rx_errors", "tx_errors", "rx_dropped", "tx_dropped",
)
# fmt: on
MACVLAN_MODE_NAMES = {number: name for name, number in validate.MACVLAN_MODES.items()}
VLAN_PROTOCOL_NAMES = {0x8100: "802.1Q", 0x88A8: "802.1ad"}

log = logging.getLogger(__name__)

# Default deadlines in seconds, merged into the server's table. A dump of thousands of links
# and addresses takes well under a second, so 10 s means the device is in trouble.
DEADLINES = {"interfaces.list": 10.0, "interfaces.get": 10.0, "routes.list": 10.0}

# A decoded rtnetlink message: header fields and attributes by their kernel names.
Message = Dict[str, Any]


def netlink_error(error: NetlinkError, action: str) -> AgentError:
    """Translate a kernel error into the agent's error kinds."""
    code = error.code
    text = "%s: %s" % (action, os.strerror(code) if code else error)
    if code in (errno.EPERM, errno.EACCES):
        return AgentError(
            "permission_denied", text + " (the agent needs root or CAP_NET_ADMIN)", errno=code
        )
    if code == errno.EEXIST:
        return AgentError("exists", text, errno=code)
    if code in (errno.ENODEV, errno.ENOENT, errno.EADDRNOTAVAIL, errno.ESRCH):
        return AgentError("not_found", text, errno=code)
    if code == errno.EOPNOTSUPP:
        return AgentError("unsupported", text, errno=code)
    if code == errno.EBUSY:
        return AgentError("conflict", text, errno=code)
    if code in (errno.EINVAL, errno.ERANGE):
        return AgentError("invalid_params", text, errno=code)
    return AgentError(
        "failed", "%s (errno %s)" % (text, errno.errorcode.get(code, code)), errno=code
    )


def open_netlink() -> IPRoute:
    try:
        return netlink.ip_route()
    except OSError as error:
        raise AgentError("failed", "cannot open an rtnetlink socket: %s" % error) from None


def dump() -> Tuple[List[Message], List[Message]]:
    """Dump every link and every address of this network namespace, once each."""
    return _read_dumps(dump_links_and_addresses)


def _read_dumps(read: Callable[[], Tuple[List[Any], List[Any]]]) -> Tuple[List[Any], List[Any]]:
    try:
        return read()
    except netlink.NetlinkError as error:
        raise netlink_error(error, "cannot read links and addresses") from None
    except OSError as error:
        raise AgentError("failed", "cannot read links and addresses: %s" % error) from None


def link_kind(link: Message) -> str:
    kind = (link.get("IFLA_LINKINFO") or {}).get("IFLA_INFO_KIND")
    if kind:
        return str(kind)
    if link["ifi_type"] == ARPHRD_LOOPBACK or link["flags"] & 0x8:
        return "loopback"
    # NOTE: a link without a kind belongs to a device driver. That is a NIC on real hardware,
    # but a virtual device whose driver has no rtnl_link_ops looks the same.
    return "physical"


_FLAG_NAMES: Dict[Tuple[int, int], Tuple[str, ...]] = {}


def flag_names(flags: int, table: Tuple[Tuple[int, str], ...]) -> List[str]:
    # Few distinct flag words occur, and a listing decodes thousands of them.
    key = (id(table), flags)
    names = _FLAG_NAMES.get(key)
    if names is None:
        names = _FLAG_NAMES[key] = tuple(name for bit, name in table if flags & bit)
    return list(names)


def _lifetime(value: Optional[int]) -> Optional[int]:
    # None means forever, as the kernel's 0xffffffff does.
    if value is None or value == FOREVER:
        return None
    return int(value)


def describe_address(message: Message) -> Dict[str, Any]:
    family = message["family"]
    local = message.get("IFA_LOCAL")
    peer = message.get("IFA_ADDRESS")
    # Both families carry the own address in IFA_LOCAL when there is a peer, and IFA_ADDRESS
    # then contains the peer. Without a peer, IPv6 sends IFA_ADDRESS alone.
    address = local or peer
    flags = message.get("IFA_FLAGS")
    if flags is None:
        flags = message["flags"]
    names = flag_names(flags, IFA_FLAGS)
    if flags & 0x1:
        names.insert(0, "secondary" if family == socket.AF_INET else "temporary")
    cache = message.get("IFA_CACHEINFO") or {}
    result: Dict[str, Any] = {
        "family": "inet" if family == socket.AF_INET else "inet6",
        "address": address,
        "prefixlen": message["prefixlen"],
        "scope": SCOPES.get(message["scope"], str(message["scope"])),
        "flags": names,
        "valid_lifetime": _lifetime(cache.get("ifa_valid")),
        "preferred_lifetime": _lifetime(cache.get("ifa_preferred")),
        "label": message.get("IFA_LABEL"),
    }
    if local and peer and local != peer:
        result["peer"] = peer
    return result


class LinkTable:
    """The links and addresses of one dump, indexed for building interface descriptions."""

    def __init__(self, links: List[Message], addresses: List[Message]) -> None:
        self.links = links
        self.by_index: Dict[int, Message] = {link["index"]: link for link in links}
        self.by_name: Dict[str, Message] = {link.get("IFLA_IFNAME"): link for link in links}
        self.addresses: Dict[int, List[Message]] = {}
        for message in addresses:
            self.addresses.setdefault(message["index"], []).append(message)
        self.userspace_wireguard: Set[str] = set()
        self.ports: Dict[int, List[str]] = {}
        for link in links:
            master = link.get("IFLA_MASTER")
            if master:
                self.ports.setdefault(master, []).append(link.get("IFLA_IFNAME"))

    def name_of(self, index: Optional[int]) -> Optional[str]:
        link = self.by_index.get(index) if index else None
        return link.get("IFLA_IFNAME") if link is not None else None

    def get(self, name: str) -> Message:
        link = self.by_name.get(name)
        if link is None:
            raise AgentError("not_found", "interface %s not found" % name, name=name)
        return link

    def parent(self, link: Message) -> Optional[Dict[str, Any]]:
        # VXLAN names its underlying device in its own attribute, not IFLA_LINK.
        index = link.get("IFLA_LINK") or _attr(_info_data(link), "IFLA_VXLAN_LINK")
        if not index or (index == link["index"] and link.get("IFLA_LINK_NETNSID") is None):
            return None
        netns_id = link.get("IFLA_LINK_NETNSID")
        if netns_id is not None:
            # The parent lives in another namespace, so its index means nothing here.
            return {"index": index, "name": None, "netns_id": netns_id}
        return {"index": index, "name": self.name_of(index), "netns_id": None}

    def describe(self, link: Message) -> Dict[str, Any]:
        kind = link_kind(link)
        if kind == "tun" and link.get("IFLA_IFNAME") in self.userspace_wireguard:
            kind = "wireguard"
        stats = link.get("IFLA_STATS64") or link.get("IFLA_STATS") or {}
        result: Dict[str, Any] = {
            "index": link["index"],
            "name": link.get("IFLA_IFNAME"),
            "kind": kind,
            "admin_state": "up" if link["flags"] & 0x1 else "down",
            "oper_state": str(link.get("IFLA_OPERSTATE") or "unknown").lower(),
            "flags": flag_names(link["flags"], IFF_FLAGS),
            "mtu": link.get("IFLA_MTU"),
            "min_mtu": link.get("IFLA_MIN_MTU"),
            "max_mtu": link.get("IFLA_MAX_MTU"),
            "mac": link.get("IFLA_ADDRESS"),
            "master": self.name_of(link.get("IFLA_MASTER")),
            "parent": self.parent(link),
            "addresses": [describe_address(a) for a in self.addresses.get(link["index"], [])],
            "counters": {name: stats.get(name, 0) for name in COUNTERS},
        }
        settings = KIND_SETTINGS.get(kind)
        if settings is not None:
            result[kind] = settings(self, link)
        return result


def _info_data(link: Message) -> Message:
    return (link.get("IFLA_LINKINFO") or {}).get("IFLA_INFO_DATA") or {}


def _attr(data: Any, name: str) -> Any:
    return data.get(name) if hasattr(data, "get") else None


def _bridge(table: LinkTable, link: Message) -> Dict[str, Any]:
    data = _info_data(link)

    def seconds(name: str) -> Optional[float]:
        value = _attr(data, name)
        # The kernel reports bridge timers in hundredths of a second.
        return None if value is None else value / 100.0

    return {
        "ports": sorted(table.ports.get(link["index"], [])),
        "stp": bool(_attr(data, "IFLA_BR_STP_STATE")),
        "forward_delay": seconds("IFLA_BR_FORWARD_DELAY"),
        "hello_time": seconds("IFLA_BR_HELLO_TIME"),
        "max_age": seconds("IFLA_BR_MAX_AGE"),
        "ageing_time": seconds("IFLA_BR_AGEING_TIME"),
        "priority": _attr(data, "IFLA_BR_PRIORITY"),
        "vlan_filtering": bool(_attr(data, "IFLA_BR_VLAN_FILTERING")),
    }


def _bond(table: LinkTable, link: Message) -> Dict[str, Any]:
    data = _info_data(link)
    mode = _attr(data, "IFLA_BOND_MODE")
    names = validate.BOND_MODES
    return {
        "mode": names[mode] if isinstance(mode, int) and 0 <= mode < len(names) else mode,
        "miimon": _attr(data, "IFLA_BOND_MIIMON"),
        "members": sorted(table.ports.get(link["index"], [])),
    }


def _vlan(table: LinkTable, link: Message) -> Dict[str, Any]:
    data = _info_data(link)
    protocol = _attr(data, "IFLA_VLAN_PROTOCOL")
    parent = table.parent(link)
    return {
        "id": _attr(data, "IFLA_VLAN_ID"),
        "protocol": VLAN_PROTOCOL_NAMES.get(protocol, protocol),
        "parent": parent["name"] if parent else None,
    }


def _vxlan(table: LinkTable, link: Message) -> Dict[str, Any]:
    data = _info_data(link)
    # The kernel keeps a unicast remote and a multicast group in the same attribute.
    peer = _attr(data, "IFLA_VXLAN_GROUP") or _attr(data, "IFLA_VXLAN_GROUP6")
    peer_address = ipaddress.ip_address(peer) if peer else None
    is_group = bool(peer_address and peer_address.is_multicast)
    local = _attr(data, "IFLA_VXLAN_LOCAL") or _attr(data, "IFLA_VXLAN_LOCAL6")
    return {
        "vni": _attr(data, "IFLA_VXLAN_ID"),
        "remote": peer_address.compressed if peer_address and not is_group else None,
        "group": peer_address.compressed if peer_address and is_group else None,
        "local": ipaddress.ip_address(local).compressed if local else None,
        "port": _attr(data, "IFLA_VXLAN_PORT"),
        "parent": table.name_of(_attr(data, "IFLA_VXLAN_LINK")),
    }


def _veth(table: LinkTable, link: Message) -> Dict[str, Any]:
    return {"peer": table.parent(link)}


def _macvlan(table: LinkTable, link: Message) -> Dict[str, Any]:
    mode = _attr(_info_data(link), "IFLA_MACVLAN_MODE")
    parent = table.parent(link)
    return {
        "mode": MACVLAN_MODE_NAMES.get(mode, mode),
        "parent": parent["name"] if parent else None,
    }


KIND_SETTINGS = {
    "bridge": _bridge,
    "bond": _bond,
    "vlan": _vlan,
    "vxlan": _vxlan,
    "veth": _veth,
    "macvlan": _macvlan,
}


def read_table() -> LinkTable:
    table = LinkTable(*dump())
    table.userspace_wireguard = set(userspace_wireguard_names())
    return table


def _wireguard_module() -> Any:
    try:
        from agent import wireguard
    except ImportError:
        return None
    except Exception:
        # The server reports a broken module in hello; reading links must still work.
        log.exception("cannot import agent.wireguard")
        return None
    return wireguard


def userspace_wireguard_names() -> List[str]:
    """List the tun links that wireguard-go serves, so they are reported as wireguard."""
    names = getattr(_wireguard_module(), "userspace_names", None)
    return list(names()) if callable(names) else []


def wireguard_details(name: str) -> Optional[Dict[str, Any]]:
    """Ask the WireGuard topic module, when it is installed, to describe link ``name``."""
    describe = getattr(_wireguard_module(), "describe", None)
    return describe(name) if callable(describe) else None


# The server writes responses with the same separators and ASCII escapes, so the text built
# here reads exactly as the server's json.dumps would write the same objects.
JSON_ENCODER = json.JSONEncoder(separators=(",", ":"), check_circular=False)
EMPTY_ADDRESSES = b'"addresses":[]'


def encode_address(data: bytes, start: int, end: int) -> Tuple[int, bytes]:
    """Decode an address message body into its link index and its description as JSON."""
    message = parse_address(data, start, end)
    return message["index"], JSON_ENCODER.encode(describe_address(message)).encode("ascii")


# interfaces.list reuses the decoded links and encoded addresses whose message bytes did not
# change since the previous listing. A link's message changes with every packet it counts
# and a bridge's with its timers, so mostly addresses and idle links are reused.
LINK_MEMO = Memo(parse_link)
ADDRESS_MEMO = Memo(encode_address)


def encode_listing(table: LinkTable, address_texts: List[Tuple[int, bytes]]) -> bytes:
    """Encode the interfaces.list result for ``table`` with the addresses given as JSON.

    The links' descriptions are encoded with empty address lists, and each link's address
    texts then go into its list. Inside a JSON string every quote is escaped, so the text of
    an empty ``addresses`` member occurs only where a description has that member.
    """
    by_index: Dict[int, List[bytes]] = {}
    for index, address_text in address_texts:
        by_index.setdefault(index, []).append(address_text)
    descriptions = [table.describe(link) for link in table.links]
    pieces = JSON_ENCODER.encode(descriptions).encode("ascii").split(EMPTY_ADDRESSES)
    if len(pieces) != len(table.links) + 1:
        raise AgentError(
            "failed",
            "found %d empty address lists for %d links in the listing's JSON"
            % (len(pieces) - 1, len(table.links)),
        )
    parts = [b'{"interfaces":', pieces[0]]
    for link, piece in zip(table.links, pieces[1:]):  # noqa: B905
        parts += (b'"addresses":[', b",".join(by_index.get(link["index"], ())), b"]", piece)
    parts.append(b"}")
    return b"".join(parts)


@method("interfaces.list")
def interfaces_list(params: Dict[str, Any]) -> bytes:
    """List every interface; return the result already encoded as JSON.

    Encoding here lets the listing reuse each unchanged address's JSON text from the last
    listing, so a call costs little more than the kernel's dumps and the links' JSON.
    """
    params = validate.params_object(params)
    validate.only(params, ())
    link_bodies, address_bodies = _read_dumps(dump_bodies)
    table = LinkTable(LINK_MEMO.parse_all(link_bodies), [])
    table.userspace_wireguard = set(userspace_wireguard_names())
    # WireGuard details cost a socket round trip per link, so only interfaces.get adds them.
    return encode_listing(table, ADDRESS_MEMO.parse_all(address_bodies))


@method("interfaces.get")
def interfaces_get(params: Dict[str, Any]) -> Dict[str, Any]:
    params = validate.params_object(params)
    validate.only(params, ("name",))
    name = validate.interface_name("name", validate.required(params, "name"))
    table = read_table()
    result = table.describe(table.get(name))
    if result["kind"] == "wireguard":
        result["wireguard"] = wireguard_details(name)
    return {"interface": result}


def table_number(value: Any) -> Optional[int]:
    """Return the routing table id for ``value``, or None for "all"."""
    if value == "all":
        return None
    if isinstance(value, str) and value in TABLES:
        return TABLES[value]
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 0xFFFFFFFF:
        return value
    raise invalid(
        "table", value, "must be main, local, default, all or a number from 1 to 4294967295"
    )


def describe_route(route: Message, names: Dict[int, Optional[str]]) -> Dict[str, Any]:
    family = route["family"]
    destination = route.get("RTA_DST")
    table = route.get("RTA_TABLE") or route["table"]
    gateway = route.get("RTA_GATEWAY")
    source = route.get("RTA_PREFSRC")
    if destination is None:
        destination = "0.0.0.0" if family == socket.AF_INET else "::"
    return {
        "family": "inet" if family == socket.AF_INET else "inet6",
        "destination": "%s/%d" % (ipaddress.ip_address(destination).compressed, route["dst_len"]),
        "gateway": ipaddress.ip_address(gateway).compressed if gateway else None,
        "dev": names.get(route.get("RTA_OIF")),
        "metric": route.get("RTA_PRIORITY") or 0,
        "protocol": ROUTE_PROTOCOLS.get(route["proto"], str(route["proto"])),
        "scope": SCOPES.get(route["scope"], str(route["scope"])),
        "type": ROUTE_TYPES.get(route["type"], str(route["type"])),
        "table": TABLE_NAMES.get(table, table),
        "prefsrc": ipaddress.ip_address(source).compressed if source else None,
    }


@method("routes.list")
def routes_list(params: Dict[str, Any]) -> Dict[str, Any]:
    params = validate.params_object(params)
    validate.only(params, ("table",))
    requested_table = table_number(params.get("table", "main"))
    try:
        links, routes = dump_links_and_routes()
    except netlink.NetlinkError as error:
        raise netlink_error(error, "cannot read routes") from None
    except OSError as error:
        raise AgentError("failed", "cannot read routes: %s" % error) from None
    names = {link["index"]: link.get("IFLA_IFNAME") for link in links}
    result = []
    for route in routes:
        if route["family"] not in (socket.AF_INET, socket.AF_INET6):
            continue
        table = route.get("RTA_TABLE") or route["table"]
        if requested_table is None or table == requested_table:
            result.append(describe_route(route, names))
    return {"routes": result}
