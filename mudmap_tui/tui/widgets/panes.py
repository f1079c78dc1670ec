"""The simpler tab panes: overview facts, the device's log tail, the app's error log."""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from textual.widgets import DataTable, Log, RichLog

from mudmap_tui.app_log import format_record
from mudmap_tui.fleet_state import DeviceStatus, age_since, format_age, format_bytes
from mudmap_tui.store.models import Device


def _uptime_text(seconds: Any) -> str:
    if not isinstance(seconds, int | float):
        return "-"
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    return f"{days} d {hours} h {rest // 60} min" if days else f"{hours} h {rest // 60} min"


def overview_rows(device: Device | None, status: DeviceStatus, now: float,
                  ) -> list[tuple[str, str]]:
    """Return the overview's (field, value) rows for a device and what is known about it."""
    facts = status.facts or {}
    hello = status.hello or {}
    os_info = facts.get("os") or {}
    kernel = facts.get("kernel") or hello.get("kernel") or {}
    memory = facts.get("memory") or {}
    network = (facts.get("network_config") or {}).get("primary")
    rows = [
        ("State", status.label),
        ("Reason", status.reason or "-"),
        ("Address", f"{device.user + '@' if device and device.user else ''}"
                    f"{device.host if device else '?'}:{device.port if device else '?'}"),
        ("Jump host", (device.jump if device else None) or "none"),
        ("Groups", ", ".join(device.groups) if device and device.groups else "none"),
        ("Hostname", str(facts.get("hostname") or hello.get("hostname") or "-")),
        ("OS", str(os_info.get("pretty_name") or "-")),
        ("Kernel", str(kernel.get("release") or "-")),
        ("Uptime", _uptime_text(facts.get("uptime"))),
        ("Network manager", str(network or "-")),
        ("Agent", f"{hello.get('agent_version', '-')} (protocol "
                  f"{hello.get('protocol_version', '-')})"),
        ("Python", str(hello.get("python") or facts.get("python") or "-")),
        ("CPUs", str(facts.get("cpus") or "-")),
        ("Memory", format_bytes(memory["total"]) if "total" in memory else "-"),
        ("Checked", _ago(status.age(now))),
        ("Facts read", _ago(age_since(now, status.facts_at))),
    ]
    return rows


def _ago(age: float | None) -> str:
    return "never" if age is None else f"{format_age(age)} ago"


FIELD_WIDTH = 16
# Below this a value is cut rather than wrapped into a column of a few letters.
MIN_VALUE_WIDTH = 24


class OverviewTable(DataTable[str]):
    """Two columns: field and value."""

    def __init__(self, **options: Any) -> None:
        super().__init__(show_cursor=False, **options)

    def on_mount(self) -> None:
        self.add_column("Field", width=FIELD_WIDTH)
        self.add_column("Value")

    def show_rows(self, rows: Iterable[tuple[str, str]]) -> None:
        self.clear()
        # Long values such as a failure reason wrap onto more lines instead of being cut
        # at the screen edge; the width leaves out the field column and cell padding.
        width = max(self.size.width - FIELD_WIDTH - 4, MIN_VALUE_WIDTH)
        for label, value in rows:
            lines = textwrap.wrap(value, width) if len(value) > width else [value]
            self.add_row(label, "\n".join(lines), height=len(lines) or 1)


def journal_lines(value: dict[str, Any]) -> list[str]:
    """Return one text line per ``journal.tail`` entry, with its time when there is one."""
    lines = []
    for entry in value.get("entries") or []:
        stamp = entry.get("time")
        when = (datetime.fromtimestamp(stamp, timezone.utc).strftime("%m-%d %H:%M:%S ")
                if isinstance(stamp, int | float) else "")
        source = entry.get("identifier") or entry.get("unit") or ""
        prefix = f"{source}: " if source else ""
        lines.append(f"{when}{prefix}{entry.get('message') or ''}")
    return lines


class JournalView(Log):
    """The device's log tail, newest at the bottom."""

    def show_lines(self, lines: list[str]) -> None:
        self.clear()
        self.write_lines(lines)


class LogPane(RichLog):
    """The app's own log records: every error in full, with its device and operation."""

    def __init__(self, **options: Any) -> None:
        super().__init__(wrap=True, markup=False, max_lines=2000, **options)

    def add_record(self, record: logging.LogRecord) -> None:
        self.write(format_record(record))
        if record.exc_info and record.exc_info[1] is not None:
            self.write(f"        {type(record.exc_info[1]).__name__}: {record.exc_info[1]}")
