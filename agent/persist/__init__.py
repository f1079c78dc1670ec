"""Persisting runtime interfaces in the device's own configuration format, and drift.

The owner of the network configuration comes from ``agent.facts.network_managers``:
ifupdown and systemd-networkd are written, WireGuard interfaces always go to wg-quick
files, and for NetworkManager and netplan the agent returns ``unsupported``.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Dict, List, Optional, Tuple

from agent import validate
from agent.errors import AgentError
from agent.facts import network_managers
from agent.links import read_table
from agent.persist import files, ifupdown, networkd, wgquick_files
from agent.registry import method
from agent.snapshot import static_addresses

WRITERS = ("ifupdown", "systemd_networkd")
UNSUPPORTED_NAMES = {"netplan": "netplan", "networkmanager": "NetworkManager"}

Op = Tuple[str, Dict[str, Any]]


def owner() -> str:
    """Name the system that owns interface configuration here."""
    found = network_managers()
    primary = str(found["primary"])
    if primary == "none":
        return "ifupdown"
    return primary


def check_supported(names: List[str], ops: List[Op]) -> None:
    if all(_is_wireguard_op(name, ops) for name in names):
        return
    system = owner()
    if system not in WRITERS:
        raise AgentError(
            "unsupported",
            "persisting is not supported yet for %s; apply without persist and write its "
            "configuration by hand" % UNSUPPORTED_NAMES.get(system, system),
            owner=system,
        )


def check_existing(names: List[str], ops: List[Op]) -> None:
    """Raise ``conflict`` when a file that persisting would merge into cannot be parsed."""
    for name in names:
        if _is_wireguard_op(name, ops):
            wgquick_files.read_existing(name)


def _is_wireguard_op(name: str, ops: List[Op]) -> bool:
    table = read_table()
    if name in table.userspace_wireguard:
        return True
    link = table.by_name.get(name)
    if link is not None:
        return table.describe(link)["kind"] == "wireguard"
    return any(
        method.startswith("wg.") or params.get("kind") == "wireguard"
        for method, params in ops
        if params.get("name") == name
    )


def files_for(names: List[str], ops: List[Op]) -> List[str]:
    """List every file that persisting ``names`` may write, for the change's snapshot."""
    paths: List[str] = []
    for name in names:
        if _is_wireguard_op(name, ops):
            candidates = wgquick_files.paths_for(name)
        elif owner() == "systemd_networkd":
            candidates = networkd.paths_for(name)
        else:
            candidates = ifupdown.paths_for(name)
        for path in candidates:
            for variant in (path, files.previous_path(path)):
                if variant not in paths:
                    paths.append(variant)
    return paths


def write(names: List[str], ops: List[Op]) -> List[str]:
    """Write the current runtime state of ``names``; return the files that changed."""
    table = read_table()
    system = owner()
    changed: List[str] = []
    for name in names:
        link = table.by_name.get(name)
        description = table.describe(link) if link is not None else None
        addresses = static_addresses(description) if description else []
        if _is_wireguard_op(name, ops):
            changed += _write_wireguard(name, description, addresses)
        elif system == "systemd_networkd":
            stacked = _stacked(table, name)
            changed += networkd.write(description, name, addresses, stacked)
        else:
            ports = sorted(table.ports.get(link["index"], [])) if link is not None else []
            changed += ifupdown.write(description, name, addresses, ports)
    return changed


def _stacked(table: Any, name: str) -> List[str]:
    result = []
    for link in table.links:
        description = table.describe(link)
        if (
            description["kind"] == "macvlan"
            and (description.get("macvlan") or {}).get("parent") == name
        ):
            result.append(description["name"])
    return result


def _write_wireguard(name: str, link: Optional[Dict[str, Any]], addresses: List[str]) -> List[str]:
    from agent.wireguard import device, keys

    if link is None:
        return wgquick_files.write(name, None, None, None, [])
    preshared_keys = {
        keys.encode_key(peer.public_key): keys.encode_key(peer.preshared_key)
        for peer in device.read(name).peers
        if peer.preshared_key is not None
    }
    return wgquick_files.write(
        name, device.describe(name), link, device.private_key(name), addresses, preshared_keys
    )


# Drift between runtime and persisted configuration.


def persisted_state() -> Dict[str, Dict[str, Any]]:
    result: Dict[str, Dict[str, Any]] = {}
    for reader in (ifupdown.read_all, networkd.read_all, wgquick_files.read_all):
        for name, state in reader().items():
            result.setdefault(name, state)
    return result


def _normalise(addresses: List[str]) -> List[str]:
    result = []
    for cidr in addresses:
        for item in cidr.split(","):
            try:
                result.append(ipaddress.ip_interface(item.strip()).with_prefixlen)
            except ValueError:
                result.append(item.strip())
    return sorted(set(result))


def compare(
    runtime: Optional[Dict[str, Any]], saved: Dict[str, Any], wireguard: Optional[Dict[str, Any]]
) -> List[Dict[str, Any]]:
    """List the fields where the runtime interface differs from its persisted configuration."""
    if runtime is None:
        return [{"field": "exists", "persisted": True, "runtime": False}]
    changes = []
    if saved.get("kind") and saved["kind"] != runtime["kind"]:
        changes.append({"field": "kind", "persisted": saved["kind"], "runtime": runtime["kind"]})
    if saved.get("mtu") and saved["mtu"] != runtime["mtu"]:
        changes.append({"field": "mtu", "persisted": saved["mtu"], "runtime": runtime["mtu"]})
    if "master" in saved and saved["master"] != runtime["master"]:
        changes.append(
            {"field": "master", "persisted": saved["master"], "runtime": runtime["master"]}
        )
    if not saved.get("dynamic"):
        persisted = _normalise(saved.get("addresses", []))
        current = static_addresses(runtime)
        if runtime["kind"] == "loopback":
            current = [a for a in current if not ipaddress.ip_interface(a).is_loopback]
        if persisted != current:
            changes.append(
                {
                    "field": "addresses",
                    "persisted": persisted,
                    "runtime": current,
                    "added": sorted(set(current) - set(persisted)),
                    "removed": sorted(set(persisted) - set(current)),
                }
            )
    if wireguard is not None and saved.get("wireguard"):
        changes += _compare_wireguard(saved["wireguard"], wireguard)
    return changes


def _compare_wireguard(saved: Dict[str, Any], runtime: Dict[str, Any]) -> List[Dict[str, Any]]:
    changes = []
    if (saved.get("listen_port") or 0) != (runtime.get("listen_port") or 0):
        changes.append(
            {
                "field": "listen_port",
                "persisted": saved.get("listen_port"),
                "runtime": runtime.get("listen_port"),
            }
        )
    current = sorted((p["public_key"], sorted(p["allowed_ips"])) for p in runtime["peers"])
    persisted = [(key, list(ips)) for key, ips in saved["peers"]]
    if [list(p) for p in current] != [list(p) for p in persisted]:
        changes.append({"field": "peers", "persisted": persisted, "runtime": current})
    return changes


@method("changes.drift")
def changes_drift(params: Dict[str, Any]) -> Dict[str, Any]:
    params = validate.params_object(params)
    validate.only(params, ("name",))
    wanted = params.get("name")
    if wanted is not None:
        wanted = validate.interface_name("name", wanted)
    table = read_table()
    saved = persisted_state()
    names = [link.get("IFLA_IFNAME") for link in table.links]
    names += [name for name in sorted(saved) if name not in names]
    result = []
    for name in names:
        if wanted is not None and name != wanted:
            continue
        result.append(_drift_entry(table, name, saved.get(name)))
    if wanted is not None and not result:
        raise AgentError("not_found", "interface %s is neither running nor persisted" % wanted)
    return {"owner": owner(), "interfaces": result}


def _drift_entry(table: Any, name: str, saved: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    link = table.by_name.get(name)
    runtime = table.describe(link) if link is not None else None
    if saved is None:
        return {"name": name, "status": "runtime-only", "source": None, "diff": []}
    wireguard = None
    if runtime is not None and runtime["kind"] == "wireguard":
        from agent.wireguard import device

        wireguard = device.describe(name)
    changes = compare(runtime, saved, wireguard)
    return {
        "name": name,
        "status": "drifted" if changes else "persisted",
        "source": saved.get("source"),
        "diff": changes,
    }


@method("wgquick.list")
def wgquick_list(params: Dict[str, Any]) -> Dict[str, Any]:
    validate.only(validate.params_object(params), ())
    running = set(read_table().by_name)
    configs = wgquick_files.list_configs()
    for config in configs:
        # Whether an interface of that name exists now, which `wg-quick up` would create.
        config["running"] = config["name"] in running
    return {"configs": configs}
