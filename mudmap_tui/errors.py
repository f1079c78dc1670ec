"""Exception hierarchy shared by the core, the CLI and the TUI."""

from __future__ import annotations


class MudmapError(Exception):
    """Base class of every error the app reports to the user as a message, not a traceback."""

    exit_status = 1


class InvalidInput(MudmapError):
    """A value from the user or a file breaks a rule; nothing was written."""

    exit_status = 2

    def __init__(self, field: str, value: object, rule: str) -> None:
        self.field = field
        self.value = value
        self.rule = rule
        super().__init__(f"invalid {field} {value!r}: {rule}")


class NotFound(MudmapError):
    """A named object (device, group, backup) does not exist."""

    exit_status = 2


class AlreadyExists(MudmapError):
    """An object with the same unique name already exists."""

    exit_status = 2


class LabError(MudmapError):
    """The lab of network namespaces cannot start, stop or reach a device."""


class StoreError(MudmapError):
    """The inventory database cannot be opened, read or upgraded."""


class UsageError(MudmapError):
    """A command line that parses but cannot run as given, such as an edit with no changes."""

    exit_status = 2
