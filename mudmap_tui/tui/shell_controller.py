"""The shell pane's logic: its target, its history and the fleet run it streams."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from rich.text import Text

from mudmap_tui import fleet, shell_history
from mudmap_tui.fleet import DeviceFinished, FleetEvent, FleetRun, OutputReceived
from mudmap_tui.output_secrets import redact_command
from mudmap_tui.shell_history import HistoryCursor
from mudmap_tui.shell_output import LineSplitter, result_summary
from mudmap_tui.tui.dialogs_bridge import dialog_class
from mudmap_tui.tui.messages import ShellDeviceFinished, ShellOutputReceived, ShellRunFinished
from mudmap_tui.tui.widgets.device_tree import DeviceTree
from mudmap_tui.tui.widgets.shell import ShellInput, ShellPane

if TYPE_CHECKING:
    from mudmap_tui.tui.app import MudmapApp

log = logging.getLogger("mudmap.tui.shell")

TARGET_MODES = ("device", "marked", "group")
RUN_TIMEOUT = 300.0


def run_header(command: str, names: list[str]) -> str:
    """Return the line above a run's output: the target first, so 80 columns never cut it."""
    target = names[0] if len(names) == 1 else f"{len(names)} devices"
    return f"[{target}] $ {command}"


class ShellController:
    """Resolve the target, keep history per target and run commands through the fleet."""

    def __init__(self, app: MudmapApp) -> None:
        self.app = app
        self.mode = "device"
        self.run: FleetRun | None = None
        self.cursor = HistoryCursor()
        self._scope: str | None = None
        self._search_text: str | None = None
        # Off keeps commands and output out of the inventory, like `mudmap run --no-history`.
        self.keep_history = True

    # Target and history.

    @property
    def tree(self) -> DeviceTree:
        return self.app.query_one("#devices", DeviceTree)

    def targets(self) -> tuple[str, list[str], str | None]:
        """Return (description, device names, history scope) for the current mode."""
        tree = self.tree
        if self.mode == "marked":
            names = sorted(tree.marked)
            return f"{len(names)} marked devices", names, "marked"
        if self.mode == "group":
            group = tree.selected_group
            if group is None or self.app.inventory is None:
                return "no group selected", [], None
            names = list(self.app.inventory.groups.get(group, []))
            return f"group {group} ({len(names)} devices)", names, shell_history.group_scope(
                group)
        name = tree.selected_device
        if name is None:
            return "no device selected", [], None
        return f"device {name}", [name], shell_history.device_scope(name)

    def target_changed(self) -> None:
        description, _names, scope = self.targets()
        hidden = self.tree.hidden_marked if self.mode == "marked" else 0
        extra = f", {hidden} of them hidden by the filter" if hidden else ""
        running = " · running, ctrl+c cancels" if self.run is not None else ""
        history = "" if self.keep_history else " · history off"
        self.app.query_one("#shell-pane", ShellPane).set_target_text(
            f"Target: {description}{extra}{history}{running} · ctrl+t changes it")
        if scope != self._scope:
            self._scope = scope
            entries = shell_history.entries(self.app.db, scope) if scope else []
            self.cursor = HistoryCursor(entries)

    def toggle_history(self) -> None:
        """Turn storing of commands and their output in the inventory off or on again."""
        self.keep_history = not self.keep_history
        if self.keep_history:
            self.app.notify("history on: commands and their output (keys redacted) are "
                            "stored in the inventory")
        else:
            self.app.notify("history off: commands and output are not stored until you "
                            "press ctrl+o again")
        self.target_changed()

    def cycle_target(self) -> None:
        self.mode = TARGET_MODES[(TARGET_MODES.index(self.mode) + 1) % len(TARGET_MODES)]
        self.target_changed()

    def input(self) -> ShellInput:
        return self.app.query_one("#shell-input", ShellInput)

    def history_previous(self) -> None:
        field = self.input()
        field.value = self.cursor.previous(field.value)
        field.cursor_position = len(field.value)

    def history_next(self) -> None:
        field = self.input()
        field.value = self.cursor.next()
        field.cursor_position = len(field.value)

    def search(self) -> None:
        """Find the next older command containing the text typed (readline's ctrl+r)."""
        field = self.input()
        if self._search_text is None or field.value != self._last_match:
            self._search_text = field.value
            self.cursor.position = len(self.cursor.entries)
        found = self.cursor.search(self._search_text)
        if found is None:
            self.app.notify(f"no earlier command contains {self._search_text!r}")
            return
        self._last_match = found
        field.value = found
        field.cursor_position = len(found)

    _last_match = ""

    # Running.

    def submit(self) -> None:
        command = self.input().value.strip()
        if not command:
            return
        if self.run is not None:
            self.app.notify("a command is still running; ctrl+c cancels it",
                            severity="warning")
            return
        description, names, scope = self.targets()
        if not names:
            self.app.notify(f"nothing to run on: {description}", severity="warning")
            return
        if len(names) == 1:
            self.start(command, names, scope)
            return
        self._confirm_bulk(command, description, names, scope)

    def _confirm_bulk(self, command: str, description: str, names: list[str],
                      scope: str | None) -> None:
        confirm = dialog_class("confirm", "ConfirmScreen")
        if confirm is None:
            self.app.notify("the confirmation dialog is not available yet, so commands run "
                            "on one device only", severity="warning")
            return
        hidden = self.tree.hidden_marked if self.mode == "marked" else 0
        hidden_text = f" ({hidden} hidden by the current filter)" if hidden else ""
        body = (f"Run `{command}` on {len(names)} devices{hidden_text}: {description}.\n"
                + ", ".join(names[:20]) + (" …" if len(names) > 20 else ""))

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self.start(command, names, scope)

        self.app.push_screen(confirm(f"Run on {len(names)} devices", body), answered)

    def start(self, command: str, names: list[str], scope: str | None) -> None:
        keep = self.keep_history
        if scope is not None and keep:
            shell_history.add(self.app.db, scope, redact_command(command))
        self.cursor.push(command)
        self.input().value = ""
        pane = self.app.query_one("#shell-pane", ShellPane)
        pane.write(Text(run_header(command, names), style="bold"))
        splitter = LineSplitter()
        width = max(len(name) for name in names)

        def on_event(event: FleetEvent) -> None:
            # Called inside the fleet's tasks: post messages, never touch widgets here.
            if isinstance(event, OutputReceived):
                for line in splitter.feed(event.device, event.stream, event.data):
                    self.app.post_message(ShellOutputReceived(event.device, event.stream,
                                                              f"{event.device:<{width}} | {line}"))
            elif isinstance(event, DeviceFinished):
                name = event.result.device
                for stream, rest in splitter.flush(name):
                    self.app.post_message(ShellOutputReceived(name, stream,
                                                              f"{name:<{width}} | {rest}"))
                self.app.post_message(ShellDeviceFinished(
                    name, f"{name:<{width}} ⏹ {result_summary(event.result)}", event.result.ok))

        self.run = fleet.run_command(self.app.pool, names, command, timeout=RUN_TIMEOUT,
                                     on_event=on_event)
        self.target_changed()
        self.app.run_worker(self._wait(self.run, command, " ".join(names), keep),
                            group="shell", exit_on_error=False)

    async def _wait(self, run: FleetRun, command: str, target: str, keep: bool) -> None:
        try:
            results = await run.wait()
        except Exception as error:  # a failed run must not end the app
            log.exception("shell run failed")
            self.app.post_message(ShellRunFinished(f"run failed: {error}"))
            return
        ok = sum(1 for result in results if result.ok)
        try:
            from mudmap_tui.fleet_history import record_run

            if keep:
                record_run(self.app.db, command, target, run.started_at, results)
        except Exception:
            log.exception("recording the shell run failed")
        self.app.post_message(ShellRunFinished(f"{ok} of {len(results)} devices succeeded"))

    def cancel(self, quiet: bool = False) -> None:
        if self.run is None:
            return
        self.run.cancel()
        if not quiet:
            self.app.query_one("#shell-pane", ShellPane).write(
                "cancelling: the remote processes are being ended")
