"""ifupdown: one stanza file per interface under /etc/network/interfaces.d.

Kinds ifupdown has no method for (bridge without bridge-utils, macvlan, veth, vxlan) are
created by ``pre-up`` commands that first check whether the link exists, and addresses use
``ip address replace``, so ``ifup -a`` also works when part of the setup is already there.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from typing import Any, Dict, List, Optional

from agent.errors import AgentError
from agent.persist import files

INTERFACES = "/etc/network/interfaces"
INTERFACES_D = "/etc/network/interfaces.d"
SOURCE_LINE = "source /etc/network/interfaces.d/*"
SOURCE_RE = re.compile(
    r"^\s*(source\s+(/etc/network/)?interfaces\.d/\*|source-directory\s+"
    r"(/etc/network/)?interfaces\.d/?)\s*$",
    re.MULTILINE,
)
CREATED_KINDS = ("bridge", "macvlan", "veth", "vxlan", "dummy")


def stanza_path(name: str) -> str:
    return files.path(INTERFACES_D + "/" + name)


def paths_for(name: str) -> List[str]:
    return [stanza_path(name), files.path(INTERFACES)]


def _link_add(description: Dict[str, Any]) -> Optional[str]:
    kind = description["kind"]
    name = description["name"]
    details = description.get(kind) or {}
    if kind == "bridge":
        return "ip link add %s type bridge stp_state %d" % (name, 1 if details.get("stp") else 0)
    if kind == "macvlan":
        return "ip link add link %s name %s type macvlan mode %s" % (
            details.get("parent"),
            name,
            details.get("mode") or "bridge",
        )
    if kind == "veth":
        peer = (details.get("peer") or {}).get("name")
        return "ip link add %s type veth peer name %s" % (name, peer) if peer else None
    if kind == "vxlan":
        words = ["ip link add %s type vxlan id %s" % (name, details.get("vni"))]
        for key in ("remote", "group", "local"):
            if details.get(key):
                words.append("%s %s" % (key, details[key]))
        if details.get("parent"):
            words.append("dev %s" % details["parent"])
        words.append("dstport %s" % (details.get("port") or 4789))
        return " ".join(words)
    if kind == "dummy":
        return "ip link add %s type dummy" % name
    return None


def render(description: Dict[str, Any], addresses: List[str], ports: List[str]) -> str:
    """Write the stanza file of one interface from its runtime description."""
    name = description["name"]
    quoted = shlex.quote(name)
    lines = ["# " + files.HEADER % name, "auto %s" % name, "iface %s inet manual" % name]
    create = _link_add(description)
    if create:
        lines.append("    pre-up ip link show dev %s >/dev/null 2>&1 || %s" % (quoted, create))
    if description.get("mtu"):
        lines.append("    pre-up ip link set dev %s mtu %d" % (quoted, description["mtu"]))
    if description.get("master"):
        lines.append(
            "    pre-up ip link set dev %s master %s || true"
            % (quoted, shlex.quote(description["master"]))
        )
    for port in ports:
        lines.append("    up ip link set dev %s master %s || true" % (shlex.quote(port), quoted))
    for cidr in addresses:
        lines.append("    up ip address replace %s dev %s" % (cidr, quoted))
    lines.append("    up ip link set dev %s %s" % (quoted, description["admin_state"]))
    if create:
        lines.append("    post-down ip link del dev %s" % quoted)
    return "\n".join(lines) + "\n"


def ensure_sourced() -> None:
    """Make /etc/network/interfaces read interfaces.d, which some images leave out."""
    target = files.path(INTERFACES)
    text = _read_text(target)
    if SOURCE_RE.search(text):
        return
    if not text:
        text = "auto lo\niface lo inet loopback\n"
    if not text.endswith("\n"):
        text += "\n"
    files.replace(target, text + SOURCE_LINE + "\n")


def write(
    description: Optional[Dict[str, Any]], name: str, addresses: List[str], ports: List[str]
) -> List[str]:
    """Persist one interface, or remove its stanza when ``description`` is None."""
    if description is None:
        return [stanza_path(name)] if files.remove(stanza_path(name)) else []
    ensure_sourced()
    changed = files.replace(stanza_path(name), render(description, addresses, ports))
    return [stanza_path(name)] if changed else []


def read_all() -> Dict[str, Dict[str, Any]]:
    """Read every iface stanza of /etc/network/interfaces and interfaces.d into desired state."""
    result: Dict[str, Dict[str, Any]] = {}
    sources = [files.path(INTERFACES)] + [
        files.path(INTERFACES_D + "/" + entry)
        for entry in files.list_dir(files.path(INTERFACES_D))
        if re.match(r"^[a-zA-Z0-9_-]+$", entry)
    ]
    for source in sources:
        _parse(_read_text(source), source, result)
    return result


def _read_text(target: str) -> str:
    """Read an ifupdown file; one that is not UTF-8 is reported, never rewritten."""
    try:
        return files.read_text(target)
    except UnicodeDecodeError:
        raise AgentError(
            "conflict",
            "%s is not UTF-8 text, so mudmap cannot read or edit it safely; convert it to "
            "UTF-8, or apply the change without persist" % target,
            path=target,
        ) from None


def _parse(text: str, source: str, result: Dict[str, Dict[str, Any]]) -> None:
    current: Optional[Dict[str, Any]] = None
    for raw in text.splitlines():
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        if words[0] == "iface" and len(words) >= 4:
            current = result.setdefault(
                words[1], {"name": words[1], "source": source, "addresses": [], "dynamic": False}
            )
            if words[3] in ("dhcp", "auto", "loopback"):
                current["dynamic"] = True
            continue
        if words[0] in ("auto", "allow-hotplug", "source", "source-directory", "mapping"):
            current = None if words[0] != "auto" else current
            continue
        if current is not None:
            _option(current, words)


def _option(state: Dict[str, Any], words: List[str]) -> None:
    option = words[0]
    if option == "address" and len(words) > 1:
        state["addresses"].append(_cidr(words[1], state.pop("netmask", None)))
    elif option == "netmask" and len(words) > 1 and state["addresses"]:
        last = state["addresses"].pop()
        state["addresses"].append(_cidr(last.split("/")[0], words[1]))
    elif option == "mtu" and len(words) > 1 and words[1].isdigit():
        state["mtu"] = int(words[1])
    elif option in ("up", "post-up", "pre-up"):
        _command(state, words[1:])


def _command(state: Dict[str, Any], words: List[str]) -> None:
    text = " ".join(words)
    match = re.search(r"ip (?:address|addr|a) (?:replace|add) (\S+) dev (\S+)", text)
    if match and match.group(2) == state["name"]:
        state["addresses"].append(_cidr(match.group(1), None))
    match = re.search(r"\btype (\w+)", text)
    if "ip link add" in text and match:
        state["kind"] = match.group(1)
    match = re.search(r"ip link set dev (\S+) mtu (\d+)", text)
    if match and match.group(1) == state["name"]:
        state["mtu"] = int(match.group(2))
    match = re.search(r"ip link set dev (\S+) master (\S+)", text)
    if match and match.group(1) == state["name"]:
        state["master"] = match.group(2)


def _cidr(address: str, netmask: Optional[str]) -> str:
    try:
        if "/" in address:
            return ipaddress.ip_interface(address).with_prefixlen
        if netmask:
            return ipaddress.ip_interface("%s/%s" % (address, netmask)).with_prefixlen
        return ipaddress.ip_interface(address).with_prefixlen
    except ValueError:
        return address
