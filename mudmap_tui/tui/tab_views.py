"""Fill the tabs from the app's fleet state and the local store, without device I/O."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from textual.widgets import Select, Static

from mudmap_tui.fleet_state import format_bytes
from mudmap_tui.log_files import default_source
from mudmap_tui.store import audit
from mudmap_tui.tui.widgets.panes import JournalView, OverviewTable, journal_lines, overview_rows
from mudmap_tui.tui.widgets.tables import (
    AuditTable,
    BackupsTable,
    InterfacesTable,
    ServicesTable,
    WgQuickTable,
    WireGuardTable,
)

if TYPE_CHECKING:
    from mudmap_tui.tui.app import MudmapApp

log = logging.getLogger("mudmap.tui")
AUDIT_ROWS = 200
# The Logs tab's source list value for the journal, or syslog/messages without journald.
DEFAULT_LOG_SOURCE = "-"


# Short enough that an 80-column terminal still shows the action and its result.
AUDIT_TIME_FORMAT = "%m-%d %H:%M:%S"


def local_time(stamp: str, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """Return a stored UTC ISO 8601 time in this machine's time zone, or the text as is."""
    try:
        return datetime.fromisoformat(stamp).astimezone().strftime(fmt)
    except ValueError:
        return stamp


class TabViews:
    """Render each tab of the app from the fleet state and the local store."""

    def __init__(self, app: MudmapApp) -> None:
        self.app = app

    def show_selected(self) -> None:
        """Render the active tab for the selected device, and the data-age line."""
        name = self.app.selected_device
        tab = self.app.active_tab
        renderer = getattr(self, f"_show_{tab}", None)
        if renderer is not None:
            renderer(name)
        self.app.update_age_line()

    def _show_overview(self, name: str | None) -> None:
        table = self.app.query_one("#overview-table", OverviewTable)
        if name is None or self.app.inventory is None:
            table.show_rows([("State", "no device selected")])
            return
        device = self.app.inventory.devices.get(name)
        table.show_rows(overview_rows(device, self.app.fleet.status(name), self.app.clock()))

    def _show_interfaces(self, name: str | None) -> None:
        status = self.app.fleet.status(name) if name else None
        rows = status.interfaces if status else []
        drift = status.extras.get("drift") if status else None
        self.app.query_one("#interfaces-table", InterfacesTable).show_interfaces(rows, drift)

    def _show_wireguard(self, name: str | None) -> None:
        value = (self.app.fleet.status(name).extras.get("wireguard") if name else None) or {}
        self.app.query_one("#wireguard-table", WireGuardTable).show_wireguard(
            value.get("interfaces") or [])
        configs = value.get("configs")
        self.app.query_one("#wgquick-table", WgQuickTable).show_configs(configs or [])
        if not value:
            title = "wg-quick configs in /etc/wireguard"
        elif configs is None:
            title = (f"wg-quick configs in /etc/wireguard: cannot be read: "
                     f"{value.get('configs_error')}")
        elif not configs:
            title = "wg-quick configs in /etc/wireguard: none"
        else:
            title = f"wg-quick configs in /etc/wireguard: {len(configs)} (v shows one)"
        self.app.query_one("#wgquick-title", Static).update(title)

    def _show_services(self, name: str | None) -> None:
        extras = self.app.fleet.status(name).extras if name else {}
        services = (extras.get("services") or {}).get("services", [])
        self.app.query_one("#services-table", ServicesTable).show_services(services)
        unsupported = extras.get("services.unsupported")
        note = self.app.query_one("#services-note", Static)
        note.display = bool(unsupported)
        note.update(f"Services are not available on this device: {unsupported}"
                    if unsupported else "")

    def _show_logs(self, name: str | None) -> None:
        status = self.app.fleet.status(name) if name else None
        extras = status.extras if status else {}
        lines = journal_lines(extras.get("logs") or {})
        error = extras.get("logs.error")
        unsupported = extras.get("logs.unsupported")
        listing = extras.get("logs.files")
        chosen = self.app.log_files.get(name or "", DEFAULT_LOG_SOURCE)
        self._show_log_sources(listing, chosen)
        note = ""
        if not lines and unsupported:
            note = f"Logs are not available on this device: {unsupported}"
            if listing and listing.get("files"):
                note += "\nChoose a file in /var/log in the list above."
        elif not lines and error:
            note = f"The device's log could not be read: {error}"
        widget = self.app.query_one("#logs-note", Static)
        widget.update(note)
        widget.display = bool(note)
        self.app.query_one("#journal", JournalView).show_lines(lines)

    def _show_log_sources(self, listing: dict[str, Any] | None, chosen: str) -> None:
        """Fill the source list from ``journal.files``; hide it until that is known."""
        select = self.app.query_one("#logs-file", Select)
        select.display = bool(listing)
        if not listing:
            return
        default = f"default: {default_source(listing)}"
        options = [(default, DEFAULT_LOG_SOURCE)]
        options += [(f"{entry['name']}  ({format_bytes(entry.get('size') or 0)})",
                     str(entry["name"])) for entry in listing.get("files") or []]
        if chosen not in {value for _, value in options}:
            options.append((f"{chosen}  (not listed)", chosen))
        if getattr(select, "_mudmap_options", None) != options:
            select.set_options(options)
            select._mudmap_options = options  # type: ignore[attr-defined]
        if select.value != chosen:
            with select.prevent(Select.Changed):
                select.value = chosen

    def _show_backups(self, name: str | None) -> None:
        table = self.app.query_one("#backups-table", BackupsTable)
        rows: list[tuple[str, tuple[Any, ...]]] = []
        if name is not None:
            try:
                from mudmap_tui import backups
            except ImportError:
                table.set_rows([])
                return
            for info in backups.list_backups(self.app.db, name):
                rows.append((str(info.id), (str(info.id), local_time(info.taken_at),
                                            f"{len(info.files)} files")))
        table.set_rows(rows)

    def _show_audit(self, name: str | None) -> None:
        table = self.app.query_one("#audit-table", AuditTable)
        entries = audit.list(self.app.db, device=name, limit=AUDIT_ROWS) if name else []
        table.set_rows([
            (str(entry.id), (local_time(entry.at, AUDIT_TIME_FORMAT), entry.action,
                             entry.result, entry.detail, entry.actor))
            for entry in entries
        ])
