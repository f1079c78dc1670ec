"""wg-quick: /etc/wireguard/NAME.conf, edited in place so comments and hooks survive."""

from __future__ import annotations

import base64
import os
from typing import Any, Dict, List, Optional

from agent import wgquick
from agent.errors import AgentError
from agent.persist import files

WIREGUARD_DIR = "/etc/wireguard"
# wg-quick has no enable switch without systemd; the lab's init brings up the names here.
ENABLED_LIST = "/etc/mudmap/wg-quick-enabled"


def conf_path(name: str) -> str:
    return files.path("%s/%s.conf" % (WIREGUARD_DIR, name))


def paths_for(name: str) -> List[str]:
    return [conf_path(name), files.path(ENABLED_LIST)]


# The peer keys that render() removes from a merged [Peer] section when the runtime peer
# has no such setting.
OPTIONAL_PEER_KEYS = ("PresharedKey", "Endpoint", "PersistentKeepalive")


def _peer_values(peer: Dict[str, Any], preshared_keys: Dict[str, str]) -> Dict[str, List[str]]:
    values = {"PublicKey": [peer["public_key"]]}
    if preshared_keys.get(peer["public_key"]):
        values["PresharedKey"] = [preshared_keys[peer["public_key"]]]
    if peer.get("allowed_ips"):
        values["AllowedIPs"] = [", ".join(peer["allowed_ips"])]
    if peer.get("endpoint"):
        values["Endpoint"] = [peer["endpoint"]]
    if peer.get("persistent_keepalive"):
        values["PersistentKeepalive"] = [str(peer["persistent_keepalive"])]
    return values


def render(
    name: str,
    state: Dict[str, Any],
    private_key: bytes,
    addresses: List[str],
    mtu: Optional[int],
    existing: str,
    preshared_keys: Optional[Dict[str, str]] = None,
) -> str:
    """Merge the runtime state into the existing file text, or write a new file.

    ``preshared_keys`` maps a peer's public key to its preshared key, both in base64; a
    peer missing from it gets no PresharedKey line.
    """
    preshared_keys = preshared_keys or {}
    config = wgquick.parse(existing) if existing else None
    if config is None:
        config = wgquick.parse("# %s\n[Interface]\n" % (files.HEADER % name))
        # Runtime interfaces made by the agent route nothing by themselves.
        config.interface.set("Table", ["off"])
    interface = config.interface
    interface.set("PrivateKey", [base64.b64encode(private_key).decode()])
    interface.set("Address", [", ".join(addresses)] if addresses else [])
    interface.set("ListenPort", [str(state["listen_port"])] if state["listen_port"] else [])
    interface.set("FwMark", [hex(state["fwmark"])] if state.get("fwmark") else [])
    interface.set("MTU", [str(mtu)] if mtu else [])
    wanted = {peer["public_key"]: peer for peer in state["peers"]}
    for section in list(config.peers):
        key = section.value("PublicKey")
        if key not in wanted:
            config.sections.remove(section)
            continue
        values = _peer_values(wanted.pop(key), preshared_keys)
        for item, value in values.items():
            section.set(item, value)
        for item in OPTIONAL_PEER_KEYS:
            if item not in values:
                section.set(item, [])
    for peer in state["peers"]:
        if peer["public_key"] in wanted:
            config.add_peer(_peer_values(peer, preshared_keys))
    return config.render()


def set_enabled(name: str, enabled: bool) -> bool:
    target = files.path(ENABLED_LIST)
    try:
        text = files.read_text(target)
    except UnicodeDecodeError:
        raise AgentError(
            "conflict",
            "cannot persist %s: %s is not UTF-8 text; write one interface name per line "
            "there, or apply without persist" % (name, target),
            path=target,
        ) from None
    names = [line.strip() for line in text.splitlines() if line.strip()]
    if (name in names) == enabled:
        return False
    names = [n for n in names if n != name] + ([name] if enabled else [])
    files.replace(target, "".join(n + "\n" for n in names), 0o644)
    return True


def write(
    name: str,
    described: Optional[Dict[str, Any]],
    link: Optional[Dict[str, Any]],
    private_key: Optional[bytes],
    addresses: List[str],
    preshared_keys: Optional[Dict[str, str]] = None,
) -> List[str]:
    """Write NAME.conf (mode 0600 because it contains keys) and the enabled list.

    When the interface is gone (any of the first three arguments is None), remove both.
    """
    changed = []
    if described is None or link is None or private_key is None:
        if files.remove(conf_path(name)):
            changed.append(conf_path(name))
        if set_enabled(name, False):
            changed.append(files.path(ENABLED_LIST))
        return changed
    os.makedirs(files.path(WIREGUARD_DIR), mode=0o700, exist_ok=True)
    text = render(
        name,
        described,
        private_key,
        addresses,
        link.get("mtu"),
        read_existing(name),
        preshared_keys,
    )
    if files.replace(conf_path(name), text, 0o600):
        changed.append(conf_path(name))
    if set_enabled(name, True):
        changed.append(files.path(ENABLED_LIST))
    return changed


def read_config(path: str) -> wgquick.WgQuickFile:
    """Read and parse one file; raise WgQuickError (line 0 for the whole file) if unusable."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        text = ""
    except IsADirectoryError:
        raise wgquick.WgQuickError(0, "a directory, not a file") from None
    except UnicodeDecodeError:
        raise wgquick.WgQuickError(0, "not UTF-8 text") from None
    except OSError as error:
        raise wgquick.WgQuickError(0, "cannot be read: %s" % error.strerror) from None
    return wgquick.parse(text)


def read_existing(name: str) -> str:
    """Return the text of NAME.conf for a merge, or raise ``conflict`` when wg-quick rejects it."""
    path = conf_path(name)
    try:
        read_config(path)
    except wgquick.WgQuickError as error:
        raise AgentError(
            "conflict",
            "cannot persist %s: %s is not a valid wg-quick file (%s); fix or remove that "
            "file, or apply without persist" % (name, path, error),
            path=path,
        ) from None
    return files.read_text(path)


def list_configs() -> List[Dict[str, Any]]:
    """Describe each /etc/wireguard/*.conf without its private or preshared keys.

    ``error`` names every reason wg-quick would reject the file, joined by "; ". The
    settings are there too unless the file cannot be parsed at all.
    """
    result = []
    directory = files.path(WIREGUARD_DIR)
    enabled = files.read_text(files.path(ENABLED_LIST)).split()
    for entry in files.list_dir(directory):
        if not entry.endswith(".conf"):
            continue
        name = entry[: -len(".conf")]
        item: Dict[str, Any] = {
            "name": name,
            "path": directory + "/" + entry,
            "enabled": name in enabled,
            "valid_name": wgquick.valid_name(name),
        }
        problems = [] if item["valid_name"] else [wgquick.NAME_RULE]
        try:
            config = read_config(directory + "/" + entry)
        except wgquick.WgQuickError as error:
            problems.append(str(error))
        else:
            item.update(config.summary())
            item["unknown_keys"] = wgquick.unknown_keys(config)
            problems += wgquick.problems(config)
        if problems:
            item["error"] = "; ".join(problems)
        result.append(item)
    return result


def read_all() -> Dict[str, Dict[str, Any]]:
    result = {}
    for item in list_configs():
        if "error" in item:
            continue
        result[item["name"]] = {
            "name": item["name"],
            "source": item["path"],
            "kind": "wireguard",
            "addresses": sorted(item["addresses"]),
            "dynamic": False,
            "mtu": item["mtu"],
            "wireguard": {
                "listen_port": item["listen_port"],
                "peers": sorted((p["public_key"], sorted(p["allowed_ips"])) for p in item["peers"]),
            },
        }
    return result
