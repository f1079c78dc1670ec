"""Where a lab keeps its state on the host."""

from __future__ import annotations

import os
from pathlib import Path

# Runtime state (pids, the state file) goes away with the host's /run; device disks persist.
RUN_ROOT = Path("/run/mudmap-lab")
DATA_ROOT = Path("/var/lib/mudmap-lab")
DEMO_LAB_NAME = "demo"


def demo_lab_name() -> str:
    """Return the demo lab's name; ``$MUDMAP_DEMO_LAB`` sets another, as tests do."""
    return os.environ.get("MUDMAP_DEMO_LAB") or DEMO_LAB_NAME


def run_dir(lab_name: str) -> Path:
    return RUN_ROOT / lab_name


def data_dir(lab_name: str) -> Path:
    return DATA_ROOT / lab_name


def inventory_path(lab_name: str | None = None) -> Path:
    """Return the lab's own inventory file, kept apart from the user's inventory."""
    return data_dir(lab_name or demo_lab_name()) / "inventory.db"


def lab_known_hosts(lab_name: str | None = None) -> Path:
    """Return the known_hosts file in which the lab lists its devices' host keys."""
    return data_dir(lab_name or demo_lab_name()) / "client" / "known_hosts"
