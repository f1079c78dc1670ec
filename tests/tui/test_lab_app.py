"""The app against the real lab: live interfaces, a form that creates one, a group run and
a reboot followed from offline back to online."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Input, Select

from mudmap_tui.fleet_state import DeviceState, DeviceStatus
from mudmap_tui.lab import Lab
from mudmap_tui.ssh.config import SshSettings
from mudmap_tui.ssh.hostkeys import HostKeyStore
from mudmap_tui.store import audit
from mudmap_tui.store.audit import AuditEntry
from mudmap_tui.tui.app import MudmapApp
from mudmap_tui.tui.widgets.device_tree import DeviceTree
from mudmap_tui.tui.widgets.shell import ShellPane
from mudmap_tui.tui.widgets.tables import InterfacesTable, WireGuardTable

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]


async def wait_until(pilot: Pilot[None], condition: Callable[[], bool], what: str,
                     polls: int = 300) -> None:
    """Let the app run until ``condition`` holds; fail naming ``what`` after ``polls`` tries."""
    for _ in range(polls):
        if condition():
            return
        await pilot.pause(0.2)
    raise AssertionError(f"gave up waiting for {what}")


def lab_app(lab: Lab, tmp_path: Path) -> MudmapApp:
    return MudmapApp(
        lab.inventory_path, refresh_interval=1.0, sweep=False, call_timeout=8.0,
        hostkeys=HostKeyStore(tmp_path / "known_hosts", [lab.known_hosts]),
        ssh_settings=SshSettings(config_paths=[]), log_path=tmp_path / "mudmap.log",
    )


@pytest.fixture
async def running(lab: Lab, tmp_path: Path) -> AsyncIterator[tuple[MudmapApp, Pilot[None]]]:
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=(160, 50)) as pilot:
        yield app, pilot


def kernel_links(lab: Lab, device: str) -> set[str]:
    output = lab.run(device, ["ip", "-j", "link"]).stdout
    return {link["ifname"] for link in json.loads(output)}


async def select(pilot: Pilot[None], app: MudmapApp, device: str, tab: str) -> None:
    await pilot.pause()
    await wait_until(pilot, lambda: app.query_one("#devices", DeviceTree).select_device(device),
                     f"{device} in the tree")
    app.query_one("#tabs").active = tab  # type: ignore[attr-defined]
    await pilot.pause()


def table_names(app: MudmapApp) -> set[str]:
    return set(app.query_one("#interfaces-table", InterfacesTable).interfaces)


async def test_interfaces_tab_lists_lab_links(running: tuple[MudmapApp, Pilot[None]],
                                              lab: Lab) -> None:
    app, pilot = running
    await select(pilot, app, "lab2", "interfaces")
    await wait_until(pilot, lambda: bool(table_names(app)), "lab2's interface rows")
    assert table_names(app) == kernel_links(lab, "lab2")
    assert app.fleet.status("lab2").state is DeviceState.ONLINE
    eth0 = app.query_one("#interfaces-table", InterfacesTable).interfaces["eth0"]
    assert any(address.startswith(lab.devices["lab2"].address + "/")
               for address in eth0.addresses)


async def test_rates_appear_after_two_samples(running: tuple[MudmapApp, Pilot[None]]) -> None:
    app, pilot = running
    await select(pilot, app, "lab3", "interfaces")

    def eth0_rate() -> bool:
        row = app.query_one("#interfaces-table", InterfacesTable).interfaces.get("eth0")
        return row is not None and row.rx_rate is not None

    await wait_until(pilot, eth0_rate, "an rx rate for lab3's eth0")
    assert app.query_one("#interfaces-table", InterfacesTable).interfaces["eth0"].rx_rate >= 0


async def test_bridge_created_through_form(running: tuple[MudmapApp, Pilot[None]],
                                           lab: Lab) -> None:
    app, pilot = running
    await select(pilot, app, "lab1", "interfaces")
    await wait_until(pilot, lambda: bool(table_names(app)), "lab1's interface rows")
    app.query_one("#interfaces-table", InterfacesTable).focus()
    assert "tuibr0" not in kernel_links(lab, "lab1")
    try:
        await pilot.press("n")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "InterfaceFormScreen",
                         "the interface form")
        form = app.screen
        form.query_one("#field-kind", Select).value = "bridge"
        await pilot.pause()
        form.query_one("#field-name", Input).value = "tuibr0"
        form.query_one("#field-mtu", Input).value = "1400"
        await pilot.pause()
        form.query_one("#submit", Button).press()
        body = await accept_diff(pilot, app)
        assert "+ tuibr0 (bridge)" in body
        await wait_until(pilot, lambda: "tuibr0" in table_names(app), "tuibr0 in the table")
        links = json.loads(lab.run("lab1", ["ip", "-j", "-d", "link", "show", "tuibr0"]).stdout)
        assert links[0]["linkinfo"]["info_kind"] == "bridge"
        assert links[0]["mtu"] == 1400
        row = app.query_one("#interfaces-table", InterfacesTable).interfaces["tuibr0"]
        assert row.kind == "bridge"
        await wait_until(pilot, lambda: "change.confirm" in actions_of(app, "lab1"),
                         "the change's confirm in the audit log")
        assert {"change.plan", "change.apply"} <= set(actions_of(app, "lab1"))
    finally:
        lab.run("lab1", ["ip", "link", "del", "tuibr0"], check=False)


async def test_declined_diff_changes_nothing(running: tuple[MudmapApp, Pilot[None]],
                                             lab: Lab) -> None:
    app, pilot = running
    await select(pilot, app, "lab2", "interfaces")
    await wait_until(pilot, lambda: bool(table_names(app)), "lab2's interface rows")
    await submit_bridge_form(pilot, app, "tuino0")
    assert "+ tuino0 (bridge)" in str(app.screen.body)  # type: ignore[attr-defined]
    app.screen.query_one("#cancel", Button).press()
    await pilot.pause()
    assert "tuino0" not in kernel_links(lab, "lab2")
    actions = actions_of(app, "lab2")
    assert "change.plan" in actions
    assert "change.apply" not in actions


async def test_group_run_streams_each_device(running: tuple[MudmapApp, Pilot[None]],
                                             lab: Lab) -> None:
    app, pilot = running
    await select(pilot, app, "lab1", "shell")
    tree = app.query_one("#devices", DeviceTree)
    edge = next(node for node in tree.root.children if node.data and node.data.name == "edge")
    tree.move_cursor(edge)
    await pilot.pause()
    app.shell.mode = "group"
    app.shell.target_changed()
    field = app.query_one("#shell-input", Input)
    field.focus()
    field.value = "hostname; echo done >&2; exit 3"
    await pilot.press("enter")
    await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen",
                     "the bulk run confirmation")
    assert "3 devices" in app.screen.body  # type: ignore[attr-defined]
    app.screen.query_one("#confirm", Button).press()
    output = app.query_one("#shell-output")

    def text() -> str:
        return "\n".join(strip.text for strip in output.lines)  # type: ignore[attr-defined]

    await wait_until(pilot, lambda: "succeeded" in text(), "the end of the run")
    for name in ("lab1", "lab2", "lab3"):
        assert f"{name} | {name}" in text()
        assert f"{name} ⏹ exit 3" in text()
    assert "lab-inner |" not in text()
    assert app.query_one("#shell-pane", ShellPane) is not None


async def test_reboot_goes_offline_and_back(running: tuple[MudmapApp, Pilot[None]],
                                            lab: Lab) -> None:
    app, pilot = running
    lab.check_isolated("lab3")
    await select(pilot, app, "lab3", "overview")
    await wait_until(pilot, lambda: app.fleet.status("lab3").state is DeviceState.ONLINE,
                     "lab3 online")
    boot_pid = lab.init_pid("lab3")
    # A lab device reboots in well under a second, so a poll of the current state could
    # miss the offline spell: record every failure the app marks instead.
    failures: list[DeviceState] = []
    mark_failed = app.fleet.mark_failed

    def recording_mark_failed(name: str, at: float, error: BaseException) -> DeviceStatus:
        status = mark_failed(name, at, error)
        if name == "lab3":
            failures.append(status.state)
        return status

    app.fleet.mark_failed = recording_mark_failed  # type: ignore[method-assign]
    app.query_one("#devices", DeviceTree).focus()
    await pilot.press("R")
    await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen",
                     "the reboot confirmation")
    typed = app.screen.query_one("#typed", Input)
    typed.value = "lab3"
    await pilot.pause()
    app.screen.query_one("#confirm", Button).press()
    await wait_until(pilot, lambda: bool(failures), "lab3 to go down", polls=600)
    assert failures[0] in (DeviceState.OFFLINE, DeviceState.UNREACHABLE)
    await wait_until(pilot, lambda: lab.state("lab3").get("init_pid") not in (None, boot_pid)
                     and app.fleet.status("lab3").state is DeviceState.ONLINE,
                     "lab3 back online", polls=600)
    assert lab.init_pid("lab3") != boot_pid


def shell_text(app: MudmapApp) -> str:
    output = app.query_one("#shell-output")
    return "\n".join(strip.text for strip in output.lines)  # type: ignore[attr-defined]


async def test_ctrl_c_ends_remote_command(running: tuple[MudmapApp, Pilot[None]],
                                          lab: Lab) -> None:
    app, pilot = running
    await select(pilot, app, "lab2", "shell")
    field = app.query_one("#shell-input", Input)
    field.focus()
    field.value = "sleep 97; echo never"
    await pilot.press("enter")
    await wait_until(pilot, lambda: lab.run("lab2", ["pgrep", "-f", "sleep 97"],
                                            check=False).returncode == 0,
                     "sleep 97 running on lab2", polls=100)
    await pilot.press("ctrl+c")
    await wait_until(pilot, lambda: "lab2 ⏹ cancelled" in shell_text(app), "the cancellation")
    await wait_until(pilot, lambda: lab.run("lab2", ["pgrep", "-f", "sleep 97"],
                                            check=False).returncode == 1,
                     "sleep 97 gone from lab2", polls=100)
    assert "lab2 | never" not in shell_text(app)


async def test_history_per_device_with_search(running: tuple[MudmapApp, Pilot[None]]) -> None:
    app, pilot = running
    await select(pilot, app, "lab3", "shell")
    field = app.query_one("#shell-input", Input)
    field.focus()
    for command in ("echo first", "uname -r", "echo second"):
        field.value = command
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.shell.run is None, f"{command} to finish")
    await pilot.press("up")
    assert field.value == "echo second"
    await pilot.press("up", "up")
    assert field.value == "echo first"
    await pilot.press("down", "down", "down")
    assert field.value == ""
    field.value = "echo"
    await pilot.press("ctrl+r")
    assert field.value == "echo second"
    await pilot.press("ctrl+r")
    assert field.value == "echo first"
    await select(pilot, app, "lab2", "shell")
    await pilot.press("up")
    assert field.value != "echo second"


async def wait_for_state(pilot: Pilot[None], app: MudmapApp, device: str,
                         state: DeviceState) -> None:
    await wait_until(pilot, lambda: app.fleet.status(device).state is state,
                     f"{device} {state.word}")


async def select_online(pilot: Pilot[None], app: MudmapApp, device: str) -> None:
    """Select ``device`` on the Overview tab and wait until the app shows it online."""
    await select(pilot, app, device, "overview")
    await wait_for_state(pilot, app, device, DeviceState.ONLINE)


async def test_stopped_sshd_shows_offline_and_recovers(
        running: tuple[MudmapApp, Pilot[None]], lab: Lab) -> None:
    app, pilot = running
    await select_online(pilot, app, "lab2")
    lab.stop_sshd("lab2")
    try:
        await wait_for_state(pilot, app, "lab2", DeviceState.OFFLINE)
        assert app.fleet.status("lab2").reason
        # Keys still work while the device is down.
        await pilot.press("right_square_bracket")
        assert app.active_tab == "interfaces"
        assert "offline" in str(app.query_one("#data-age").render())
    finally:
        lab.start_sshd("lab2")
    await wait_for_state(pilot, app, "lab2", DeviceState.ONLINE)


async def test_jump_host_down_marks_dependents(
        running: tuple[MudmapApp, Pilot[None]], lab: Lab) -> None:
    app, pilot = running
    await select_online(pilot, app, "lab-inner")
    await select_online(pilot, app, "lab1")
    lab.stop_sshd("lab1")
    try:
        await wait_for_state(pilot, app, "lab1", DeviceState.OFFLINE)
        # lab-inner is not selected and the sweep is off, so only its jump host's change
        # can have checked it.
        await wait_for_state(pilot, app, "lab-inner", DeviceState.UNREACHABLE)
        assert app.fleet.status("lab-inner").reason == "jump host lab1 is offline"
    finally:
        lab.start_sshd("lab1")
    await wait_for_state(pilot, app, "lab-inner", DeviceState.ONLINE)


async def test_unknown_host_key_accepted_through_dialog(lab: Lab, tmp_path: Path) -> None:
    known_hosts = tmp_path / "known_hosts"
    app = MudmapApp(lab.inventory_path, refresh_interval=1.0, sweep=False, call_timeout=8.0,
                    hostkeys=HostKeyStore(known_hosts, []),
                    ssh_settings=SshSettings(config_paths=[]), log_path=tmp_path / "log")
    async with app.run_test(size=(160, 50)) as pilot:
        await select(pilot, app, "lab2", "overview")
        await wait_until(
            pilot, lambda: app.fleet.status("lab2").state is DeviceState.HOST_KEY_UNKNOWN,
            "lab2's host key unknown")
        app.query_one("#devices", DeviceTree).focus()
        await pilot.press("k")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "HostKeyScreen",
                         "the host key dialog")
        fingerprint = app.fleet.status("lab2").host_key["fingerprint"]  # type: ignore[index]
        assert str(app.screen.query_one("#fingerprint").render()) == fingerprint
        app.screen.query_one("#accept", Button).press()
        await wait_until(pilot, lambda: app.fleet.status("lab2").state is DeviceState.ONLINE,
                         "lab2 online after accepting")
    assert lab.devices["lab2"].address in known_hosts.read_text()


async def test_unreachable_device_does_not_block(lab: Lab, tmp_path: Path) -> None:
    from mudmap_tui.inventory import load_inventory
    from mudmap_tui.store.db import open_database
    from mudmap_tui.store.devices import DeviceStore

    path = tmp_path / "inventory.db"
    db = open_database(path)
    try:
        store = DeviceStore(db)
        lab2 = load_inventory(lab.inventory_path).devices["lab2"]
        store.add(lab2.model_copy(update={"jump": None}))
        # An address in the lab's subnet that no device uses.
        ghost = ".".join([*lab2.host.split(".")[:3], "250"])
        store.add(lab2.model_copy(update={"name": "ghost", "host": ghost, "jump": None}))
    finally:
        db.close()
    app = MudmapApp(path, refresh_interval=1.0, sweep=True, call_timeout=3.0,
                    hostkeys=HostKeyStore(tmp_path / "known_hosts", [lab.known_hosts]),
                    ssh_settings=SshSettings(config_paths=[]), log_path=tmp_path / "log")
    async with app.run_test(size=(160, 50)) as pilot:
        await select(pilot, app, "ghost", "overview")
        await wait_until(pilot, lambda: app.fleet.status("ghost").state is (
            DeviceState.UNREACHABLE), "ghost unreachable")
        assert app.fleet.status("ghost").reason
        await wait_until(pilot, lambda: app.fleet.status("lab2").state is DeviceState.ONLINE,
                         "lab2 online from the sweep")
        await pilot.press("ctrl+l")
        log_text = "\n".join(strip.text for strip in app.query_one("#log-pane").lines)
        assert "ghost" in log_text
        assert "unreachable" in log_text
    assert "ghost" in (tmp_path / "log").read_text()


async def test_up_key_sets_interface_up(running: tuple[MudmapApp, Pilot[None]],
                                        lab: Lab) -> None:
    app, pilot = running
    lab.run("lab3", ["ip", "link", "add", "tuiup0", "type", "bridge"])
    try:
        await select(pilot, app, "lab3", "interfaces")
        await wait_until(pilot, lambda: "tuiup0" in table_names(app), "tuiup0 in the table")
        table = app.query_one("#interfaces-table", InterfacesTable)
        table.focus()
        table.move_cursor(row=table.get_row_index("tuiup0"))
        await pilot.press("u")
        body = await accept_diff(pilot, app)
        assert "admin_state: down -> up" in body

        def is_up() -> bool:
            link = json.loads(lab.run("lab3", ["ip", "-j", "link", "show", "tuiup0"]).stdout)
            return "UP" in link[0]["flags"]

        await wait_until(pilot, is_up, "tuiup0 up on lab3")
        await wait_until(pilot, lambda: table.interfaces["tuiup0"].state.startswith("up"),
                         "tuiup0 up in the table")
        await wait_until(pilot, lambda: "change.confirm" in actions_of(app, "lab3"),
                         "the change's confirm in the audit log")
        plan = next(entry for entry in audit_entries(app, "lab3")
                    if entry.action == "change.plan")
        assert plan.params["ops"] == [{"method": "interfaces.update",
                                       "params": {"name": "tuiup0", "state": "up"}}]
    finally:
        lab.run("lab3", ["ip", "link", "del", "tuiup0"], check=False)


async def test_uplink_down_needs_typed_name(running: tuple[MudmapApp, Pilot[None]],
                                           lab: Lab) -> None:
    app, pilot = running
    await select(pilot, app, "lab3", "interfaces")
    await wait_until(pilot, lambda: "eth0" in table_names(app), "eth0 in the table")
    table = app.query_one("#interfaces-table", InterfacesTable)
    table.focus()
    table.move_cursor(row=table.get_row_index("eth0"))
    await pilot.press("d")
    await wait_until(pilot, lambda: plan_dialog_ready(app), "the change's diff dialog")
    danger = str(app.screen.query_one("#danger").render())
    assert "eth0 carries the SSH session to lab3" in danger
    assert "setting it down" in danger
    assert app.screen.query_one("#apply", Button).disabled
    app.screen.query_one("#cancel", Button).press()
    await pilot.pause()
    link = json.loads(lab.run("lab3", ["ip", "-j", "link", "show", "eth0"]).stdout)
    assert "UP" in link[0]["flags"]


async def test_conflict_reports_the_new_diff(running: tuple[MudmapApp, Pilot[None]],
                                            lab: Lab) -> None:
    app, pilot = running
    lab.run("lab3", ["ip", "link", "add", "tuicf0", "type", "bridge"])
    try:
        await select(pilot, app, "lab3", "interfaces")
        await wait_until(pilot, lambda: "tuicf0" in table_names(app), "tuicf0 in the table")
        table = app.query_one("#interfaces-table", InterfacesTable)
        table.focus()
        table.move_cursor(row=table.get_row_index("tuicf0"))
        await pilot.press("u")
        await wait_until(pilot, lambda: plan_dialog_ready(app),
                         "the change's diff dialog")
        # Another admin changes the interface while this one reads the diff.
        lab.run("lab3", ["ip", "link", "set", "tuicf0", "mtu", "1400"])
        app.screen.query_one("#apply", Button).press()

        def conflict_notice() -> str | None:
            return next((str(n.message) for n in app._notifications
                         if "The diff is now" in str(n.message)), None)

        await wait_until(pilot, lambda: conflict_notice() is not None, "the conflict notice")
        assert "admin_state: down -> up" in str(conflict_notice())
        link = json.loads(lab.run("lab3", ["ip", "-j", "link", "show", "tuicf0"]).stdout)
        assert "UP" not in link[0]["flags"]
        applied = next(entry for entry in audit_entries(app, "lab3")
                       if entry.action == "change.apply")
        assert applied.result == "conflict"
    finally:
        lab.run("lab3", ["ip", "link", "del", "tuicf0"], check=False)


async def submit_bridge_form(pilot: Pilot[None], app: MudmapApp, name: str) -> None:
    """Create bridge ``name`` with the Interfaces tab's form, up to the diff dialog."""
    app.query_one("#interfaces-table", InterfacesTable).focus()
    await pilot.press("n")
    await wait_until(pilot, lambda: type(app.screen).__name__ == "InterfaceFormScreen",
                     "the interface form")
    form = app.screen
    form.query_one("#field-kind", Select).value = "bridge"
    await pilot.pause()
    form.query_one("#field-name", Input).value = name
    form.query_one("#submit", Button).press()
    await wait_until(pilot, lambda: plan_dialog_ready(app), "the change's diff dialog")


def plan_dialog_ready(app: MudmapApp) -> bool:
    """Return True once the change's diff dialog is on screen with its buttons."""
    return type(app.screen).__name__ == "ChangePlanScreen" and bool(app.screen.query("#apply"))


def audit_entries(app: MudmapApp, device: str) -> list[AuditEntry]:
    return audit.list(app.db, device=device)


def actions_of(app: MudmapApp, device: str) -> list[str]:
    return [entry.action for entry in audit_entries(app, device)]


async def accept_diff(pilot: Pilot[None], app: MudmapApp) -> str:
    """Wait for a guarded change's diff dialog, accept it, and return the diff it showed."""
    await wait_until(pilot, lambda: plan_dialog_ready(app),
                     "the change's diff dialog")
    body = str(app.screen.body)  # type: ignore[attr-defined]
    app.screen.query_one("#apply", Button).press()
    await pilot.pause()
    return body


async def test_wireguard_tab_shows_peer(running: tuple[MudmapApp, Pilot[None]],
                                        lab: Lab) -> None:
    from mudmap_tui.wg_plan import generate_key_pair

    app, pilot = running
    await select(pilot, app, "lab1", "wireguard")
    peer_key = generate_key_pair().public_key
    await app.reader.call("lab1", "wg.create", {"name": "tuiwg0", "listen_port": 51821},
                          timeout=30)
    try:
        await app.reader.call("lab1", "wg.peer.add", {
            "name": "tuiwg0", "public_key": peer_key, "allowed_ips": ["10.99.0.2/32"],
            "endpoint": f"{lab.devices['lab2'].address}:51821"})
        table = app.query_one("#wireguard-table", WireGuardTable)
        await wait_until(pilot, lambda: f"tuiwg0/{peer_key}" in table.details, "the peer row")
        cells = table.cells_of(f"tuiwg0/{peer_key}")
        assert str(cells[3]) == "10.99.0.2/32"
        assert str(cells[2]) == f"{lab.devices['lab2'].address}:51821"
        assert str(cells[4]) == "never"
        assert str(table.cells_of("tuiwg0")[2]) == "port 51821"
    finally:
        await app.reader.call("lab1", "wg.delete", {"name": "tuiwg0"}, timeout=30)


async def test_backup_now_then_diff(running: tuple[MudmapApp, Pilot[None]],
                                    lab: Lab) -> None:
    from mudmap_tui.tui.widgets.tables import BackupsTable

    app, pilot = running
    await select(pilot, app, "lab2", "backups")
    table = app.query_one("#backups-table", BackupsTable)
    before = table.row_count
    tree = app.query_one("#devices", DeviceTree)
    tree.focus()
    await pilot.press("b")
    await wait_until(pilot, lambda: table.row_count == before + 1, "the first backup row")
    lab.run("lab2", ["sh", "-c", "echo '# tui test' >> /etc/network/interfaces"])
    try:
        # The Backups table's own b takes the second one.
        table.focus()
        await pilot.press("b")
        await wait_until(pilot, lambda: table.row_count == before + 2,
                         "the second backup row")
    finally:
        lab.run("lab2", ["sed", "-i", "/^# tui test$/d", "/etc/network/interfaces"])
    table.focus()
    for row in (0, 1):
        table.move_cursor(row=row)
        await pilot.press("space")
    assert len(table.marked) == 2
    await pilot.press("d")
    await wait_until(pilot, lambda: type(app.screen).__name__ == "BackupDiffScreen",
                     "the backup diff")
    assert "+# tui test" in app.screen.diff_text  # type: ignore[attr-defined]
