"""A lean reader for rtnetlink link, address and route dumps.

pyroute2 decodes every attribute of every message into objects, which costs about 30 times
as long as ``ip -j addr show`` on 200 links with 2,000 addresses. The listing methods need
a few attributes, so this reader walks the raw dump with struct and decodes only those,
into plain dicts keyed by the kernel's attribute names (``IFLA_IFNAME``), the same names
that pyroute2 uses. Writes still go through pyroute2.

A :class:`Memo` keeps what a parser built for each message body of the last dump, so a
listing decodes only the messages whose bytes changed since.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
from typing import Any, Callable, Dict, List, Tuple

from agent import netlink

NETLINK_ROUTE = 0
RTM_GETLINK = 18
RTM_GETADDR = 22
RTM_GETROUTE = 26
NLM_F_REQUEST = 0x1
NLM_F_DUMP = 0x300
NLM_F_DUMP_INTR = 0x10
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLA_TYPE_MASK = 0x3FFF
RECEIVE_BUFFER = 1 << 17
DUMP_ATTEMPTS = 5

_HEADER = struct.Struct("=IHHII")
_ATTR = struct.Struct("=HH")
_IFINFO = struct.Struct("=BxHiII")
_IFADDR = struct.Struct("=BBBBI")
_RTMSG = struct.Struct("=BBBBBBBBI")
_RTMSG_FIELDS = ("family", "dst_len", "src_len", "tos", "table", "proto", "scope", "type",
                 "flags")  # fmt: skip
_U8 = struct.Struct("=B")
_U16 = struct.Struct("=H")
_U32 = struct.Struct("=I")
_S32 = struct.Struct("=i")
_BE16 = struct.Struct(">H")
_CACHEINFO = struct.Struct("=IIII")
_STATS_FIELDS = ("rx_packets", "tx_packets", "rx_bytes", "tx_bytes",
                 "rx_errors", "tx_errors", "rx_dropped", "tx_dropped")  # fmt: skip
_STATS64 = struct.Struct("=8Q")
_STATS32 = struct.Struct("=8I")

OPERSTATES = ("UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP")

Decoder = Callable[[bytes, int, int], Any]
Attributes = Dict[int, Tuple[str, Decoder]]
# Builds one value from a message body given as (buffer, start, end).
Parser = Callable[[bytes, int, int], Any]


def _u8(data: bytes, start: int, end: int) -> int:
    return int(_U8.unpack_from(data, start)[0])


def _u16(data: bytes, start: int, end: int) -> int:
    return int(_U16.unpack_from(data, start)[0])


def _u32(data: bytes, start: int, end: int) -> int:
    return int(_U32.unpack_from(data, start)[0])


def _s32(data: bytes, start: int, end: int) -> int:
    return int(_S32.unpack_from(data, start)[0])


def _be16(data: bytes, start: int, end: int) -> int:
    return int(_BE16.unpack_from(data, start)[0])


def _string(data: bytes, start: int, end: int) -> str:
    return data[start:end].split(b"\0", 1)[0].decode("utf-8", "replace")


def _hardware_address(data: bytes, start: int, end: int) -> str:
    return ":".join("%02x" % byte for byte in data[start:end])


def _ipv4(data: bytes, start: int, end: int) -> str:
    return socket.inet_ntop(socket.AF_INET, data[start : start + 4])


def _ipv6(data: bytes, start: int, end: int) -> str:
    # glibc's inet_ntop matches ipaddress's RFC 5952 text except for addresses in ::/96 and
    # ::ffff:0:0/96, which it prints with a dotted quad; ipaddress formats those.
    raw = data[start : start + 16]
    text = socket.inet_ntop(socket.AF_INET6, raw)
    return text if "." not in text else ipaddress.IPv6Address(raw).compressed


def _ip(data: bytes, start: int, end: int) -> str:
    if end - start == 4:
        return socket.inet_ntop(socket.AF_INET, data[start:end])
    return _ipv6(data, start, end)


def _operstate(data: bytes, start: int, end: int) -> str:
    value = data[start]
    return OPERSTATES[value] if value < len(OPERSTATES) else str(value)


# zip(strict=) needs Python 3.10; the struct always yields as many values as there are names.
def _stats64(data: bytes, start: int, end: int) -> Dict[str, int]:
    return dict(zip(_STATS_FIELDS, _STATS64.unpack_from(data, start)))  # noqa: B905


def _stats32(data: bytes, start: int, end: int) -> Dict[str, int]:
    return dict(zip(_STATS_FIELDS, _STATS32.unpack_from(data, start)))  # noqa: B905


def _cacheinfo(data: bytes, start: int, end: int) -> Dict[str, int]:
    preferred, valid, created, updated = _CACHEINFO.unpack_from(data, start)
    return {"ifa_preferred": preferred, "ifa_valid": valid, "cstamp": created,
            "tstamp": updated}  # fmt: skip


# Attribute numbers from linux/if_link.h and linux/if_addr.h (stable kernel ABI).
INFO_DATA: Dict[str, Attributes] = {
    "bridge": {
        1: ("IFLA_BR_FORWARD_DELAY", _u32), 2: ("IFLA_BR_HELLO_TIME", _u32),
        3: ("IFLA_BR_MAX_AGE", _u32), 4: ("IFLA_BR_AGEING_TIME", _u32),
        5: ("IFLA_BR_STP_STATE", _u32), 6: ("IFLA_BR_PRIORITY", _u16),
        7: ("IFLA_BR_VLAN_FILTERING", _u8),
    },
    "bond": {1: ("IFLA_BOND_MODE", _u8), 3: ("IFLA_BOND_MIIMON", _u32)},
    "vlan": {1: ("IFLA_VLAN_ID", _u16), 5: ("IFLA_VLAN_PROTOCOL", _be16)},
    "vxlan": {
        1: ("IFLA_VXLAN_ID", _u32), 2: ("IFLA_VXLAN_GROUP", _ipv4),
        3: ("IFLA_VXLAN_LINK", _u32), 4: ("IFLA_VXLAN_LOCAL", _ipv4),
        15: ("IFLA_VXLAN_PORT", _be16), 16: ("IFLA_VXLAN_GROUP6", _ipv6),
        17: ("IFLA_VXLAN_LOCAL6", _ipv6),
    },
    "macvlan": {1: ("IFLA_MACVLAN_MODE", _u32)},
}  # fmt: skip


def _decode(data: bytes, start: int, end: int, table: Attributes) -> Dict[str, Any]:
    """Decode the attributes in data[start:end] that ``table`` names; skip the rest."""
    result: Dict[str, Any] = {}
    unpack = _ATTR.unpack_from
    while start + 4 <= end:
        length, kind = unpack(data, start)
        if length < 4:
            break
        entry = table.get(kind & NLA_TYPE_MASK)
        if entry is not None:
            result[entry[0]] = entry[1](data, start + 4, start + length)
        start += (length + 3) & ~3
    return result


def _linkinfo(data: bytes, start: int, end: int) -> Dict[str, Any]:
    found = _decode(data, start, end, _LINKINFO)
    kind = found.get("IFLA_INFO_KIND")
    span = found.get("IFLA_INFO_DATA")
    table = INFO_DATA.get(kind) if kind else None
    found["IFLA_INFO_DATA"] = _decode(data, span[0], span[1], table) if span and table else {}
    return found


_LINKINFO: Attributes = {
    1: ("IFLA_INFO_KIND", _string),
    2: ("IFLA_INFO_DATA", lambda data, start, end: (start, end)),
}

LINK_ATTRIBUTES: Attributes = {
    1: ("IFLA_ADDRESS", _hardware_address), 3: ("IFLA_IFNAME", _string),
    4: ("IFLA_MTU", _u32), 5: ("IFLA_LINK", _u32), 7: ("IFLA_STATS", _stats32),
    10: ("IFLA_MASTER", _u32), 16: ("IFLA_OPERSTATE", _operstate),
    18: ("IFLA_LINKINFO", _linkinfo), 23: ("IFLA_STATS64", _stats64),
    37: ("IFLA_LINK_NETNSID", _s32), 50: ("IFLA_MIN_MTU", _u32), 51: ("IFLA_MAX_MTU", _u32),
}  # fmt: skip

ADDRESS_ATTRIBUTES: Attributes = {
    1: ("IFA_ADDRESS", _ip), 2: ("IFA_LOCAL", _ip), 3: ("IFA_LABEL", _string),
    6: ("IFA_CACHEINFO", _cacheinfo), 8: ("IFA_FLAGS", _u32),
}  # fmt: skip


ROUTE_ATTRIBUTES: Attributes = {
    1: ("RTA_DST", _ip), 4: ("RTA_OIF", _u32), 5: ("RTA_GATEWAY", _ip),
    6: ("RTA_PRIORITY", _u32), 7: ("RTA_PREFSRC", _ip), 15: ("RTA_TABLE", _u32),
}  # fmt: skip


def parse_link(data: bytes, start: int, end: int) -> Dict[str, Any]:
    family, link_type, index, flags, _change = _IFINFO.unpack_from(data, start)
    link = _decode(data, start + _IFINFO.size, end, LINK_ATTRIBUTES)
    link.update(family=family, ifi_type=link_type, index=index, flags=flags)
    return link


def parse_address(data: bytes, start: int, end: int) -> Dict[str, Any]:
    family, prefixlen, flags, scope, index = _IFADDR.unpack_from(data, start)
    address = _decode(data, start + _IFADDR.size, end, ADDRESS_ATTRIBUTES)
    address.update(family=family, prefixlen=prefixlen, flags=flags, scope=scope, index=index)
    return address


def parse_route(data: bytes, start: int, end: int) -> Dict[str, Any]:
    """Decode an rtmsg and its attributes, with pyroute2's names for the header fields."""
    fields = _RTMSG.unpack_from(data, start)
    route = _decode(data, start + _RTMSG.size, end, ROUTE_ATTRIBUTES)
    route.update(zip(_RTMSG_FIELDS, fields))  # noqa: B905
    return route


def _netlink_error(code: int, message: str) -> Exception:
    # Callers catch pyroute2's NetlinkError for dump and write failures alike; a failed dump
    # is rare, so loading pyroute2 for it costs nothing on the common path.
    return netlink.netlink_error_class()(code, message)


def _request(sock: socket.socket, message_type: int, body: bytes, sequence: int) -> None:
    header = _HEADER.pack(_HEADER.size + len(body), message_type,
                          NLM_F_REQUEST | NLM_F_DUMP, sequence, 0)  # fmt: skip
    sock.send(header + body)


def _collect(sock: socket.socket, sequence: int) -> Tuple[List[bytes], bool]:
    """Read one dump to NLMSG_DONE; return the message bodies and whether it was interrupted."""
    bodies: List[bytes] = []
    interrupted = False
    # Local names: this loop runs once per message, thousands of times per dump.
    unpack_header = _HEADER.unpack_from
    header_size = _HEADER.size
    add_body = bodies.append
    while True:
        data = sock.recv(RECEIVE_BUFFER)
        offset = 0
        size = len(data)
        while offset + header_size <= size:
            length, message_type, flags, message_sequence, _pid = unpack_header(data, offset)
            if length < header_size:
                raise _netlink_error(0, "malformed netlink message of length %d" % length)
            if message_sequence == sequence:
                if flags & NLM_F_DUMP_INTR:
                    interrupted = True
                if message_type == NLMSG_DONE:
                    return bodies, interrupted
                if message_type == NLMSG_ERROR:
                    code = -_S32.unpack_from(data, offset + header_size)[0]
                    if code:
                        raise _netlink_error(code, os.strerror(code))
                else:
                    add_body(data[offset + header_size : offset + length])
            offset += (length + 3) & ~3


def _dump(sock: socket.socket, message_type: int, request: bytes) -> List[bytes]:
    # The kernel flags a dump that raced with a change; read it again for a consistent view.
    for sequence in range(1, DUMP_ATTEMPTS + 1):
        _request(sock, message_type, request, sequence)
        bodies, interrupted = _collect(sock, sequence)
        if not interrupted:
            break
    return bodies


def dump_bodies() -> Tuple[List[bytes], List[bytes]]:
    """Dump every link and every address of the current network namespace.

    Returns the bodies of the link messages and of the address messages: each message
    without its netlink header, starting with its ifinfomsg or ifaddrmsg.
    """
    with _open_route_socket() as sock:
        links = _dump(sock, RTM_GETLINK, _IFINFO.pack(socket.AF_UNSPEC, 0, 0, 0, 0))
        addresses = _dump(sock, RTM_GETADDR, _IFADDR.pack(socket.AF_UNSPEC, 0, 0, 0, 0))
    return links, addresses


def _open_route_socket() -> socket.socket:
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.bind((0, 0))
    except OSError:
        sock.close()
        raise
    return sock


def dump_links_and_routes() -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """Dump every link and every route of every table and family, decoded."""
    with _open_route_socket() as sock:
        links = _dump(sock, RTM_GETLINK, _IFINFO.pack(socket.AF_UNSPEC, 0, 0, 0, 0))
        routes = _dump(sock, RTM_GETROUTE, _RTMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0, 0, 0, 0, 0))
    return (
        [parse_link(body, 0, len(body)) for body in links],
        [parse_route(body, 0, len(body)) for body in routes],
    )


def dump_links_and_addresses() -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """Dump every link and every address of the current network namespace, decoded."""
    links, addresses = dump_bodies()
    return (
        [parse_link(body, 0, len(body)) for body in links],
        [parse_address(body, 0, len(body)) for body in addresses],
    )


class Memo:
    """The results of ``parse`` for the message bodies of the last dump, keyed by their bytes.

    A result is reused only for a body with exactly the same bytes, so it is never stale as
    long as ``parse`` depends on nothing but those bytes. The next dump may hand out the same
    result objects again, so callers must not change them.
    """

    def __init__(self, parse: Parser) -> None:
        self.parse = parse
        self.results: Dict[bytes, Any] = {}

    def parse_all(self, bodies: List[bytes]) -> List[Any]:
        """Parse each body, or reuse its result from the last call; return them in order."""
        previous = self.results
        results = [previous.get(body) for body in bodies]
        if None in results:
            for position, body in enumerate(bodies):
                if results[position] is None:
                    results[position] = self.parse(body, 0, len(body))
        # Only the latest dump's bodies stay, so the memo never outgrows one dump. Two calls
        # that run together (a listing that overran its deadline and the next one) each
        # store a complete, valid set, and the later assignment wins.
        self.results = dict(zip(bodies, results))  # noqa: B905
        return results
