"""Timestamps as the store keeps them: ISO 8601 text in UTC."""

from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> str:
    """Return the current time in UTC, to the microsecond, e.g. 2026-12-04T20:00:00.000001+00:00.

    Text in this fixed form sorts in time order, so SQL can ORDER BY it.
    """
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")
