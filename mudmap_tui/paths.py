"""Where the app keeps its files: platformdirs' user directories, with overrides."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "mudmap"


def data_dir() -> Path:
    """Return the user data directory (inventory, known_hosts, keys), creating it."""
    path = Path(platformdirs.user_data_dir(APP_NAME))
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def log_dir() -> Path:
    path = Path(platformdirs.user_log_dir(APP_NAME))
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def known_hosts_path() -> Path:
    """Return Mudmap's own known_hosts file: ``$MUDMAP_KNOWN_HOSTS``, else the data directory's."""
    override = os.environ.get("MUDMAP_KNOWN_HOSTS")
    if override:
        return Path(override).expanduser()
    return data_dir() / "known_hosts"


def default_db_path() -> Path:
    """Return the inventory file: ``$MUDMAP_DB`` when set, else one in the data directory."""
    override = os.environ.get("MUDMAP_DB")
    if override:
        return Path(override).expanduser()
    return data_dir() / "inventory.db"
