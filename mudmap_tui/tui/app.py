"""The full-screen app: the device tree, the selected device's tabs and the shell pane.

Background workers read devices through the connection pool and post messages, and only
the message handlers here change widgets. Every device call has a timeout, so a slow or
unreachable device does not hold up key handling (tests/tui/test_lab_app.py presses keys
while a device is down).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from textual import on
from textual.actions import ActionParseResult
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.dom import DOMNode
from textual.events import Resize
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import (
    Footer,
    Header,
    Input,
    Select,
    Static,
    TabbedContent,
    TabPane,
    Tabs,
    Tree,
)

from mudmap_tui import actions, app_log
from mudmap_tui.device_data import JOURNAL_LINES, TAB_METHODS, DeviceReader
from mudmap_tui.fleet_state import (
    DeviceState,
    DeviceStatus,
    FleetState,
    age_since,
    format_age,
)
from mudmap_tui.inventory import InventorySnapshot, load_inventory
from mudmap_tui.ssh.config import SshSettings
from mudmap_tui.ssh.errors import AgentUnsupported, ConnectFailed
from mudmap_tui.ssh.hostkeys import HostKeyStore
from mudmap_tui.ssh.pool import ConnectionPool
from mudmap_tui.store.db import open_database
from mudmap_tui.tui.bindings import bindings_for
from mudmap_tui.tui.commands import ActionCommands
from mudmap_tui.tui.device_handlers import DeviceHandlers
from mudmap_tui.tui.messages import (
    ActionFinished,
    DeviceChecked,
    ShellDeviceFinished,
    ShellOutputReceived,
    ShellRunFinished,
    TabLoaded,
)
from mudmap_tui.tui.screens.help import HelpScreen
from mudmap_tui.tui.shell_controller import ShellController
from mudmap_tui.tui.tab_views import DEFAULT_LOG_SOURCE, TabViews
from mudmap_tui.tui.widgets.device_tree import DeviceTree
from mudmap_tui.tui.widgets.filter_bar import FilterBar
from mudmap_tui.tui.widgets.panes import JournalView, LogPane, OverviewTable
from mudmap_tui.tui.widgets.shell import ShellPane
from mudmap_tui.tui.widgets.tables import (
    AuditTable,
    BackupsTable,
    InterfacesTable,
    ServicesTable,
    WgQuickTable,
    WireGuardTable,
)

STYLES_DIR = Path(__file__).resolve().parents[2] / "styles"
log = logging.getLogger("mudmap.tui")

DEFAULT_REFRESH_INTERVAL = 5.0
# Below this terminal width the tree hides itself, so the tabs keep a usable width.
NARROW_WIDTH = 72
# From this width on the tree gets room for long names; below it, a compact width.
WIDE_WIDTH = 120
WIDE_TREE_WIDTH = 36
COMPACT_TREE_WIDTH = 28
# Devices checked at once by the background status sweep.
SWEEP_CONCURRENCY = 16
# The sweep of every device's status runs once per this many refresh ticks.
SWEEP_EVERY_TICKS = 6

TABS = ("overview", "interfaces", "wireguard", "services", "logs", "shell", "backups", "audit")
TAB_TITLES = {"overview": "Overview", "interfaces": "Interfaces", "wireguard": "WireGuard",
              "services": "Services", "logs": "Logs", "shell": "Shell", "backups": "Backups",
              "audit": "Audit"}
# State changes that raise a notification, and how many notifications a second at most.
ANNOUNCED_STATES = (DeviceState.HOST_KEY_UNKNOWN, DeviceState.UNREACHABLE,
                    DeviceState.OFFLINE, DeviceState.HOST_KEY_CHANGED)
MAX_ANNOUNCEMENTS_PER_SECOND = 3
# The action string of a binding from bindings_for, such as app.run_registered('device.reboot').
REGISTERED_ACTION = re.compile(r"(?:app\.)?run_registered\('([a-z_.]+)'\)")
# Tabs whose data comes from the device, as opposed to the local store.
DEVICE_TABS = (*TAB_METHODS, "wireguard")


MessageT = TypeVar("MessageT")


def ignore_after_close(
    handler: Callable[[MudmapApp, MessageT], None],
) -> Callable[[MudmapApp, MessageT], None]:
    """Drop a worker's message that arrives while the app closes and its widgets are gone."""

    @functools.wraps(handler)
    def handle(app: MudmapApp, message: MessageT) -> None:
        try:
            handler(app, message)
        except NoMatches:
            if app.is_running and not app._exit:
                raise

    return handle


class MudmapApp(App[None]):
    """Inventory tree on the left, the selected device's tabs on the right.

    :param read_only: hide and reject every action that changes a device
    :param refresh_interval: seconds between background refreshes; 0 turns them off
    :param clock: the time source for data ages (tests freeze it)
    :param state: known device data to start from (tests and snapshots pass fixtures)
    """

    CSS_PATH = STYLES_DIR / "app.tcss"
    TITLE = "Mudmap"
    BINDINGS = bindings_for("app")
    COMMANDS = App.COMMANDS | {ActionCommands}

    def __init__(self, db_path: Path, *, read_only: bool = False,
                 refresh_interval: float = DEFAULT_REFRESH_INTERVAL,
                 pool: ConnectionPool | None = None, hostkeys: HostKeyStore | None = None,
                 ssh_settings: SshSettings | None = None, clock: Callable[[], float] = time.time,
                 state: FleetState | None = None, keymap: dict[str, str] | None = None,
                 log_path: Path | None = None, sweep: bool = True,
                 call_timeout: float = 10.0) -> None:
        super().__init__()
        self.db_path = db_path
        self.read_only = read_only
        self.refresh_interval = refresh_interval
        self.clock = clock
        self.fleet = state or FleetState()
        self.inventory: InventorySnapshot | None = None
        self.sweep_enabled = sweep
        self.db = open_database(db_path)
        self._pool = pool
        self._hostkeys = hostkeys
        self._ssh_settings = ssh_settings
        self._call_timeout = call_timeout
        self._reader: DeviceReader | None = None
        self._keymap = dict(keymap or {})
        self._log_path = log_path
        self._log_handlers: tuple[logging.Handler, ...] = ()
        self.inflight: set[tuple[str, str]] = set()
        self._ticks = 0
        self._notified: dict[tuple[str, str], str] = {}
        self._down_announced: set[str] = set()
        # The file in /var/log that the Logs tab reads per device, instead of journald.
        self.log_files: dict[str, str] = {}
        self.tree_hidden_by_user = False
        self._announced = 0
        self._unannounced = 0
        self.shell = ShellController(self)
        self.handlers = DeviceHandlers(self)
        self.views = TabViews(self)

    # Layout.

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield DeviceTree(id="devices")
            with Vertical(id="right"):
                yield Static("", id="data-age", markup=False)
                with TabbedContent(id="tabs", initial="overview"):
                    yield from self._tab_panes()
        yield FilterBar(placeholder="filter: type to narrow, Enter keeps it, Esc clears",
                        id="filter")
        yield LogPane(id="log-pane")
        yield Footer()

    def _tab_panes(self) -> ComposeResult:
        contents: dict[str, Widget] = {
            "overview": OverviewTable(id="overview-table"),
            "interfaces": InterfacesTable(id="interfaces-table"),
            "wireguard": WireGuardTable(id="wireguard-table"),
            "services": ServicesTable(id="services-table"),
            "logs": JournalView(id="journal", max_lines=5000),
            "shell": ShellPane(id="shell-pane"),
            "backups": BackupsTable(id="backups-table"),
            "audit": AuditTable(id="audit-table"),
        }
        for tab in TABS:
            with TabPane(TAB_TITLES[tab], id=tab):
                if tab == "services":
                    note = Static("", id="services-note", markup=False)
                    note.display = False
                    yield note
                if tab == "wireguard":
                    yield contents[tab]
                    yield Static("wg-quick configs in /etc/wireguard", id="wgquick-title",
                                 markup=False)
                    yield WgQuickTable(id="wgquick-table")
                    continue
                if tab == "logs":
                    # The journal or a file in /var/log, from the agent's journal.files.
                    log_file: Select[str] = Select([], prompt="log source", allow_blank=True,
                                                   id="logs-file", compact=True)
                    log_file.display = False
                    yield log_file
                    note = Static("", id="logs-note", markup=False)
                    note.display = False
                    yield note
                yield contents[tab]

    def on_mount(self) -> None:
        self._install_logging()
        if self._keymap:
            self.set_keymap(self._keymap)
        self.title = self.inventory_name + (" (read-only)" if self.read_only else "")
        if self.read_only:
            # Shell commands can change devices, so read-only mode rejects them too.
            self.query_one("#shell-input", Input).placeholder = (
                "read-only mode: shell commands are disabled")
        self.reload_inventory()
        # Tab moves between the tree and the tab's content; [ and ] switch tabs.
        self.query_one("#tabs", TabbedContent).query_one(Tabs).can_focus = False
        self.query_one("#devices", DeviceTree).focus()
        self.set_interval(1.0, self.update_age_line)
        if self.refresh_interval > 0:
            self.set_interval(self.refresh_interval, self.refresh_tick)
            self.call_after_refresh(self.refresh_tick)

    @property
    def inventory_name(self) -> str:
        return self.db_path.parent.name if self.db_path.stem == "inventory" else self.db_path.stem

    def _install_logging(self) -> None:
        try:
            file_handler, pane_handler = app_log.install(self._log_path)
        except OSError as error:
            self.notify(f"cannot open the log file: {error}", severity="warning")
            return
        pane = self.query_one("#log-pane", LogPane)
        for record in pane_handler.records:
            pane.add_record(record)
        def show(record: logging.LogRecord) -> None:
            self.call_later(pane.add_record, record)

        pane_handler.listener = show
        self._log_handlers = (file_handler, pane_handler)

    async def on_unmount(self) -> None:
        self.shell.cancel(quiet=True)
        if self._pool is not None:
            try:
                await asyncio.wait_for(self._pool.close(), 5)
            except (asyncio.TimeoutError, OSError):
                log.warning("closing SSH connections timed out")
        app_log.uninstall(*self._log_handlers)
        self.db.close()

    def on_resize(self, event: Resize) -> None:
        self.apply_width(event.size.width)

    def apply_width(self, width: int) -> None:
        narrow = width < NARROW_WIDTH
        left = self.query_one("#left")
        left.display = not (narrow or self.tree_hidden_by_user)
        left.styles.width = COMPACT_TREE_WIDTH if width < WIDE_WIDTH else WIDE_TREE_WIDTH

    # The connection pool, made on first use so that an app without devices opens no socket.

    @property
    def pool(self) -> ConnectionPool:
        if self._pool is None:
            devices = self.inventory.devices.values() if self.inventory else ()
            self._pool = ConnectionPool(devices, settings=self._ssh_settings,
                                        hostkeys=self._hostkeys)
        return self._pool

    @property
    def reader(self) -> DeviceReader:
        if self._reader is None:
            self._reader = DeviceReader(self.pool, timeout=self._call_timeout)
        return self._reader

    # Inventory and selection.

    def reload_inventory(self) -> None:
        """Read the inventory again and rebuild the tree, keeping known device states."""
        self.inventory = load_inventory(self.db_path)
        self.fleet.sync(self.inventory.devices)
        if self._pool is not None:
            self._pool.add_devices(self.inventory.devices.values())
        tree = self.query_one("#devices", DeviceTree)
        tree.populate(self.inventory, self.fleet)
        self.update_summary()
        if tree.selected_device is None and self.inventory.devices:
            self.call_after_refresh(self._select_first_device)
        self.show_selected()

    def _select_first_device(self) -> None:
        try:
            tree = self.query_one("#devices", DeviceTree)
        except NoMatches:  # the app closed before its first refresh
            return
        # Only when the user has not moved the cursor since the tree was built.
        if tree.cursor_line <= 0 and self.inventory and self.inventory.groups:
            tree.select_device(next(iter(self.inventory.groups.values()))[0])
            self.show_selected()

    def update_summary(self) -> None:
        self.sub_title = self.fleet.summary()

    @property
    def selected_device(self) -> str | None:
        return self.query_one("#devices", DeviceTree).selected_device

    @property
    def active_tab(self) -> str:
        return self.query_one("#tabs", TabbedContent).active or "overview"

    @on(Tree.NodeHighlighted, "#devices")
    @ignore_after_close
    def _device_highlighted(self, event: Tree.NodeHighlighted[Any]) -> None:
        self.show_selected()
        self.shell.target_changed()
        self.refresh_selected()

    @on(TabbedContent.TabActivated, "#tabs")
    @ignore_after_close
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self.show_selected()
        self.refresh_selected()

    # Background refresh: only the selected device and its visible tab.

    def refresh_tick(self) -> None:
        self._ticks += 1
        try:
            self.refresh_selected()
            if self.sweep_enabled and self._ticks % SWEEP_EVERY_TICKS == 1:
                self.sweep_statuses()
        except NoMatches:  # a timer that fires while the app shuts down
            return

    def refresh_selected(self) -> None:
        name = self.selected_device
        if name is None or self.refresh_interval <= 0:
            return
        tab = self.active_tab
        key = (name, tab)
        if key in self.inflight:
            return
        self.inflight.add(key)
        self.run_worker(self._load(name, tab), group="refresh", exit_on_error=False)

    async def _load(self, name: str, tab: str) -> None:
        try:
            if await self._check(name) and tab in DEVICE_TABS:
                await self._load_tab(name, tab)
        except Exception as error:  # a worker's bug must never end the app
            log.exception("%s: refreshing %s failed", name, tab,
                          extra={"device": name, "operation": f"refresh {tab}"})
            self.post_message(TabLoaded(name, tab, self.clock(), error=error))
        finally:
            self.inflight.discard((name, tab))

    async def _check(self, name: str) -> bool:
        connection = self.pool.cached(name)
        if connection is not None and connection.connect_count > 0 and not connection.connected:
            # The device closed the connection (a reboot, sshd stopped). Report it before the
            # reconnect below, which may succeed a moment later.
            lost = ConnectFailed(name, "status", "connection lost; reconnecting")
            self.post_message(DeviceChecked(name, self.clock(), error=lost))
        try:
            hello = await self.reader.call(name, "hello", timeout=self._call_timeout)
        except Exception as error:
            self.post_message(DeviceChecked(name, self.clock(), error=error))
            await self._drop_connection(name, error)
            return False
        self.post_message(DeviceChecked(name, self.clock(), hello=hello))
        return True

    async def _drop_connection(self, name: str, error: BaseException) -> None:
        # A call that timed out may have left a half-dead connection; the next check opens
        # a new one instead of waiting for keepalives to notice.
        if self.fleet.status(name).state is DeviceState.HOST_KEY_UNKNOWN:
            return
        try:
            await asyncio.wait_for(self.reader.reconnect(name), 5)
        except (asyncio.TimeoutError, OSError):
            log.info("%s: closing the connection timed out", name)

    async def _load_tab(self, name: str, tab: str) -> None:
        if tab == "logs":
            await self._load_log_files(name)
        try:
            log_file = self.log_files.get(name) if tab == "logs" else None
            if log_file:
                value = await self.reader.call(
                    name, "journal.tail", {"lines": JOURNAL_LINES, "file": log_file})
            else:
                value = await self.reader.read_tab(name, tab)
        except Exception as error:
            self.post_message(TabLoaded(name, tab, self.clock(), error=error))
            return
        self.post_message(TabLoaded(name, tab, self.clock(), value=value))

    async def _load_log_files(self, name: str) -> None:
        """Read the device's /var/log files for the Logs tab's source list."""
        try:
            value = await self.reader.call(name, "journal.files")
        except Exception as error:  # the tail below still shows the default source
            log.info("%s: listing log files failed: %s", name, error,
                     extra={"device": name, "operation": "logs"})
            return
        self.post_message(TabLoaded(name, "logs.files", self.clock(), value=value))

    def sweep_statuses(self) -> None:
        """Check the status of the devices the tree shows, a few at a time, in the background.

        Devices in collapsed groups are not on screen, so they are not checked.
        """
        visible = self.query_one("#devices", DeviceTree).visible_devices()
        names = [n for n in visible if (n, "status") not in self.inflight]
        if not names:
            return
        self.run_worker(self._sweep(names), group="sweep", exit_on_error=False)

    async def _sweep(self, names: list[str]) -> None:
        limit = asyncio.Semaphore(SWEEP_CONCURRENCY)

        async def check(name: str) -> None:
            async with limit:
                self.inflight.add((name, "status"))
                try:
                    await self._check(name)
                finally:
                    self.inflight.discard((name, "status"))

        await asyncio.gather(*(check(name) for name in names), return_exceptions=True)

    # Message handlers: the only place where worker results reach widgets.

    @ignore_after_close
    def on_device_checked(self, message: DeviceChecked) -> None:
        before = self.fleet.status(message.device)
        before_state, before_reason = before.state, before.reason
        if message.error is None:
            status = self.fleet.mark_online(message.device, message.at, message.hello)
        else:
            status = self.fleet.mark_failed(message.device, message.at, message.error)
            self._blame_jump_host(status)
        self.query_one("#devices", DeviceTree).refresh_device(message.device)
        self.update_summary()
        if (status.state, status.reason) != (before_state, before_reason):
            # Logged on change only, so a device that stays down adds no line per check.
            level = logging.INFO if status.state is DeviceState.ONLINE else logging.WARNING
            log.log(level, "%s: %s%s", message.device, status.state.word,
                    f" ({status.reason})" if status.reason else "",
                    extra={"device": message.device, "operation": "status"})
        if status.state is not before_state:
            self._announce_state(message.device, status.state, status.reason)
            self._check_jump_dependents(message.device)
        if message.device == self.selected_device:
            self.show_selected()

    def _check_jump_dependents(self, name: str) -> None:
        """Check at once the devices that reach the network through ``name``.

        Their state depends on this one, so waiting for the next sweep would show them
        online behind a jump host that is down, or down behind one that is back.
        """
        if self.inventory is None or self.refresh_interval <= 0:
            return
        dependents = [device.name for device in self.inventory.devices.values()
                      if device.jump == name and (device.name, "status") not in self.inflight]
        if dependents:
            self.run_worker(self._sweep(dependents), group="sweep", exit_on_error=False)

    def _blame_jump_host(self, status: DeviceStatus) -> None:
        """Name a down jump host as the reason, rather than the connection error behind it."""
        device = self.inventory.devices.get(status.name) if self.inventory else None
        jump = device.jump if device else None
        down = (DeviceState.OFFLINE, DeviceState.UNREACHABLE)
        if not jump or jump not in self.fleet.devices or status.state not in down:
            return
        jump_state = self.fleet.status(jump).state
        if jump_state in down:
            status.state = DeviceState.UNREACHABLE
            status.reason = f"jump host {jump} is {jump_state.word}"

    def _announce_state(self, name: str, state: DeviceState, reason: str) -> None:
        if state not in ANNOUNCED_STATES:
            # Back online (or another quiet state): the next outage is news again.
            self._down_announced.discard(name)
            return
        if name in self._down_announced:
            # Each reconnect attempt can flip a down device between offline and
            # unreachable; one toast per outage is enough, the log pane lists the rest.
            return
        if isinstance(self.screen, ModalScreen):
            # A toast over a dialog hides its fields; the log pane keeps the change.
            return
        self._down_announced.add(name)
        self._announced += 1
        if self._announced > MAX_ANNOUNCEMENTS_PER_SECOND:
            # A sweep can change many devices at once; the rest go to the log pane only.
            self._unannounced += 1
            return
        if state is DeviceState.HOST_KEY_UNKNOWN:
            key = self.key_of(actions.get("device.accept_host_key"))
            self.notify(f"{name}: host key unknown; select it and press {key} to check "
                        "the fingerprint and accept it", title="Host key", severity="warning")
        elif state in (DeviceState.UNREACHABLE, DeviceState.OFFLINE,
                       DeviceState.HOST_KEY_CHANGED):
            self.notify(f"{name}: {state.word}: {reason}", title=state.word.capitalize(),
                        severity="error")

    @ignore_after_close
    def on_tab_loaded(self, message: TabLoaded) -> None:
        name, tab = message.device, message.tab
        if message.error is not None:
            self._tab_failed(message)
        elif tab == "interfaces":
            self.fleet.set_interfaces(name, message.at, message.value.get("interfaces", []))
            self.fleet.set_extra(name, "drift", message.at, message.value.get("drift"))
            self.query_one("#devices", DeviceTree).refresh_device(name)
        elif tab == "overview":
            self.fleet.set_facts(name, message.at, message.value)
        else:
            self.fleet.set_extra(name, tab, message.at, message.value)
        if message.error is None:
            extras = self.fleet.status(name).extras
            extras.pop(f"{tab}.error", None)
            extras.pop(f"{tab}.unsupported", None)
        if name == self.selected_device:
            self.show_selected()

    def _tab_failed(self, message: TabLoaded) -> None:
        status = self.fleet.status(message.device)
        reason = getattr(message.error, "message", None) or str(message.error)
        if isinstance(message.error, AgentUnsupported):
            # A device without systemd or journald: a lasting fact shown in the tab body,
            # not a failure to toast on every visit.
            if status.extras.get(f"{message.tab}.unsupported") != reason:
                log.info("%s: %s not available: %s", message.device, message.tab, reason,
                         extra={"device": message.device, "operation": message.tab})
            status.extras[f"{message.tab}.unsupported"] = reason
            status.extras.pop(message.tab, None)
            return
        status.extras[f"{message.tab}.error"] = reason
        key = (message.device, message.tab)
        if self._notified.get(key) != reason:
            self._notified[key] = reason
            log.warning("%s: reading %s failed: %s", message.device, message.tab, reason,
                        extra={"device": message.device, "operation": message.tab})
            self.notify(f"{message.device}: {message.tab}: {reason}", title="Read failed",
                        severity="warning")

    def _flush_announcements(self) -> None:
        if self._unannounced:
            self.notify(f"{self._unannounced} more devices changed state; the log pane "
                        f"({self.key_of(actions.get('app.toggle_log'))}) lists them",
                        severity="warning")
        self._announced = 0
        self._unannounced = 0

    def update_age_line(self) -> None:
        self._flush_announcements()
        try:
            line = self.query_one("#data-age", Static)
        except NoMatches:  # a timer that fires while the app shuts down
            return
        name = self.selected_device
        if name is None:
            line.update("No device selected")
            return
        status = self.fleet.status(name)
        tab = self.active_tab
        at = {"overview": status.facts_at, "interfaces": status.interfaces_at}.get(
            tab, status.extras_at.get(tab))
        age = age_since(self.clock(), at)
        error = status.extras.get(f"{tab}.error")
        parts = [f"{name}", status.label]
        if tab in DEVICE_TABS:
            parts.append(f"{TAB_TITLES[tab].lower()} read {format_age(age)} ago"
                         if age is not None else f"{TAB_TITLES[tab].lower()} not read yet")
        if status.reason:
            parts.append(status.reason)
        if error and tab in DEVICE_TABS:
            parts.append(f"last read failed: {error}")
        marked = len(self.query_one("#devices", DeviceTree).marked)
        if marked:
            parts.append(f"{marked} marked")
        line.update(" │ ".join(parts))

    def show_selected(self) -> None:
        self.views.show_selected()

    @ignore_after_close
    def on_action_finished(self, message: ActionFinished) -> None:
        self.handlers.on_action_finished(message)

    @ignore_after_close
    def on_shell_output_received(self, message: ShellOutputReceived) -> None:
        self.handlers.on_shell_output_received(message)

    @ignore_after_close
    def on_shell_device_finished(self, message: ShellDeviceFinished) -> None:
        self.handlers.on_shell_device_finished(message)

    @ignore_after_close
    def on_shell_run_finished(self, message: ShellRunFinished) -> None:
        self.handlers.on_shell_run_finished(message)

    # The action table's single dispatcher.

    def action_allowed(self, action: actions.Action) -> bool:
        return not (self.read_only and action.changes_device)

    def key_of(self, action: actions.Action) -> str:
        return actions.key_label(self._keymap.get(action.id, action.key))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "run_registered" and parameters:
            registered = actions.ACTIONS_BY_ID.get(str(parameters[0]))
            if registered is not None and not self.action_allowed(registered):
                return False
        return True

    async def run_action(self, action: str | ActionParseResult,
                         default_namespace: DOMNode | None = None,
                         namespaces: Mapping[str, DOMNode] | None = None) -> bool:
        # check_action hides device changes in read-only mode, which would also make
        # their keys do nothing at all; say why instead.
        if self.read_only and isinstance(action, str):
            match = REGISTERED_ACTION.fullmatch(action)
            registered = actions.ACTIONS_BY_ID.get(match.group(1)) if match else None
            if registered is not None and not self.action_allowed(registered):
                self.notify_read_only(registered)
                return True
        return await super().run_action(action, default_namespace, namespaces)

    def notify_read_only(self, action: actions.Action) -> None:
        self.notify(f"read-only mode: {action.title} is disabled; restart without "
                    "--read-only to allow it", severity="warning")

    async def action_run_registered(self, action_id: str) -> None:
        await self.run_registered(action_id)

    async def run_registered(self, action_id: str) -> None:
        """Run a registered action by id; read-only mode rejects device changes."""
        action = actions.get(action_id)
        if not self.action_allowed(action):
            self.notify_read_only(action)
            return
        handler = (getattr(self, f"do_{action.method}", None)
                   or getattr(self.handlers, f"do_{action.method}", None))
        if handler is None:
            self.notify(f"{action.title} is not available yet", severity="warning")
            return
        try:
            result = handler()
            if asyncio.iscoroutine(result):
                await result
        except Exception as error:  # an action's bug must not end the app
            log.exception("action %s failed", action.id)
            self.notify(f"{action.title} failed: {error}", severity="error")

    def focused_scope(self) -> str:
        node = self.focused
        scopes = {DeviceTree: "devices", InterfacesTable: "interfaces",
                  WireGuardTable: "wireguard", WgQuickTable: "wgquick",
                  ServicesTable: "services",
                  BackupsTable: "backups"}
        for widget_type, scope in scopes.items():
            if isinstance(node, widget_type):
                return scope
        if node is not None and node.id == "shell-input":
            return "shell"
        return "app"

    # Everywhere actions.

    def do_app_quit(self) -> None:
        self.exit()

    def do_app_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.focused_scope(), self.key_of, self.action_allowed))

    def do_app_refresh(self) -> None:
        name = self.selected_device
        if name is not None:
            self.inflight.discard((name, self.active_tab))
        self.refresh_selected()
        self.show_selected()

    def do_app_reload(self) -> None:
        self.reload_inventory()
        self.notify(f"{len(self.inventory.devices) if self.inventory else 0} devices in "
                    f"{self.db_path}")

    def do_app_toggle_tree(self) -> None:
        left = self.query_one("#left")
        self.tree_hidden_by_user = bool(left.display)
        left.display = not left.display
        if not left.display and isinstance(self.focused, DeviceTree):
            self.focus_active_tab()

    def do_app_toggle_log(self) -> None:
        pane = self.query_one("#log-pane", LogPane)
        pane.display = not pane.display

    def do_app_maximize(self) -> None:
        if self.screen.maximized is not None:
            self.screen.minimize()
        elif self.focused is not None:
            self.screen.maximize(self.focused)

    def do_app_next_tab(self) -> None:
        self._step_tab(1)

    def do_app_previous_tab(self) -> None:
        self._step_tab(-1)

    def _step_tab(self, step: int) -> None:
        tabs = self.query_one("#tabs", TabbedContent)
        index = TABS.index(self.active_tab)
        # Focus leaves the old tab first, because Textual refocuses a hidden focused widget
        # itself, sometimes after focus_active_tab, and picked the Shell tab's input.
        self.set_focus(None)
        tabs.active = TABS[(index + step) % len(TABS)]
        # The tab's keys (n, e, d, space) belong to its table, so focus goes there.
        self.call_after_refresh(self.focus_active_tab)

    def do_app_focus_shell(self) -> None:
        self.query_one("#tabs", TabbedContent).active = "shell"
        self.query_one("#shell-input").focus()

    def focus_active_tab(self) -> None:
        """Focus the active tab's table or output, or its input when it has nothing else.

        An input would take the next ] or [ as text, so stepping through the tabs would
        stop at the Shell tab; : or Tab reaches the command line from its output.
        """
        pane = self.query_one("#tabs", TabbedContent).active_pane
        if pane is None:
            return
        # A hidden widget, such as the Logs tab's file input, would take keys unseen.
        candidates = [widget for widget in pane.query("*") if widget.focusable and widget.display]
        for widget in sorted(candidates, key=lambda widget: isinstance(widget, Input)):
            widget.focus()
            return

    def do_shell_leave(self) -> None:
        self.query_one("#shell-output").focus()

    # Filtering the focused tree or table.

    def do_app_filter(self) -> None:
        target = self.focused
        if not hasattr(target, "set_filter"):
            target = self.query_one("#devices", DeviceTree)
        self._filter_target = target
        bar = self.query_one("#filter", Input)
        bar.value = getattr(target, "filter_text", "")
        bar.display = True
        bar.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        target = getattr(self, "_filter_target", None)
        if target is not None:
            target.set_filter(event.value)

    @on(Select.Changed, "#logs-file")
    def _log_file_chosen(self, event: Select.Changed) -> None:
        name = self.selected_device
        if name is None:
            return
        chosen = event.value if isinstance(event.value, str) else DEFAULT_LOG_SOURCE
        if chosen == self.log_files.get(name, DEFAULT_LOG_SOURCE):
            return
        if chosen == DEFAULT_LOG_SOURCE:
            self.log_files.pop(name, None)
        else:
            self.log_files[name] = chosen
        self.do_app_refresh()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self._close_filter()

    def _close_filter(self) -> None:
        bar = self.query_one("#filter", Input)
        bar.display = False
        target = getattr(self, "_filter_target", None)
        if target is not None:
            target.focus()

    def filter_cancelled(self) -> None:
        self.query_one("#filter", FilterBar).value = ""
        self._close_filter()
