"""Data tables of the device tabs, with row marks and a text filter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from mudmap_tui.fleet_state import InterfaceRow, format_age, format_bytes, format_rate
from mudmap_tui.tui.bindings import bindings_for
from mudmap_tui.wgquick_view import config_cells

MARK = "*"


class RowsTable(DataTable[Any]):
    """A table whose rows have string keys; ``space`` marks rows and ``/`` filters them."""

    COLUMNS: tuple[str, ...] = ()
    # Fixed widths for columns whose cells are updated in place, which never re-measures.
    COLUMN_WIDTHS: dict[str, int] = {}

    def __init__(self, **options: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **options)
        self.marked: set[str] = set()
        self.filter_text = ""
        self._rows: list[tuple[str, tuple[Any, ...]]] = []
        self._renamed: dict[str, str] = {}

    def on_mount(self) -> None:
        self.add_column(" ", key="_mark", width=1)
        for title in self.COLUMNS:
            self.add_column(title, key=title, width=self.COLUMN_WIDTHS.get(title))

    def set_rows(self, rows: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """Replace every row, keeping marks, the filter and the cursor's row key.

        When the same rows come back (the common refresh, where only counters moved),
        only the changed cells are updated: rebuilding makes the table measure every
        cell again, which takes about a second for 5,000 rows.
        """
        new_rows = [(key, tuple(_as_text(cell) for cell in cells)) for key, cells in rows]
        old_rows = self._rows
        self._rows = new_rows
        self.marked &= {key for key, _ in new_rows}
        if [key for key, _ in old_rows] == [key for key, _ in new_rows] and self.row_count:
            self._update_changed(old_rows, new_rows)
        else:
            self._render_rows()

    def _update_changed(self, old_rows: list[tuple[str, tuple[Any, ...]]],
                        new_rows: list[tuple[str, tuple[Any, ...]]]) -> None:
        displayed = {str(key.value) for key in self.rows}
        for (key, old_cells), (_, new_cells) in zip(old_rows, new_rows, strict=True):
            if key not in displayed:
                continue
            for title, old, new in zip(self.COLUMNS, old_cells, new_cells, strict=True):
                if old != new:
                    self.update_cell(key, title, new,
                                     update_width=title not in self.COLUMN_WIDTHS)

    def follow_rename(self, old: str, new: str) -> None:
        """Keep the cursor on row ``old`` once the rows come back with it named ``new``."""
        self._renamed[old] = new

    def _render_rows(self) -> None:
        current = self.selected_key
        keys = {key for key, _ in self._rows}
        if current is not None and current not in keys and current in self._renamed:
            current = self._renamed.pop(current)
        self.clear()
        for key, cells in self._rows:
            if self._matches(cells):
                self.add_row(MARK if key in self.marked else " ", *cells, key=key)
        if current is not None:
            self._move_to(current)

    def _move_to(self, key: str) -> None:
        try:
            self.move_cursor(row=self.get_row_index(key))
        except Exception:  # the row is filtered out or gone
            return

    def _matches(self, cells: Sequence[Any]) -> bool:
        if not self.filter_text:
            return True
        needle = self.filter_text.lower()
        return any(needle in str(cell).lower() for cell in cells)

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        self._render_rows()

    @property
    def hidden_count(self) -> int:
        return sum(1 for _, cells in self._rows if not self._matches(cells))

    @property
    def hidden_marked(self) -> int:
        return sum(1 for key, cells in self._rows if key in self.marked
                   and not self._matches(cells))

    @property
    def selected_key(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:
            return None
        return None if key.value is None else str(key.value)

    def toggle_mark(self) -> None:
        key = self.selected_key
        if key is None:
            return
        if key in self.marked:
            self.marked.discard(key)
        else:
            self.marked.add(key)
        self.update_cell(key, "_mark", MARK if key in self.marked else " ")

    def cells_of(self, key: str) -> tuple[Any, ...] | None:
        for row_key, cells in self._rows:
            if row_key == key:
                return cells
        return None


def _as_text(cell: Any) -> Any:
    # DataTable parses a str cell as console markup on every measure and render. A Text
    # cell skips that, so it is faster and shows names containing "[" as they are.
    return Text(cell) if isinstance(cell, str) else cell


def _addresses_text(addresses: list[str]) -> str:
    return ", ".join(addresses) if addresses else "-"


class InterfacesTable(RowsTable):
    """The selected device's interfaces, with rates from counter deltas."""

    BINDINGS = bindings_for("interfaces")
    # Addresses and rates come early so that they stay visible in an 80-column terminal.
    COLUMNS = ("Name", "Kind", "State", "Addresses", "RX", "TX", "MTU", "MAC", "Master",
               "Config")
    # "1023.9 KiB/s" is the longest rate text.
    COLUMN_WIDTHS = {"RX": 12, "TX": 12}

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.interfaces: dict[str, InterfaceRow] = {}
        self.drift: dict[str, dict[str, Any]] = {}

    def show_interfaces(self, rows: Sequence[InterfaceRow],
                        drift: dict[str, dict[str, Any]] | None = None) -> None:
        """Show ``rows``; ``drift`` is ``changes.drift`` by name, None when unknown."""
        self.interfaces = {row.name: row for row in rows}
        self.drift = drift or {}
        self.set_rows([(row.name, (*interface_cells(row), config_word(drift, row.name)))
                       for row in rows])


CONFIG_WORDS = {"runtime-only": "runtime only", "persisted": "persisted",
                "drifted": "drifted"}


def config_word(drift: dict[str, dict[str, Any]] | None, name: str) -> str:
    entry = (drift or {}).get(name)
    return CONFIG_WORDS.get(str(entry.get("status")), "-") if entry else "-"


def interface_cells(row: InterfaceRow) -> tuple[Any, ...]:
    state = Text(row.state, style="bold" if row.state.startswith("up") else "dim")
    return (row.name, row.kind, state, _addresses_text(row.addresses),
            format_rate(row.rx_rate), format_rate(row.tx_rate),
            "-" if row.mtu is None else str(row.mtu), row.mac or "-", row.master or "-")


class WireGuardTable(RowsTable):
    """WireGuard interfaces and, under each, its peers."""

    BINDINGS = bindings_for("wireguard")
    COLUMNS = ("Interface", "Peer / public key", "Endpoint / port", "Allowed IPs",
               "Handshake", "Transfer")

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.details: dict[str, dict[str, Any]] = {}

    def show_wireguard(self, interfaces: Sequence[dict[str, Any]]) -> None:
        rows: list[tuple[str, Sequence[Any]]] = []
        self.details = {}
        for interface in interfaces:
            name = str(interface.get("name"))
            self.details[name] = {"interface": interface}
            port = interface.get("listen_port")
            rows.append((name, (name, _short_key(interface.get("public_key")),
                                f"port {port}" if port else "-", "", "", "")))
            for peer in interface.get("peers") or []:
                key = f"{name}/{peer.get('public_key')}"
                self.details[key] = {"interface": interface, "peer": peer}
                rows.append((key, peer_cells(peer)))
        self.set_rows(rows)


class WgQuickTable(RowsTable):
    """The device's wg-quick files in /etc/wireguard, running or not."""

    BINDINGS = bindings_for("wgquick")
    COLUMNS = ("Config", "Boot", "Interface", "Addresses", "Port", "Peers", "Notes")

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.configs: dict[str, dict[str, Any]] = {}

    def show_configs(self, configs: Sequence[dict[str, Any]]) -> None:
        self.configs = {str(config.get("name")): config for config in configs}
        self.set_rows([(name, config_cells(config)) for name, config in self.configs.items()])


def _short_key(key: Any) -> str:
    return f"{key[:10]}…" if isinstance(key, str) and len(key) > 11 else str(key or "-")


def peer_cells(peer: dict[str, Any]) -> tuple[Any, ...]:
    age = peer.get("latest_handshake_age")
    handshake = "never" if age is None else f"{format_age(age)} ago"
    transfer = (f"rx {format_bytes(peer.get('rx_bytes') or 0)}, "
                f"tx {format_bytes(peer.get('tx_bytes') or 0)}")
    name = peer.get("name") or _short_key(peer.get("public_key"))
    return ("  peer", name, peer.get("endpoint") or "-",
            ", ".join(peer.get("allowed_ips") or []) or "-", handshake, transfer)


class ServicesTable(RowsTable):
    """Service units: active state, sub-state, unit file state and description."""

    BINDINGS = bindings_for("services")
    COLUMNS = ("Service", "Active", "Sub", "Unit file", "Description")

    def show_services(self, services: Sequence[dict[str, Any]]) -> None:
        self.set_rows([
            (str(s.get("name")), (s.get("name"), s.get("active_state") or "-",
                                  s.get("sub_state") or "-", s.get("unit_file_state") or "-",
                                  s.get("description") or ""))
            for s in services
        ])


class BackupsTable(RowsTable):
    """The selected device's configuration backups, newest first."""

    BINDINGS = bindings_for("backups")
    COLUMNS = ("Id", "Taken", "Note")


class AuditTable(RowsTable):
    """The audit log entries of the selected device, newest first."""

    # The actor is the same user on most rows, so it comes last, where 80 columns cut.
    COLUMNS = ("When", "Action", "Result", "Detail", "Actor")
