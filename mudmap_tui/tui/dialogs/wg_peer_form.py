"""Add a peer to a WireGuard interface, or change an existing peer's settings."""

from __future__ import annotations

import ipaddress
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from mudmap_tui import wg_plan
from mudmap_tui.errors import InvalidInput
from mudmap_tui.form_checks import Collector
from mudmap_tui.tui.dialogs.base import (
    WARNING_MARK,
    FieldsScroll,
    FormDialog,
    buttons,
    error_line,
    field_row,
)


class PeerFormScreen(FormDialog[dict[str, Any] | None]):
    """Return wg.peer.add params (wg.peer.update params when editing), or None on cancel.

    ``interface`` is the agent's interfaces.get or wg.get result for the WireGuard
    interface, with its addresses and peers. A new peer gets the next free address of each
    of the interface's subnets as its allowed IPs. When the dialog generated the client's
    key pair, the result also contains the client's private key under
    wg_plan.CLIENT_PRIVATE_KEY, which the caller removes before sending and puts only into
    the client config.
    """

    def __init__(
        self, device: str, interface: dict[str, Any], existing_peer: dict[str, Any] | None = None
    ) -> None:
        super().__init__()
        self.device = device
        self.view = wg_plan.interface_view(interface)
        self.existing = wg_plan.peer_view(existing_peer) if existing_peer else None
        self.key_pair: wg_plan.KeyPair | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = self._title()
            with FieldsScroll(id="fields"):
                yield from self._key_fields()
                yield from field_row("Allowed IPs", self._allowed_ips(), "allowed_ips")
                warning = Static("", id="overlap-warning", classes="field-warning", markup=False)
                warning.display = False
                yield warning
                yield from self._suggestion_hint()
                endpoint = Input(
                    self._existing("endpoint"),
                    placeholder="none: the client connects in",
                    compact=True,
                )
                yield from field_row("Endpoint", endpoint, "endpoint")
                keepalive = Input(
                    self._existing("persistent_keepalive"),
                    placeholder="0 (off), or 25 behind NAT",
                    compact=True,
                )
                yield from field_row("Keepalive (s)", keepalive, "persistent_keepalive")
                preshared = Input(
                    password=True, placeholder="optional; unchanged if empty", compact=True
                )
                yield from field_row("Preshared key", preshared, "preshared_key")
            yield from buttons("Save" if self.existing else "Add peer")

    def _title(self) -> str:
        if self.existing is not None:
            short = self.existing.public_key[:8]
            return f"Edit peer {short}… of {self.view.name} on {self.device}"
        return f"Add peer to {self.view.name} on {self.device}"

    def _existing(self, field: str) -> str:
        if self.existing is None:
            return ""
        value = getattr(self.existing, field)
        return str(value) if value else ""

    def _key_fields(self) -> ComposeResult:
        if self.existing is not None:
            yield Label(f"Public key: {self.existing.public_key}", markup=False)
            return
        key = Input(placeholder="the client's public key (wg pubkey)", compact=True)
        with Horizontal(classes="field-row", id="row-public_key"):
            yield Label("Public key", classes="field-label")
            key.id = "field-public_key"
            yield key
            yield Button("Generate", id="generate", compact=True)
        yield error_line("public_key")
        note = Static("", id="key-note", classes="field-hint", markup=False)
        note.display = False
        yield note

    def _allowed_ips(self) -> Input:
        if self.existing is not None:
            text = ", ".join(str(net) for net in self.existing.allowed_ips)
        else:
            text = ", ".join(wg_plan.suggest_allowed_ips(self.view))
        return Input(text, placeholder="such as 10.8.0.2/32", compact=True)

    def _suggestion_hint(self) -> ComposeResult:
        if self.existing is not None:
            return
        if not self.view.addresses:
            yield Static(
                f"{self.view.name} has no address, so no address can be suggested.",
                classes="field-hint", markup=False,
            )
        elif not wg_plan.suggest_allowed_ips(self.view):
            yield Static(
                f"Every address in {self.view.name}'s subnets is taken; type allowed IPs.",
                classes="field-hint", markup=False,
            )

    def on_mount(self) -> None:
        self._update_overlaps(self.value("allowed_ips"))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        # Textual also calls FormDialog's handler (submit and cancel) after this one, so
        # calling it here as well dismissed the dialog twice and popped the app's screen.
        if event.button.id == "generate":
            event.stop()
            self._generate()

    def _generate(self) -> None:
        self.key_pair = wg_plan.generate_key_pair()
        self.query_one("#field-public_key", Input).value = self.key_pair.public_key
        note = self.query_one("#key-note", Static)
        note.update(
            "Key pair generated. The private key goes only into the client config shown next."
        )
        note.display = True

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "field-allowed_ips":
            self._update_overlaps(event.value)
        elif event.input.id == "field-public_key" and self._typed_over_generated(event.value):
            # A typed key replaces the generated pair, whose private key is now useless.
            self.key_pair = None
            self.query_one("#key-note", Static).display = False

    def _typed_over_generated(self, text: str) -> bool:
        return self.key_pair is not None and text.strip() != self.key_pair.public_key

    def _update_overlaps(self, text: str) -> None:
        warning = self.query_one("#overlap-warning", Static)
        try:
            networks = [ipaddress.ip_network(net) for net in wg_plan.parse_allowed_ips(text)]
        except InvalidInput:
            # The error itself shows on submit; no overlap can be judged meanwhile.
            networks = []
        exclude = self.existing.public_key if self.existing else None
        overlaps = wg_plan.find_overlaps(networks, self.view.peers, exclude)
        lines = [f"{WARNING_MARK} warning: {overlap.describe()}" for overlap in overlaps]
        warning.update("\n".join(lines))
        warning.display = bool(lines)

    def collect(self) -> dict[str, Any] | None:
        collector = Collector()
        public_key = self._public_key(collector)
        allowed = collector.check(
            "allowed_ips", lambda: wg_plan.parse_allowed_ips(self.value("allowed_ips"))
        )
        endpoint = collector.check(
            "endpoint", lambda: wg_plan.parse_endpoint(self.value("endpoint"))
        )
        keepalive = collector.check(
            "persistent_keepalive",
            lambda: wg_plan.parse_keepalive(self.value("persistent_keepalive")),
        )
        preshared = collector.check(
            "preshared_key", lambda: wg_plan.parse_preshared_key(self.value("preshared_key"))
        )
        collector.raise_if_any()
        assert public_key is not None and allowed is not None
        peer = wg_plan.PeerInput(public_key, allowed, endpoint, keepalive or 0, preshared)
        if self.existing is not None:
            return wg_plan.peer_update_params(self.view.name, self.existing, peer)
        params = wg_plan.peer_add_params(self.view.name, peer)
        if self.key_pair is not None and self.key_pair.public_key == public_key:
            params[wg_plan.CLIENT_PRIVATE_KEY] = self.key_pair.private_key
        return params

    def _public_key(self, collector: Collector) -> str | None:
        if self.existing is not None:
            return self.existing.public_key
        key = collector.check(
            "public_key", lambda: wg_plan.parse_public_key(self.value("public_key"))
        )
        if key is None:
            return None
        if key == self.view.public_key:
            collector.add("public_key", "invalid public key: it is this interface's own key")
        elif any(peer.public_key == key for peer in self.view.peers):
            collector.add(
                "public_key", f"invalid public key: {self.view.name} already has this peer; edit it"
            )
        return key
