"""Handlers of the device, interface, WireGuard, service, backup and file actions.

Each handler opens a dialog, then runs the change in a worker that posts ActionFinished;
the worker never touches widgets and never lets an exception end the app. Interface and
WireGuard changes are guarded: a worker plans them, a dialog shows the device's diff, and
only then are they applied under the rollback guard and confirmed over a new connection.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mudmap_tui import ssh_command
from mudmap_tui.changes import (
    DEFAULT_TIMEOUT,
    ChangeConflict,
    ChangeError,
    ChangeRunner,
    Plan,
    outcome_line,
)
from mudmap_tui.interface_params import AFTER_KEY
from mudmap_tui.store import audit
from mudmap_tui.store.devices import DeviceStore
from mudmap_tui.store.models import Device
from mudmap_tui.tui.dialogs_bridge import dialog_class
from mudmap_tui.tui.messages import (
    ActionFinished,
    ShellDeviceFinished,
    ShellOutputReceived,
    ShellRunFinished,
)
from mudmap_tui.tui.widgets.device_tree import DeviceTree
from mudmap_tui.tui.widgets.shell import ShellPane
from mudmap_tui.tui.widgets.tables import (
    BackupsTable,
    InterfacesTable,
    ServicesTable,
    WgQuickTable,
    WireGuardTable,
)
from mudmap_tui.wg_plan import CLIENT_PRIVATE_KEY
from mudmap_tui.wgquick_view import config_text

if TYPE_CHECKING:
    from mudmap_tui.tui.app import MudmapApp

log = logging.getLogger("mudmap.tui.actions")

CHANGE_TIMEOUT = 60.0
POWER_TIMEOUT = 30.0


class DeviceHandlers:
    """One ``do_<area>_<verb>`` method per registered device action of the app."""

    def __init__(self, app: MudmapApp) -> None:
        self.app = app

    # Helpers.

    def open_dialog(self, module: str, name: str, args: tuple[Any, ...],
                    then: Callable[[Any], Any]) -> None:
        """Show a dialog and pass its result to ``then``; say so when it does not exist."""
        dialog = dialog_class(module, name)
        if dialog is None:
            self.app.notify(f"the {module.replace('_', ' ')} dialog is not available yet",
                        severity="warning")
            return
        self.app.push_screen(dialog(*args), then)

    def need_device(self) -> str | None:
        name = self.app.selected_device
        if name is None:
            self.app.notify("select a device in the tree first", severity="warning")
        return name

    def run_job(self, device: str, title: str, work: Callable[[], Awaitable[Any]],
                *, audit_action: str | None = None, params: dict[str, Any] | None = None,
                refresh_tab: str | None = None) -> None:
        """Run ``work`` in a worker, audit it when it changes the device, report the end."""

        async def job() -> None:
            error: BaseException | None = None
            try:
                await work()
            except Exception as caught:  # reported to the user; the app keeps running
                error = caught
                log.warning("%s: %s failed: %s", device, title, caught,
                            extra={"device": device, "operation": title})
            if audit_action is not None:
                audit.record(self.app.db, audit_action, device=device, params=params or {},
                             result="ok" if error is None else "error",
                             detail="" if error is None else str(error))
            self.app.post_message(ActionFinished(device, title, error, refresh_tab))

        self.app.notify(f"{device}: {title}…", timeout=3)
        self.app.run_worker(job(), group="actions", exit_on_error=False)

    def call_agent(self, device: str, title: str, method: str,
                   params: dict[str, Any], refresh_tab: str | None) -> None:
        async def work() -> None:
            await self.app.reader.call(device, method, params, timeout=CHANGE_TIMEOUT)

        self.run_job(device, title, work, audit_action=method, params=params,
                     refresh_tab=refresh_tab)

    def guarded_change(self, device: str, title: str, ops: list[dict[str, Any]],
                       refresh_tab: str) -> None:
        """Plan ``ops`` in a worker, show the diff, and apply and confirm them if accepted.

        The diff dialog can persist the change and set its rollback timeout.
        """
        runner = ChangeRunner(self.app.pool, db=self.app.db)

        async def plan_job() -> None:
            try:
                plan = await runner.plan(device, ops)
            except Exception as error:  # reported to the user; the app keeps running
                log.warning("%s: planning %s failed: %s", device, title, error,
                            extra={"device": device, "operation": title})
                self.app.post_message(ActionFinished(device, title, error))
                return
            if not plan.diff:
                self.app.notify(f"{device}: {title}: nothing to change")
                return
            danger, typed = await self._session_risk(device, ops)

            async def replan(persist: bool) -> Plan:
                return await runner.plan(device, ops, persist=persist)

            def chosen(choice: Any) -> None:
                if choice is not None:
                    self.apply_plan(runner, choice.plan, title, refresh_tab, choice.timeout)

            self.open_dialog("change_plan", "ChangePlanScreen",
                             (f"Apply to {device}: {title}?", plan, replan, DEFAULT_TIMEOUT,
                              device, danger, typed), chosen)

        self.app.notify(f"{device}: planning {title}…", timeout=3)
        self.app.run_worker(plan_job(), group="actions", exit_on_error=False)

    async def _session_risk(self, device: str,
                            ops: list[dict[str, Any]]) -> tuple[str | None, str | None]:
        """Return why ``ops`` can cut the app's session, and the name to type, or Nones.

        The CLI rejects such a change without --force; the app requires the name instead.
        """
        from mudmap_tui import lockout
        from mudmap_tui.device_actions import DeviceLink

        try:
            host = self.app.pool.device(device).host
            path = await lockout.session_path(DeviceLink(self.app.pool, device), host)
        except Exception as error:  # the guard still rolls a cut-off change back
            log.info("%s: reading the session's path failed: %s", device, error,
                     extra={"device": device, "operation": "lockout check"})
            return None, None
        risks = lockout.ops_risks(path, ops)
        if not risks:
            return None, None
        return lockout.risk_text(device, path, risks), next(iter(risks))

    def apply_plan(self, runner: ChangeRunner, plan: Plan, title: str,
                   refresh_tab: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Apply an accepted plan under the guard in a worker and report how it ended."""
        device = plan.device
        if plan.persist:
            title += " (persisted)"

        async def apply_job() -> None:
            error: BaseException | None = None
            summary: str | None = None
            try:
                outcome = await runner.apply(plan, timeout=timeout)
            except ChangeConflict as conflict:
                error = await self._conflict(runner, plan, conflict)
            except Exception as caught:  # reported to the user; the app keeps running
                error = caught
            else:
                if outcome.status == "confirmed":
                    summary = outcome_line(outcome)
                else:
                    error = ChangeError(outcome_line(outcome))
            if error is not None:
                log.warning("%s: %s failed: %s", device, title, error,
                            extra={"device": device, "operation": title})
            self.app.post_message(ActionFinished(device, title, error, refresh_tab, summary))

        self.app.notify(f"{device}: applying {title}…", timeout=3)
        self.app.run_worker(apply_job(), group="actions", exit_on_error=False)

    async def _conflict(self, runner: ChangeRunner, plan: Plan,
                        conflict: ChangeConflict) -> ChangeError:
        """Describe a conflict with the diff the same operations have now."""
        try:
            text = (await runner.plan(plan.device, plan.ops)).text or "no change"
        except Exception as error:  # the conflict is still worth reporting
            text = f"(the new diff cannot be read: {error})"
        return ChangeError(f"{conflict}; nothing was applied. The diff is now:\n{text}")

    def on_action_finished(self, message: ActionFinished) -> None:
        if message.error is None:
            self.app.notify(f"{message.device}: {message.title}: {message.summary or 'done'}",
                            title="Done")
        else:
            reason = getattr(message.error, "message", None) or str(message.error)
            self.app.notify(f"{message.device}: {message.title} failed: {reason}",
                        title="Failed", severity="error", timeout=10)
        if message.refresh_tab is not None and message.device == self.app.selected_device:
            self.app.inflight.discard((message.device, self.app.active_tab))
            self.app.refresh_selected()
        self.app.show_selected()

    def bulk_names(self) -> tuple[list[str], int]:
        """Return the marked devices (or the selected one) and how many the filter hides."""
        tree = self.app.query_one("#devices", DeviceTree)
        if tree.marked:
            return sorted(tree.marked), tree.hidden_marked
        name = self.app.selected_device
        return ([name] if name else []), 0

    # Shell messages, posted by the shell controller's fleet callbacks.

    def on_shell_output_received(self, message: ShellOutputReceived) -> None:
        style = "italic" if message.stream == "stderr" else ""
        from rich.text import Text

        self.app.query_one("#shell-pane", ShellPane).write(Text(message.text, style=style))

    def on_shell_device_finished(self, message: ShellDeviceFinished) -> None:
        from rich.text import Text

        self.app.query_one("#shell-pane", ShellPane).write(
            Text(message.summary, style="bold" if message.ok else "bold reverse"))

    def on_shell_run_finished(self, message: ShellRunFinished) -> None:
        self.app.shell.run = None
        self.app.query_one("#shell-pane", ShellPane).write(f"-- {message.summary}")
        self.app.shell.target_changed()

    def do_shell_run(self) -> None:
        self.app.shell.submit()

    def do_shell_cancel(self) -> None:
        self.app.shell.cancel()

    def do_shell_search(self) -> None:
        self.app.shell.search()

    def do_shell_target(self) -> None:
        self.app.shell.cycle_target()

    def do_shell_keep_history(self) -> None:
        self.app.shell.toggle_history()

    def do_shell_history_previous(self) -> None:
        self.app.shell.history_previous()

    def do_shell_history_next(self) -> None:
        self.app.shell.history_next()

    # Devices.

    def do_device_mark(self) -> None:
        self.app.query_one("#devices", DeviceTree).toggle_mark()
        self.app.shell.target_changed()
        self.app.update_age_line()

    def _store(self) -> DeviceStore:
        return DeviceStore(self.app.db)

    def do_device_add(self) -> None:
        names = sorted(self.app.inventory.devices) if self.app.inventory else []

        def added(device: Device | None) -> None:
            if device is None:
                return
            try:
                self._store().add(device)
            except Exception as error:
                self.app.notify(f"{device.name}: not added: {error}", severity="error")
                return
            self.app.reload_inventory()
            self.app.query_one("#devices", DeviceTree).select_device(device.name)
            self.app.notify(f"{device.name}: added")

        self.open_dialog("device_form", "DeviceFormScreen", (None, names), added)

    def do_device_edit(self) -> None:
        name = self.need_device()
        if name is None or self.app.inventory is None:
            return
        existing = self.app.inventory.devices[name]
        others = [n for n in self.app.inventory.devices if n != name]

        def edited(device: Device | None) -> None:
            if device is None:
                return
            changes = {field: getattr(device, field) if getattr(device, field) is not None
                       else "" for field in ("name", "host", "port", "user", "identity_file",
                                             "jump", "notes")}
            try:
                self._store().update(name, changes,
                                     add_groups=[g for g in device.groups
                                                 if g not in existing.groups],
                                     remove_groups=[g for g in existing.groups
                                                    if g not in device.groups])
            except Exception as error:
                self.app.notify(f"{name}: not changed: {error}", severity="error")
                return
            self.app.reload_inventory()
            self.app.notify(f"{device.name}: saved")

        self.open_dialog("device_form", "DeviceFormScreen", (existing, others), edited)

    def do_device_remove(self) -> None:
        name = self.need_device()
        if name is None:
            return

        def confirmed(answer: bool | None) -> None:
            if not answer:
                return
            try:
                self._store().remove(name)
            except Exception as error:
                self.app.notify(f"{name}: not removed: {error}", severity="error")
                return
            self.app.reload_inventory()
            self.app.notify(f"{name}: removed from the inventory")

        self.open_dialog("confirm", "ConfirmScreen",
                         (f"Remove {name}?", f"Remove {name} from the inventory. The device "
                          "itself is not changed."), confirmed)

    def do_device_import(self) -> None:
        def chosen(devices: list[Device] | None) -> None:
            if not devices:
                return
            added, failed = 0, []
            for device in devices:
                try:
                    self._store().add(device)
                    added += 1
                except Exception as error:
                    failed.append(f"{device.name}: {error}")
            self.app.reload_inventory()
            self.app.notify(f"imported {added} devices" + (f"; {len(failed)} failed: "
                                                       + "; ".join(failed[:3]) if failed else ""),
                        severity="warning" if failed else "information")

        self.open_dialog("import_ssh", "ImportScreen", (Path("~/.ssh/config").expanduser(),),
                         chosen)

    def do_device_onboard(self) -> None:
        name = self.need_device()
        if name is None:
            return

        def requested(request: Any) -> None:
            if request is not None:
                self.run_job(name, "onboard", lambda: self._onboard(name, request),
                             audit_action="device.onboard", params={
                                 "account": getattr(request, "account", "?")})

        self.open_dialog("onboard", "OnboardScreen", (name,), requested)

    async def _onboard(self, name: str, request: Any) -> None:
        from mudmap_tui import onboarding
        from mudmap_tui.ssh.hostkeys import HostKeyPolicy

        key = onboarding.install_key(getattr(request, "key_file", None))
        target = self.app.pool.target(name)
        tunnel = await self.app.pool._tunnel_for(name, target)
        result = await onboarding.onboard(target, request.account, request.credentials(), key,
                                          hostkeys=self.app.pool.hostkeys,
                                          policy=HostKeyPolicy.STRICT, tunnel=tunnel)
        self._store().update(name, {"user": request.account,
                                    "identity_file": result.identity_file})
        self.app.call_later(self.app.reload_inventory)

    def do_device_accept_host_key(self) -> None:
        name = self.need_device()
        if name is None:
            return
        key = self.app.fleet.status(name).host_key
        if key is None:
            self.app.notify(f"{name}: no unknown host key to accept; its state is "
                        f"{self.app.fleet.status(name).state.word}")
            return

        def answered(accept: bool | None) -> None:
            if not accept:
                return
            self.app.pool.accept_host_key(name, key["public_key"])
            audit.record(self.app.db, "hostkey.accept", device=name,
                         params={"fingerprint": key["fingerprint"]})
            self.app.fleet.status(name).host_key = None
            self.app.notify(f"{name}: host key {key['fingerprint']} accepted")
            self.app.do_app_refresh()

        key_type = key["public_key"].split()[0]
        self.open_dialog("hostkey", "HostKeyScreen",
                         (name, key["host"], key_type, key["fingerprint"]), answered)

    def do_device_reconnect(self) -> None:
        name = self.need_device()
        if name is not None:
            self.run_job(name, "reconnect", lambda: self.app.reader.reconnect(name),
                         refresh_tab=self.app.active_tab)

    def do_device_ssh(self) -> None:
        name = self.need_device()
        if name is None or self.app.inventory is None:
            return
        argv = ssh_command.ssh_argv(name, self.app.inventory.devices, self.app.pool.hostkeys)
        log.info("%s: opening %s", name, " ".join(argv),
                 extra={"device": name, "operation": "ssh"})
        try:
            with self.app.suspend():
                status = subprocess.run(argv, check=False).returncode
        except Exception as error:  # no terminal to suspend to, or no ssh binary
            self.app.notify(f"{name}: cannot open ssh: {error}", severity="error")
            return
        if status not in (0, 130):
            self.app.notify(f"{name}: ssh exited with status {status}", severity="warning")

    def _power(self, action: str) -> None:
        names, hidden = (self.bulk_names() if action == "reboot"
                         else ([self.app.selected_device] if self.app.selected_device else [], 0))
        if not names:
            self.app.notify("select a device in the tree first", severity="warning")
            return
        verb = "Reboot" if action == "reboot" else "Power off"
        if len(names) == 1:
            typed = names[0]
            body = f"{verb} {names[0]} now. Type the device name to confirm."
        else:
            typed = f"{len(names)} devices"
            hidden_text = f", {hidden} of them hidden by the current filter" if hidden else ""
            body = (f"{verb} {len(names)} marked devices{hidden_text}: "
                    f"{', '.join(names[:20])}. Type '{typed}' to confirm.")

        def confirmed(answer: bool | None) -> None:
            if answer:
                for name in names:
                    self.call_agent(name, action, f"system.{action}", {}, refresh_tab=None)

        self.open_dialog("confirm", "ConfirmScreen", (f"{verb} {typed}?", body, typed),
                         confirmed)

    def do_device_reboot(self) -> None:
        self._power("reboot")

    def do_device_shutdown(self) -> None:
        self._power("shutdown")

    def _transfer(self, upload: bool) -> None:
        name = self.need_device()
        if name is None:
            return

        def chosen(paths: tuple[str, str] | None) -> None:
            if paths is None:
                return
            local, remote = paths

            async def work() -> None:
                from mudmap_tui import file_transfer

                connection = await self.app.pool.connection(name)
                if upload:
                    await file_transfer.put(connection, Path(local).expanduser(), remote)
                else:
                    await file_transfer.get(connection, remote, Path(local).expanduser())

            title = f"upload {local} to {remote}" if upload else f"download {remote} to {local}"
            self.run_job(name, title, work, audit_action="file.put" if upload else "file.get",
                         params={"local": local, "remote": remote})

        self.open_dialog("file_transfer", "FileTransferScreen", (name, upload), chosen)

    def do_device_upload(self) -> None:
        self._transfer(upload=True)

    def do_device_download(self) -> None:
        self._transfer(upload=False)

    # Backups.

    def do_backup_take(self) -> None:
        """Back up the selected device: the Backups tab's own b, which ignores tree marks."""
        name = self.need_device()
        if name is not None:
            self._backup(name)

    def do_backup_now(self) -> None:
        names, hidden = self.bulk_names()
        if not names:
            self.app.notify("select a device in the tree first", severity="warning")
            return
        if len(names) == 1:
            self._backup(names[0])
            return
        hidden_text = f" ({hidden} hidden by the current filter)" if hidden else ""

        def confirmed(answer: bool | None) -> None:
            if answer:
                for name in names:
                    self._backup(name)

        self.open_dialog("confirm", "ConfirmScreen",
                         (f"Back up {len(names)} devices?",
                          f"Take a configuration backup of {len(names)} marked devices"
                          f"{hidden_text}: {', '.join(names[:20])}."), confirmed)

    def _backup(self, name: str) -> None:
        async def work() -> None:
            from mudmap_tui import backups

            connection = await self.app.pool.connection(name)
            collected = await backups.collect(connection)
            backups.store_backup(self.app.db, name, collected)

        self.run_job(name, "backup", work, audit_action="backup.now", refresh_tab="backups")

    def do_backup_mark(self) -> None:
        self.app.query_one("#backups-table", BackupsTable).toggle_mark()

    def do_backup_diff(self) -> None:
        table = self.app.query_one("#backups-table", BackupsTable)
        chosen = sorted(table.marked, key=int)
        if len(chosen) != 2:
            self.app.notify(f"mark exactly two backups with space to compare them "
                        f"({len(chosen)} marked)", severity="warning")
            return
        try:
            from mudmap_tui import backups

            old, new = (backups.get_backup(self.app.db, int(key)) for key in chosen)
            lines = backups.diff_backups(self.app.db, old, new)
        except Exception as error:
            self.app.notify(f"cannot compare backups {chosen[0]} and {chosen[1]}: {error}",
                        severity="error")
            return
        text = "\n".join(lines) or "The two backups are identical."
        self.open_dialog("backup_diff", "BackupDiffScreen",
                         (f"Backup {old.id} → {new.id} ({old.device})", text), lambda _: None)

    # Interfaces.

    def _interface(self) -> tuple[str, dict[str, Any]] | None:
        name = self.need_device()
        if name is None:
            return None
        table = self.app.query_one("#interfaces-table", InterfacesTable)
        key = table.selected_key
        if key is None or key not in table.interfaces:
            self.app.notify("select an interface in the table first", severity="warning")
            return None
        return name, table.interfaces[key].raw

    def _links(self, name: str) -> list[dict[str, Any]]:
        return [row.raw for row in self.app.fleet.status(name).interfaces]

    def do_interface_mark(self) -> None:
        self.app.query_one("#interfaces-table", InterfacesTable).toggle_mark()

    def do_interface_create(self) -> None:
        name = self.need_device()
        if name is None:
            return

        def created(params: dict[str, Any] | None) -> None:
            if params:
                self.guarded_change(name, f"create {params.get('kind', '')} "
                                    f"{params.get('name')}",
                                    form_ops(params, "interfaces.create"), "interfaces")

        self.open_dialog("interface_form", "InterfaceFormScreen",
                         (name, self._links(name), None, None), created)

    def do_interface_edit(self, focus: str | None = None) -> None:
        chosen = self._interface()
        if chosen is None:
            return
        name, interface = chosen

        def edited(params: dict[str, Any] | None) -> None:
            if not params:
                return
            changes = {key: value for key, value in params.items() if key != AFTER_KEY}
            method = "interfaces.update" if set(changes) - {"name"} else None
            if method is None and AFTER_KEY not in params:
                self.app.notify(f"{name}: {interface['name']} unchanged")
                return
            if params.get("new_name"):
                self.app.query_one("#interfaces-table", InterfacesTable).follow_rename(
                    str(interface["name"]), str(params["new_name"]))
            self.guarded_change(name, f"update {interface['name']}", form_ops(params, method),
                                "interfaces")

        self.open_dialog("interface_form", "InterfaceFormScreen",
                         (name, self._links(name), interface, interface.get("kind"), focus),
                         edited)

    def do_interface_drift(self) -> None:
        chosen = self._interface()
        if chosen is None:
            return
        device, interface = chosen
        name = str(interface.get("name"))
        table = self.app.query_one("#interfaces-table", InterfacesTable)
        entry = table.drift.get(name)
        if entry is None:
            self.app.notify(f"drift of {name} on {device} is unknown: changes.drift failed "
                            "or the agent does not support it", severity="warning")
            return
        self.open_dialog("backup_diff", "BackupDiffScreen",
                         (f"Drift of {name} ({device})", drift_text(entry)), lambda _: None)

    def do_interface_mtu(self) -> None:
        self.do_interface_edit(focus="mtu")

    def do_interface_delete(self) -> None:
        chosen = self._interface()
        if chosen is None:
            return
        name, interface = chosen
        iface = interface["name"]

        # wireguard-go's links are tun devices; wg.delete also stops its process.
        method = "wg.delete" if interface.get("kind") == "wireguard" else "interfaces.delete"
        self.guarded_change(name, f"delete {iface}",
                            [{"method": method, "params": {"name": iface}}], "interfaces")

    def _set_state(self, state: str) -> None:
        chosen = self._interface()
        if chosen is not None:
            name, interface = chosen
            self.guarded_change(name, f"set {interface['name']} {state}", [
                {"method": "interfaces.update",
                 "params": {"name": interface["name"], "state": state}}], "interfaces")

    def do_interface_up(self) -> None:
        self._set_state("up")

    def do_interface_down(self) -> None:
        self._set_state("down")

    def do_interface_add_address(self) -> None:
        chosen = self._interface()
        if chosen is None:
            return
        name, interface = chosen

        def entered(address: str | None) -> None:
            if address:
                self.guarded_change(name, f"add {address} to {interface['name']}", [
                    {"method": "addresses.add",
                     "params": {"name": interface["name"], "address": address}}], "interfaces")

        self.open_dialog("address_form", "AddressFormScreen", (name, interface["name"]),
                         entered)

    def do_interface_remove_address(self) -> None:
        chosen = self._interface()
        if chosen is None:
            return
        name, interface = chosen
        current = [f"{a['address']}/{a['prefixlen']}" for a in interface.get("addresses") or []
                   if a.get("scope") != "link"]
        if not current:
            self.app.notify(f"{name}: {interface['name']} has no address to remove")
            return

        def entered(address: str | None) -> None:
            if not address:
                return
            if address not in current:
                self.app.notify(f"{address} is not on {interface['name']}; it has "
                            f"{', '.join(current)}", severity="warning")
                return
            self.guarded_change(name, f"remove {address} from {interface['name']}", [
                {"method": "addresses.remove",
                 "params": {"name": interface["name"], "address": address}}], "interfaces")

        if len(current) == 1:
            # The diff dialog of the guarded change asks before anything is removed.
            entered(current[0])
        else:
            self.open_dialog("address_form", "AddressFormScreen", (name, interface["name"]),
                             entered)

    # WireGuard.

    def _wg_selection(self) -> tuple[str, dict[str, Any]] | None:
        name = self.need_device()
        if name is None:
            return None
        table = self.app.query_one("#wireguard-table", WireGuardTable)
        key = table.selected_key
        if not table.details:
            self.app.notify(f"{name} has no WireGuard interface; create one in the Interfaces "
                            "tab with n and kind wireguard", severity="warning")
            return None
        if key is None or key not in table.details:
            self.app.notify("select a WireGuard interface or peer first", severity="warning")
            return None
        return name, table.details[key]

    def do_wireguard_add_peer(self) -> None:
        chosen = self._wg_selection()
        if chosen is None:
            return
        name, detail = chosen
        interface = detail["interface"]
        # wg.get carries no addresses, and the form needs them to suggest the next free one.
        rows = {row.name: row.raw for row in self.app.fleet.status(name).interfaces}
        listed = rows.get(str(interface.get("name")), {}).get("addresses") or []
        addresses = interface.get("addresses") or [
            f"{a['address']}/{a['prefixlen']}" for a in listed if a.get("scope") != "link"]
        self.open_dialog("wg_peer_form", "PeerFormScreen",
                         (name, {**interface, "addresses": addresses}, None),
                         lambda params: self._peer_saved(name, interface, params, "add"))

    def do_wireguard_edit_peer(self) -> None:
        chosen = self._wg_selection()
        if chosen is None or "peer" not in chosen[1]:
            self.app.notify("select a peer row first", severity="warning")
            return
        name, detail = chosen
        self.open_dialog("wg_peer_form", "PeerFormScreen",
                         (name, detail["interface"], detail["peer"]),
                         lambda params: self._peer_saved(name, detail["interface"], params,
                                                         "update"))

    def _peer_saved(self, name: str, interface: dict[str, Any],
                    params: dict[str, Any] | None, verb: str) -> None:
        if not params:
            return
        params = dict(params)
        # A private key the form generated for the client goes into the client config
        # preview only, never to the device or the audit log.
        client_key = params.pop(CLIENT_PRIVATE_KEY, None)
        params.setdefault("name", interface.get("name"))
        self.guarded_change(name, f"{verb} peer on {params['name']}",
                            [{"method": f"wg.peer.{verb}", "params": params}], "wireguard")
        if client_key:
            text = self._client_config(name, interface, params, client_key)
            self.open_dialog("client_config", "ClientConfigScreen", (text,), lambda _: None)

    def _client_config(self, name: str, interface: dict[str, Any], params: dict[str, Any],
                       private_key: str) -> str:
        from mudmap_tui import wg_client_config

        device = self.app.inventory.devices[name] if self.app.inventory else None
        rows = {row.name: row for row in self.app.fleet.status(name).interfaces}
        row = rows.get(str(interface.get("name")))
        networks = sorted({str(ipaddress.ip_interface(address).network)
                           for address in (row.addresses if row else [])})
        config = wg_client_config.ClientConfig(
            private_key=private_key, addresses=list(params.get("allowed_ips") or []),
            server_public_key=str(interface.get("public_key") or ""),
            endpoint_host=device.host if device else "",
            endpoint_port=int(interface.get("listen_port") or 51820),
            allowed_ips=networks or list(params.get("allowed_ips") or []))
        return wg_client_config.render(config)

    def do_wireguard_remove_peer(self) -> None:
        chosen = self._wg_selection()
        if chosen is None or "peer" not in chosen[1]:
            self.app.notify("select a peer row first", severity="warning")
            return
        name, detail = chosen
        wg_name = detail["interface"]["name"]
        key = detail["peer"]["public_key"]

        self.guarded_change(name, f"remove peer from {wg_name}", [
            {"method": "wg.peer.remove", "params": {"name": wg_name, "public_key": key}}],
            "wireguard")

    def do_wgquick_show(self) -> None:
        name = self.need_device()
        if name is None:
            return
        table = self.app.query_one("#wgquick-table", WgQuickTable)
        config = table.configs.get(table.selected_key or "")
        if config is None:
            self.app.notify("select a wg-quick config first", severity="warning")
            return
        self.open_dialog("text_view", "TextViewScreen",
                         (f"wg-quick config {config['name']} ({name})", config_text(config)),
                         lambda _: None)

    # Services.

    def do_service_mark(self) -> None:
        self.app.query_one("#services-table", ServicesTable).toggle_mark()

    def _service(self, verb: str) -> None:
        name = self.need_device()
        if name is None:
            return
        table = self.app.query_one("#services-table", ServicesTable)
        units = sorted(table.marked) if table.marked else (
            [table.selected_key] if table.selected_key else [])
        if not units:
            unsupported = self.app.fleet.status(name).extras.get("services.unsupported")
            if unsupported:
                self.app.notify(f"{name}: services are not available: {unsupported}",
                                severity="warning")
            else:
                self.app.notify("select a service in the table first", severity="warning")
            return
        if len(units) == 1:
            self.call_agent(name, f"{verb} {units[0]}", f"services.{verb}", {"name": units[0]},
                            "services")
            return
        hidden = table.hidden_marked
        hidden_text = f" ({hidden} hidden by the current filter)" if hidden else ""

        def confirmed(answer: bool | None) -> None:
            if answer:
                for unit in units:
                    self.call_agent(name, f"{verb} {unit}", f"services.{verb}", {"name": unit},
                                    "services")

        self.open_dialog("confirm", "ConfirmScreen",
                         (f"{verb.capitalize()} {len(units)} services?",
                          f"{verb.capitalize()} {len(units)} marked services on {name}"
                          f"{hidden_text}: {', '.join(units)}."), confirmed)

    def do_service_start(self) -> None:
        self._service("start")

    def do_service_stop(self) -> None:
        self._service("stop")

    def do_service_restart(self) -> None:
        self._service("restart")


def form_ops(params: dict[str, Any], method: str | None) -> list[dict[str, Any]]:
    """Turn an interface form's result into change operations: ``method`` with the params,
    then each follow-up call the form put under AFTER_KEY (such as addresses.replace)."""
    params = dict(params)
    after = params.pop(AFTER_KEY, None) or {}
    ops = [{"method": method, "params": params}] if method else []
    return ops + [{"method": step, "params": step_params} for step, step_params in after.items()]


def drift_text(entry: dict[str, Any]) -> str:
    """Describe one ``changes.drift`` entry as diff lines: persisted (-) against runtime (+)."""
    status = str(entry.get("status"))
    if status == "runtime-only":
        return f"{entry.get('name')} is runtime only: no persisted configuration."
    lines = [f"{entry.get('name')}: {status} ({entry.get('source') or 'no source'})"]
    for change in entry.get("diff") or []:
        lines.append(f"- {change.get('field')}: {json.dumps(change.get('persisted'))}")
        lines.append(f"+ {change.get('field')}: {json.dumps(change.get('runtime'))}")
    if len(lines) == 1:
        lines.append("Runtime matches the persisted configuration.")
    return "\n".join(lines)
