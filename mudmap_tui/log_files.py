"""Default log source of a device, for the CLI's ``logs`` and the app's Logs tab."""

from __future__ import annotations

from typing import Any


def default_source(listing: dict[str, Any]) -> str:
    """Name what journal.tail reads without a file, from a journal.files result."""
    if listing.get("journald"):
        return "the journal"
    names = {entry.get("name") for entry in listing.get("files") or []}
    for name in ("syslog", "messages"):
        if name in names:
            return f"/var/log/{name}"
    return "none (no journald, no /var/log/syslog or messages)"
