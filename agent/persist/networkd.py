"""systemd-networkd: a .netdev (for kinds networkd creates) and a .network per interface."""

from __future__ import annotations

import configparser
from typing import Any, Dict, List, Optional

from agent.persist import files

NETWORK_DIR = "/etc/systemd/network"
PREFIX = "50-mudmap-"
NETDEV_KINDS = {
    "bridge": "bridge",
    "macvlan": "macvlan",
    "veth": "veth",
    "vxlan": "vxlan",
    "dummy": "dummy",
}


def unit_path(name: str, suffix: str) -> str:
    return files.path("%s/%s%s%s" % (NETWORK_DIR, PREFIX, name, suffix))


def paths_for(name: str) -> List[str]:
    return [unit_path(name, ".netdev"), unit_path(name, ".network")]


def render_netdev(description: Dict[str, Any]) -> Optional[str]:
    kind = NETDEV_KINDS.get(description["kind"])
    if kind is None:
        return None
    name = description["name"]
    details = description.get(description["kind"]) or {}
    lines = ["# " + files.HEADER % name, "[NetDev]", "Name=%s" % name, "Kind=%s" % kind]
    if description.get("mtu"):
        lines.append("MTUBytes=%d" % description["mtu"])
    if kind == "macvlan":
        lines += ["", "[MACVLAN]", "Mode=%s" % (details.get("mode") or "bridge")]
    elif kind == "veth" and (details.get("peer") or {}).get("name"):
        lines += ["", "[Peer]", "Name=%s" % details["peer"]["name"]]
    elif kind == "vxlan":
        lines += ["", "[VXLAN]", "VNI=%s" % details.get("vni")]
        if details.get("remote"):
            lines.append("Remote=%s" % details["remote"])
        if details.get("local"):
            lines.append("Local=%s" % details["local"])
        lines.append("DestinationPort=%s" % (details.get("port") or 4789))
    elif kind == "bridge":
        lines += ["", "[Bridge]", "STP=%s" % ("yes" if details.get("stp") else "no")]
    return "\n".join(lines) + "\n"


def render_network(description: Dict[str, Any], addresses: List[str], stacked: List[str]) -> str:
    """Write the .network unit; ``stacked`` names macvlans whose parent this interface is."""
    name = description["name"]
    lines = ["# " + files.HEADER % name, "[Match]", "Name=%s" % name, "", "[Link]"]
    if description.get("mtu"):
        lines.append("MTUBytes=%d" % description["mtu"])
    if description["admin_state"] == "down":
        lines.append("ActivationPolicy=down")
    lines += ["", "[Network]", "LinkLocalAddressing=no"]
    lines += ["Address=%s" % cidr for cidr in addresses]
    if description.get("master"):
        lines.append("Bridge=%s" % description["master"])
    lines += ["MACVLAN=%s" % other for other in stacked]
    return "\n".join(lines) + "\n"


def write(
    description: Optional[Dict[str, Any]], name: str, addresses: List[str], stacked: List[str]
) -> List[str]:
    changed = []
    if description is None:
        for target in paths_for(name):
            if files.remove(target):
                changed.append(target)
        return changed
    netdev = render_netdev(description)
    if netdev is not None and files.replace(unit_path(name, ".netdev"), netdev):
        changed.append(unit_path(name, ".netdev"))
    network = render_network(description, addresses, stacked)
    if files.replace(unit_path(name, ".network"), network):
        changed.append(unit_path(name, ".network"))
    return changed


def read_all() -> Dict[str, Dict[str, Any]]:
    """Read the .netdev and .network units whose [Match] or [NetDev] names one interface."""
    result: Dict[str, Dict[str, Any]] = {}
    directory = files.path(NETWORK_DIR)
    for entry in files.list_dir(directory):
        if not entry.endswith((".netdev", ".network")):
            continue
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        try:
            parser.read_string(files.read_text(directory + "/" + entry))
        except configparser.Error:
            continue
        _merge(parser, directory + "/" + entry, result)
    return result


def _merge(
    parser: configparser.ConfigParser, source: str, result: Dict[str, Dict[str, Any]]
) -> None:
    if parser.has_option("NetDev", "Name"):
        name = parser.get("NetDev", "Name")
        state = result.setdefault(name, _empty(name, source))
        state["kind"] = parser.get("NetDev", "Kind", fallback=None)
    elif parser.has_option("Match", "Name") and " " not in parser.get("Match", "Name"):
        name = parser.get("Match", "Name")
        if "*" in name:
            return
        state = result.setdefault(name, _empty(name, source))
        # configparser keeps only the last of repeated keys, so Address= is read by hand.
        state["addresses"] += _all_values(files.read_text(source), "Address")
        if parser.has_option("Link", "MTUBytes"):
            state["mtu"] = int(parser.get("Link", "MTUBytes"))
        if parser.has_option("Network", "Bridge"):
            state["master"] = parser.get("Network", "Bridge")
        if parser.get("Network", "DHCP", fallback="no") != "no":
            state["dynamic"] = True


def _empty(name: str, source: str) -> Dict[str, Any]:
    return {"name": name, "source": source, "addresses": [], "dynamic": False}


def _all_values(text: str, key: str) -> List[str]:
    values = []
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = line
        elif section == "[Network]" and line.startswith(key + "="):
            values.append(line.split("=", 1)[1].strip())
    return values
