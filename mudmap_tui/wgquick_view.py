"""Describe a device's wg-quick configuration files (``wgquick.list`` entries) for display.

The agent never returns private or preshared keys, so nothing here can show them.
"""

from __future__ import annotations

from typing import Any


def config_notes(config: dict[str, Any]) -> str:
    """Return what needs attention in one config: invalid, duplicate peers, unknown keys."""
    if "error" in config:
        return f"invalid: {config['error']}"
    notes = []
    if not config.get("valid_name", True):
        notes.append("wg-quick rejects this name")
    duplicates = config.get("duplicate_peers") or []
    if duplicates:
        notes.append(f"{len(duplicates)} duplicate peer" + ("s" if len(duplicates) > 1 else ""))
    unknown = config.get("unknown_keys") or []
    if unknown:
        notes.append("unknown keys: " + ", ".join(unknown))
    if config.get("save_config"):
        notes.append("SaveConfig on")
    return "; ".join(notes)


def config_cells(config: dict[str, Any]) -> tuple[str, ...]:
    """Return the table cells: name, boot, interface, addresses, port, peers and notes."""
    boot = "enabled" if config.get("enabled") else "-"
    running = "running" if config.get("running") else "not running"
    if "addresses" not in config:
        # The file could not be parsed, so only the error is known.
        return (str(config.get("name")), boot, running, "-", "-", "-", config_notes(config))
    port = config.get("listen_port")
    return (str(config.get("name")), boot, running,
            ", ".join(config.get("addresses") or []) or "-",
            "-" if port is None else str(port), str(len(config.get("peers") or [])),
            config_notes(config) or "-")


def config_text(config: dict[str, Any]) -> str:
    """Return a config's settings and peers as lines for a text view."""
    lines = [f"File: {config.get('path')}",
             f"Started at boot: {'yes' if config.get('enabled') else 'no'}",
             f"Interface now: {'running' if config.get('running') else 'not running'}"]
    if "error" in config:
        lines.append(f"Invalid: {config['error']}")
        lines.append("Fix the file; wg-quick rejects it as it is.")
    if "addresses" not in config:
        return "\n".join(lines)

    if config.get("duplicate_peers"):
        lines.append("Duplicate peers (wg merges their sections): "
                     + ", ".join(config["duplicate_peers"]))
    if config.get("unknown_keys"):
        lines.append("Keys wg-quick does not know: " + ", ".join(config["unknown_keys"]))

    lines += ["", "[Interface]"]
    settings = [
        ("Address", ", ".join(config.get("addresses") or [])),
        ("ListenPort", config.get("listen_port")),
        ("DNS", ", ".join((config.get("dns") or []) + (config.get("dns_search") or []))),
        ("MTU", config.get("mtu")),
        ("Table", config.get("table")),
        ("FwMark", config.get("fwmark")),
        ("SaveConfig", "true" if config.get("save_config") else None),
        ("PrivateKey", "(set, not shown)" if config.get("has_private_key") else "missing"),
    ]
    lines += [f"  {key} = {value}" for key, value in settings if value not in (None, "")]
    for hook, commands in (config.get("hooks") or {}).items():
        lines += [f"  {hook} = {command}" for command in commands]

    for peer in config.get("peers") or []:
        lines += ["", "[Peer]", f"  PublicKey = {peer.get('public_key')}"]
        peer_settings = [
            ("Endpoint", peer.get("endpoint")),
            ("AllowedIPs", ", ".join(peer.get("allowed_ips") or [])),
            ("PersistentKeepalive", peer.get("persistent_keepalive")),
            ("PresharedKey", "(set, not shown)" if peer.get("preshared_key_set") else None),
        ]
        lines += [f"  {key} = {value}" for key, value in peer_settings
                  if value not in (None, "")]

    return "\n".join(lines)
