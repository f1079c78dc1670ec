"""Read-only views of the inventory that the app and the CLI both show."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mudmap_tui.store.db import open_database
from mudmap_tui.store.devices import DeviceStore
from mudmap_tui.store.models import Device

UNGROUPED = "(no group)"


@dataclass(frozen=True)
class InventorySnapshot:
    """Every device of one inventory file, and the devices of each group."""

    path: Path
    devices: dict[str, Device]
    groups: dict[str, list[str]]


def load_inventory(path: Path) -> InventorySnapshot:
    """Read the whole inventory once; groups are sorted, and each lists its devices by name."""
    db = open_database(path)
    try:
        devices = {device.name: device for device in DeviceStore(db).list()}
    finally:
        db.close()
    groups: dict[str, list[str]] = {}
    for device in sorted(devices.values(), key=lambda d: d.name):
        for group in device.groups or [UNGROUPED]:
            groups.setdefault(group, []).append(device.name)
    return InventorySnapshot(path, devices, dict(sorted(groups.items())))


def describe_device(device: Device) -> list[tuple[str, str]]:
    """Return the device's fields as (label, value) rows for a details view."""
    target = f"{device.user + '@' if device.user else ''}{device.host}:{device.port}"
    return [
        ("Name", device.name),
        ("Address", target),
        ("Jump host", device.jump or "none"),
        ("Identity file", device.identity_file or "ssh-agent or ~/.ssh defaults"),
        ("Groups", ", ".join(device.groups) or "none"),
        ("Notes", device.notes or ""),
    ]
