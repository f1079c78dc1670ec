"""The one table of user actions: key bindings, the help screen and the command palette.

Each action has a stable id (the binding id users remap in keymap.toml), a default key, the
scope where it applies (the focused pane) and whether it changes a device, which read-only
mode hides and rejects. The TUI builds its bindings from this table; nothing else defines
keys.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Scopes name the pane that must have focus; "app" applies everywhere.
SCOPES = ("app", "devices", "interfaces", "wireguard", "wgquick", "services", "shell",
          "backups")

SCOPE_TITLES = {
    "app": "Everywhere",
    "devices": "Device tree",
    "interfaces": "Interfaces table",
    "wireguard": "WireGuard table",
    "wgquick": "wg-quick configs table",
    "services": "Services table",
    "shell": "Shell pane",
    "backups": "Backups table",
}


@dataclass(frozen=True)
class Action:
    """One user action and its default key."""

    id: str
    key: str
    description: str
    scope: str
    changes_device: bool = False
    # False keeps the binding out of the footer (it still works, and help lists it).
    show: bool = True
    # Actions that work on every marked item when items are marked.
    bulk: bool = False

    @property
    def area(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def verb(self) -> str:
        return self.id.split(".", 1)[1].replace("_", " ")

    @property
    def title(self) -> str:
        """Return the palette's name for the action, such as ``device: reboot``."""
        return f"{self.area}: {self.verb}"

    @property
    def method(self) -> str:
        """Return the name of the handler, such as ``device_reboot`` for ``device.reboot``."""
        return self.id.replace(".", "_")

    @property
    def short(self) -> str:
        """Return the footer's label: the description up to its colon."""
        return self.description.split(":")[0]


def _a(id: str, key: str, description: str, scope: str, **options: bool) -> Action:
    return Action(id, key, description, scope, **options)


ACTIONS: tuple[Action, ...] = (
    # Everywhere.
    _a("app.quit", "q", "Quit", "app"),
    _a("app.help", "question_mark,f1", "Help: every key where the focus is", "app"),
    _a("app.refresh", "f5", "Refresh: read the selected device now", "app"),
    _a("app.reload", "ctrl+r", "Reload: read the inventory file again", "app"),
    _a("app.toggle_tree", "ctrl+b", "Tree: hide or show the device tree", "app"),
    _a("app.toggle_log", "ctrl+l", "Log: show or hide the error log pane", "app"),
    _a("app.maximize", "z", "Zoom: maximize or restore the focused pane", "app", show=False),
    _a("app.filter", "slash", "Filter: narrow the focused tree or table", "app"),
    _a("app.next_tab", "right_square_bracket", "Next tab", "app", show=False),
    _a("app.previous_tab", "left_square_bracket", "Previous tab", "app", show=False),
    _a("app.focus_shell", "colon", "Shell: type a command for the selection", "app"),
    # Devices, from the tree.
    _a("device.mark", "space", "Mark: mark or unmark the device or group", "devices"),
    _a("device.add", "a", "Add: a device to the inventory", "devices", changes_device=True),
    _a("device.edit", "e", "Edit: the device's address, user, key and groups",
       "devices", changes_device=True),
    _a("device.remove", "delete", "Remove: the device from the inventory", "devices",
       changes_device=True),
    _a("device.onboard", "o", "Onboard: install a key and check the agent", "devices",
       changes_device=True),
    _a("device.import", "i", "Import: devices from ~/.ssh/config", "devices",
       changes_device=True),
    _a("device.accept_host_key", "k", "Key: check and accept an unknown host key", "devices"),
    _a("device.reconnect", "c", "Reconnect: drop and reopen the SSH connection", "devices"),
    _a("device.ssh", "s", "SSH: open an interactive ssh session", "devices"),
    _a("device.reboot", "R", "Reboot: the device or every marked one (typed confirmation)",
       "devices",
       changes_device=True, bulk=True),
    _a("device.shutdown", "P", "Power off: the device (typed confirmation)", "devices",
       changes_device=True),
    _a("device.upload", "U", "Upload: a file to the device", "devices", changes_device=True),
    _a("device.download", "D", "Download: a file from the device", "devices"),
    _a("backup.now", "b", "Backup: take a configuration backup now", "devices",
       changes_device=False, bulk=True),
    # Interfaces of the selected device.
    _a("interface.mark", "space", "Mark: mark or unmark the interface", "interfaces"),
    _a("interface.create", "n", "New: create an interface", "interfaces", changes_device=True),
    _a("interface.edit", "e", "Edit: the interface's name, MTU, state and addresses",
       "interfaces", changes_device=True),
    _a("interface.delete", "delete", "Delete: the interface", "interfaces",
       changes_device=True),
    _a("interface.add_address", "plus", "Add address: to the interface",
       "interfaces", changes_device=True),
    _a("interface.remove_address", "minus", "Remove address: from the interface", "interfaces",
       changes_device=True),
    _a("interface.up", "u", "Up: set the interface up", "interfaces", changes_device=True),
    _a("interface.down", "d", "Down: set the interface down", "interfaces",
       changes_device=True),
    _a("interface.mtu", "m", "MTU: change the interface MTU", "interfaces",
       changes_device=True),
    _a("interface.drift", "v", "Drift: show runtime against persisted config", "interfaces"),
    # WireGuard of the selected device.
    _a("wireguard.add_peer", "n", "New peer: on the WireGuard interface",
       "wireguard", changes_device=True),
    _a("wireguard.edit_peer", "e", "Edit peer: endpoint, allowed IPs, keepalive",
       "wireguard", changes_device=True),
    _a("wireguard.remove_peer", "delete", "Remove peer: from the WireGuard interface", "wireguard",
       changes_device=True),
    # wg-quick configuration files of the selected device.
    _a("wgquick.show", "v", "View: the config's settings and peers, without keys", "wgquick"),
    # Services of the selected device.
    _a("service.mark", "space", "Mark: mark or unmark the service", "services"),
    _a("service.start", "s", "Start: the service", "services", changes_device=True),
    _a("service.stop", "x", "Stop: the service", "services", changes_device=True),
    _a("service.restart", "r", "Restart: the service or every marked one", "services",
       changes_device=True, bulk=True),
    # Shell pane.
    _a("shell.run", "enter", "Run: the command on the target", "shell", changes_device=True,
       bulk=True),
    _a("shell.cancel", "ctrl+c", "Cancel: stop the running command on every device", "shell"),
    _a("shell.search", "ctrl+r", "Search: find an earlier command", "shell"),
    _a("shell.target", "ctrl+t", "Target: device, marked devices or group", "shell"),
    _a("shell.keep_history", "ctrl+o", "History: keep or stop keeping commands and output",
       "shell"),
    _a("shell.history_previous", "up", "Previous: command in this target's history", "shell",
       show=False),
    _a("shell.history_next", "down", "Next: command in this target's history", "shell",
       show=False),
    _a("shell.leave", "escape", "Leave: the command line, for the output and ] [ tab keys",
       "shell", show=False),
    # Backups of the selected device.
    _a("backup.take", "b", "Backup: take a backup of the selected device now", "backups"),
    _a("backup.mark", "space", "Mark: mark a backup to compare", "backups"),
    _a("backup.diff", "d", "Diff: compare two backups", "backups"),
)

ACTIONS_BY_ID: dict[str, Action] = {action.id: action for action in ACTIONS}


def in_scope(scope: str, actions: Iterable[Action] = ACTIONS) -> list[Action]:
    return [action for action in actions if action.scope == scope]


def get(action_id: str) -> Action:
    """Return the action with ``action_id``; raise KeyError naming it when there is none."""
    try:
        return ACTIONS_BY_ID[action_id]
    except KeyError:
        raise KeyError(f"no action has the id {action_id!r}") from None


def key_label(keys: str) -> str:
    """Return a key list as people read it: ``?, F1`` for ``question_mark,f1``."""
    names = {"question_mark": "?", "slash": "/", "space": "space", "plus": "+", "minus": "-",
             "colon": ":", "right_square_bracket": "]", "left_square_bracket": "[",
             "delete": "Del", "enter": "Enter"}
    labels = []
    for key in keys.split(","):
        key = key.strip()
        if key in names:
            labels.append(names[key])
        elif key.startswith("ctrl+"):
            labels.append("^" + key[5:])
        elif key.startswith("f") and key[1:].isdigit():
            labels.append(key.upper())
        else:
            labels.append(key)
    return ", ".join(labels)
