"""Create an interface of one kind, or edit an interface's name, MTU, state and addresses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Select, Static

from agent import validate
from mudmap_tui.form_checks import FieldErrors
from mudmap_tui.interface_params import (
    CREATABLE_KINDS,
    KIND_FORM_FIELDS,
    create_params,
    current_addresses,
    update_params,
)
from mudmap_tui.tui.dialogs.base import (
    FieldsScroll,
    FormDialog,
    MarkedCheckbox,
    buttons,
    field_row,
)

COMMON_FIELDS = ("name", "mtu", "state", "addresses")
STATE_OPTIONS = [("up", "up"), ("down", "down")]
VLAN_PROTOCOL_OPTIONS = [("802.1Q", "802.1Q"), ("802.1ad (QinQ)", "802.1ad")]
LABELS = {
    "stp": "Spanning tree",
    "mode": "Mode",
    "miimon": "MII monitor (ms)",
    "parent": "Parent",
    "id": "VLAN id",
    "protocol": "Protocol",
    "vni": "VNI",
    "remote": "Remote address",
    "port": "UDP port",
    "peer": "Peer name",
    "listen_port": "Listen port",
}
PLACEHOLDERS = {
    "miimon": "100",
    "id": "1 to 4094",
    "vni": "0 to 16777215",
    "remote": "unicast peer, such as 192.0.2.20",
    "port": "4789",
    "peer": "the other end, such as veth1",
}
# Defaults filled in as real values, so what the form shows is what the interface gets.
DEFAULTS = {"listen_port": "51820"}


def link_names(links: Any) -> list[str]:
    """Return the interface names in an interfaces.list result (or its list of interfaces)."""
    if isinstance(links, Mapping):
        links = links.get("interfaces") or []
    return [str(link["name"]) for link in links if isinstance(link, Mapping) and link.get("name")]


def parent_names(links: Any) -> list[str]:
    """Return the links that can carry a macvlan, vlan or vxlan: all but the loopback."""
    if isinstance(links, Mapping):
        links = links.get("interfaces") or []
    loopbacks = {
        str(link.get("name"))
        for link in links
        if isinstance(link, Mapping) and link.get("kind") == "loopback"
    }
    return [name for name in link_names(links) if name != "lo" and name not in loopbacks]


def describe_settings(settings: Mapping[str, Any]) -> str:
    """Describe kind settings in one line; nested values such as WireGuard peers are left out."""
    parts = []
    for key, value in settings.items():
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            parts.append(f"{key} {', '.join(value) or 'none'}")
        elif isinstance(value, (str, int, float, bool)):
            parts.append(f"{key} {value}")
    return "; ".join(parts)


class InterfaceFormScreen(FormDialog[dict[str, Any] | None]):
    """Return interfaces.create params (or interfaces.update params when editing), or None.

    Create shows only the chosen kind's fields; without ``kind`` a kind picker comes first.
    Addresses, and for WireGuard the MTU and state, come back under
    interface_params.AFTER_KEY as the follow-up calls to make after the main one.
    """

    def __init__(
        self,
        device: str,
        links: list[dict[str, Any]],
        existing: dict[str, Any] | None = None,
        kind: str | None = None,
        focus: str | None = None,
    ) -> None:
        super().__init__()
        self.device = device
        self.parents = parent_names(links)
        self.focus_field = focus
        if existing is not None and isinstance(existing.get("interface"), Mapping):
            existing = existing["interface"]
        self.existing = existing
        self.kind = kind or (str(existing["kind"]) if existing else None)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = self._title()
            with FieldsScroll(id="fields"):
                if self.existing is not None:
                    yield from self._edit_fields()
                else:
                    yield from self._create_fields()
            yield from buttons("Save" if self.existing else "Create")

    def on_mount(self) -> None:
        if self.focus_field is not None:
            self.query_one(f"#field-{self.focus_field}").focus()

    def _title(self) -> str:
        if self.existing is not None:
            return f"Edit {self.existing['kind']} {self.existing['name']} on {self.device}"
        return f"New {self.kind or ''} interface on {self.device}".replace("  ", " ")

    def _edit_fields(self) -> ComposeResult:
        existing = self.existing or {}
        yield from self._common_fields(existing)
        settings = existing.get(existing.get("kind", ""))
        text = describe_settings(settings) if isinstance(settings, Mapping) else ""
        if text:
            yield Static(
                f"Kind settings (fixed after creation): {text}", classes="field-hint", markup=False
            )

    def _create_fields(self) -> ComposeResult:
        if self.kind is None:
            kinds = Select([(kind, kind) for kind in CREATABLE_KINDS], prompt="choose a kind")
            yield from field_row("Kind", kinds, "kind")
        yield from field_row("Name", Input(placeholder="such as br0", compact=True), "name")
        for kind in CREATABLE_KINDS:
            if self.kind is not None and kind != self.kind:
                continue
            group = Vertical(id=f"kind-{kind}", classes="kind-fields")
            group.display = kind == self.kind
            with group:
                for field in KIND_FORM_FIELDS[kind]:
                    yield from field_row(
                        LABELS[field], self._kind_control(kind, field), f"{kind}-{field}"
                    )
        yield from self._common_fields({})

    def _common_fields(self, existing: Mapping[str, Any]) -> ComposeResult:
        if existing:
            yield from field_row("Name", Input(str(existing["name"]), compact=True), "name")
        mtu = str(existing["mtu"]) if existing.get("mtu") else ""
        yield from field_row("MTU", Input(mtu, placeholder="kernel default", compact=True), "mtu")
        state = existing.get("admin_state")
        yield from field_row(
            "State",
            Select(
                STATE_OPTIONS,
                prompt="leave as is" if existing else "down (default)",
                value=state if state in ("up", "down") else Select.NULL,
                compact=True,
            ),
            "state",
        )
        addresses = ", ".join(current_addresses(existing)) if existing else ""
        field = Input(addresses, placeholder="192.0.2.1/24, 2001:db8::1/64", compact=True)
        yield from field_row("Addresses", field, "addresses")

    def _kind_control(self, kind: str, field: str) -> Widget:
        if field == "stp":
            return MarkedCheckbox("enable STP", compact=True)
        if field == "parent":
            prompt = "none" if kind == "vxlan" else "choose a parent link"
            return Select([(name, name) for name in self.parents], prompt=prompt, compact=True)
        if field == "mode" and kind == "bond":
            modes = [(mode, mode) for mode in validate.BOND_MODES]
            return Select(modes, prompt="balance-rr (kernel default)", compact=True)
        if field == "mode":
            modes = [(mode, mode) for mode in validate.MACVLAN_MODES]
            return Select(modes, value="bridge", allow_blank=False, compact=True)
        if field == "protocol":
            return Select(VLAN_PROTOCOL_OPTIONS, value="802.1Q", allow_blank=False, compact=True)
        return Input(DEFAULTS.get(field, ""), placeholder=PLACEHOLDERS.get(field, ""), compact=True)

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id != "field-kind":
            return
        self.kind = event.value if isinstance(event.value, str) else None
        for kind in CREATABLE_KINDS:
            self.query_one(f"#kind-{kind}").display = kind == self.kind
        if self.kind is not None:
            # The "missing kind" error of an earlier submit no longer applies.
            error = self.query_one("#error-kind", Static)
            error.update("")
            error.display = False

    def _values(self, fields: tuple[str, ...], prefix: str = "") -> dict[str, Any]:
        values = {}
        for field in fields:
            widget = self.query_one(f"#field-{prefix}{field}")
            if isinstance(widget, Select):
                values[field] = None if widget.value is Select.NULL else widget.value
            elif isinstance(widget, (Input, Checkbox)):
                values[field] = widget.value
        return values

    def collect(self) -> dict[str, Any] | None:
        values = self._values(COMMON_FIELDS)
        if self.existing is not None:
            return update_params(self.existing, values)
        if self.kind is None:
            raise FieldErrors({"kind": "missing kind: choose the kind of interface to create"})
        kind = self.kind
        values.update(self._values(KIND_FORM_FIELDS[kind], f"{kind}-"))
        try:
            return create_params(kind, values)
        except FieldErrors as error:
            fields = KIND_FORM_FIELDS[kind]
            raise FieldErrors(
                {
                    (f"{kind}-{key}" if key in fields else key): message
                    for key, message in error.errors.items()
                }
            ) from None
