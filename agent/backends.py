"""Probes for the backends that this device offers, reported by ``hello``."""

from __future__ import annotations

import errno
import os
import shutil
import socket
import struct
from typing import Dict, List, Tuple

# The probes speak netlink with the standard library, because importing pyroute2 would cost
# most of the agent's start and ``hello`` runs first on every connection.
NETLINK_ROUTE = 0
NETLINK_GENERIC = 16
NLM_F_REQUEST = 0x1
NLMSG_ERROR = 2
RTM_GETLINK = 18
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_NAME = 2
RECEIVE_BUFFER = 1 << 16
_HEADER = struct.Struct("=IHHII")
_IFINFO = struct.Struct("=BxHiII")
_GENL = struct.Struct("=BBH")
_ATTR = struct.Struct("=HH")
_S32 = struct.Struct("=i")


def netlink_request(protocol: int, message_type: int, body: bytes) -> int:
    """Send one netlink request and return the kernel's error code for it, 0 for a reply.

    Raises OSError when the socket cannot be opened or used.
    """
    sequence = 1
    message = _HEADER.pack(_HEADER.size + len(body), message_type, NLM_F_REQUEST, sequence, 0)
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                       protocol) as sock:  # fmt: skip
        sock.bind((0, 0))
        sock.send(message + body)
        while True:
            for reply_type, reply_sequence, payload in _messages(sock.recv(RECEIVE_BUFFER)):
                if reply_sequence != sequence:
                    continue
                if reply_type == NLMSG_ERROR:
                    return -int(_S32.unpack_from(payload)[0])
                return 0


def _messages(data: bytes) -> List[Tuple[int, int, bytes]]:
    found: List[Tuple[int, int, bytes]] = []
    offset = 0
    while offset + _HEADER.size <= len(data):
        length, message_type, _flags, sequence, _pid = _HEADER.unpack_from(data, offset)
        if length < _HEADER.size:
            break
        found.append((message_type, sequence, data[offset + _HEADER.size : offset + length]))
        offset += (length + 3) & ~3
    return found


def netlink_available() -> bool:
    """Ask rtnetlink for the link with index 1, the loopback in every network namespace."""
    try:
        code = netlink_request(
            NETLINK_ROUTE, RTM_GETLINK, _IFINFO.pack(socket.AF_UNSPEC, 0, 1, 0, 0)
        )
    except OSError:
        return False
    return code == 0


def genl_family_exists(family: str) -> bool:
    """Resolve a generic netlink family by name with nlctrl's CTRL_CMD_GETFAMILY."""
    name = family.encode("ascii") + b"\0"
    attribute = _ATTR.pack(_ATTR.size + len(name), CTRL_ATTR_FAMILY_NAME) + name
    attribute += b"\0" * (-len(attribute) % 4)
    try:
        code = netlink_request(
            NETLINK_GENERIC, GENL_ID_CTRL, _GENL.pack(CTRL_CMD_GETFAMILY, 1, 0) + attribute
        )
    except OSError:
        return False
    if code in (errno.ENOENT, errno.EOPNOTSUPP):
        return False
    if code:
        raise OSError(code, "resolving generic netlink family %s: %s" % (family, os.strerror(code)))
    return True


def tun_usable() -> bool:
    try:
        fd = os.open("/dev/net/tun", os.O_RDWR)
    except OSError:
        return False
    os.close(fd)
    return True


def probe_backends() -> Dict[str, bool]:
    return {
        "netlink": netlink_available(),
        "wireguard_kernel": genl_family_exists("wireguard"),
        "wireguard_userspace": shutil.which("wireguard-go") is not None and tun_usable(),
        "systemd": os.path.isdir("/run/systemd/system"),
    }
