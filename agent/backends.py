"""Probes for the backends that this device offers, reported by ``hello``."""

from __future__ import annotations

import errno
import os
import shutil
from typing import Dict

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.generic import GenericNetlinkSocket


def netlink_available() -> bool:
    try:
        with IPRoute() as ipr:
            ipr.link("get", index=1)
    except (OSError, NetlinkError):
        return False
    return True


def genl_family_exists(family: str) -> bool:
    """Resolve a generic netlink family by name, as the kernel's nlctrl reports it."""
    try:
        sock = GenericNetlinkSocket()
    except OSError:
        return False
    try:
        # discovery() logs an error on the root logger for a missing family; expected here.
        sock.asyncore.module_err_level = "debug"
        sock.bind(family, None)
    except NetlinkError as error:
        if error.code in (errno.ENOENT, errno.EOPNOTSUPP):
            return False
        raise
    finally:
        sock.close()
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
