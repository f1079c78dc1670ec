"""The lab's own inventory, kept apart from the user's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mudmap_tui.store.db import open_database
from mudmap_tui.store.devices import DeviceStore
from mudmap_tui.store.models import Device

if TYPE_CHECKING:
    from mudmap_tui.lab.lab import Lab


def write_lab_inventory(lab: Lab) -> None:
    """Record every lab device in the lab's inventory file, replacing older lab rows."""
    db = open_database(lab.inventory_path)
    try:
        store = DeviceStore(db)
        stale = [name for name in lab.devices if store.exists(name)]
        if stale:
            store.remove(*stale)
        # The jump device first, because a device's jump must already be in the inventory.
        for device in sorted(lab.devices.values(), key=lambda d: d.jump is not None):
            groups = ["lab", "inner"] if device.jump else ["lab", "edge"]
            via = f"reachable only through {device.jump}" if device.jump else "on the lab bridge"
            store.add(
                Device(
                    name=device.name,
                    host=device.address,
                    user="root",
                    identity_file=str(lab.client_key),
                    jump=device.jump,
                    groups=groups,
                    notes=f"lab device {via}",
                )
            )
    finally:
        db.close()
