"""Routes through the interfaces of a snapshot: captured before a change, put back after.

The kernel deletes the routes through a link that goes down or loses the address they
depend on, and it does not bring them back, so a rolled-back change would otherwise leave a
device without its default route. Routes the kernel makes itself (proto kernel) come back
with their addresses, and routes from router advertisements or DHCP clients are renewed by
those clients, so neither is captured.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from typing import Any, Dict, List

from agent import netlink
from agent.links import LinkTable, open_netlink

# rtnetlink protocol numbers (linux/rtnetlink.h) of routes that their owner restores.
SKIPPED_PROTOCOLS = (2, 9, 16)  # kernel, ra, dhcp
RTN_UNICAST = 1
LOCAL_TABLE = 255

Route = Dict[str, Any]


def capture_routes(table: LinkTable, names: List[str]) -> List[Route]:
    """Return the unicast routes whose output interface is one of ``names``."""
    wanted = {table.by_name[name]["index"]: name for name in names if name in table.by_name}
    routes: List[Route] = []
    with open_netlink() as ipr:
        for route in ipr.route("dump"):
            saved = _describe(route, wanted)
            if saved is not None:
                routes.append(saved)
    return routes


def _describe(route: Any, wanted: Dict[int, str]) -> Any:
    family = route["family"]
    table_id = route.get_attr("RTA_TABLE") or route["table"]
    oif = route.get_attr("RTA_OIF")
    skip = (
        family not in (socket.AF_INET, socket.AF_INET6)
        or oif not in wanted
        or route["type"] != RTN_UNICAST
        or route["proto"] in SKIPPED_PROTOCOLS
        or table_id == LOCAL_TABLE
    )
    if skip:
        return None
    destination = route.get_attr("RTA_DST") or ("0.0.0.0" if family == socket.AF_INET else "::")
    return {
        "dst": "%s/%d" % (ipaddress.ip_address(destination).compressed, route["dst_len"]),
        "gateway": route.get_attr("RTA_GATEWAY"),
        "dev": wanted[oif],
        "priority": route.get_attr("RTA_PRIORITY"),
        "table": table_id,
        "proto": route["proto"],
        "scope": route["scope"],
        "prefsrc": route.get_attr("RTA_PREFSRC"),
    }


def restore_routes(routes: List[Route]) -> List[str]:
    """Add back each captured route that is missing now; return the ones that failed."""
    errors = []
    with open_netlink() as ipr:
        for route in routes:
            index = ipr.link_lookup(ifname=route["dev"])
            if not index:
                errors.append("route %s: interface %s not found" % (route["dst"], route["dev"]))
                continue
            settings: Dict[str, Any] = {
                "dst": route["dst"], "oif": index[0], "table": route["table"],
                "proto": route["proto"], "scope": route["scope"],
            }  # fmt: skip
            for key in ("gateway", "priority", "prefsrc"):
                if route.get(key) is not None:
                    settings[key] = route[key]
            try:
                ipr.route("add", **settings)
            except netlink.NetlinkError as error:
                if error.code != errno.EEXIST:
                    errors.append("route %s via %s dev %s: %s" % (
                        route["dst"], route["gateway"] or "-", route["dev"], error))
    return errors
