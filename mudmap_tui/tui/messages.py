"""Messages that background workers post to the app; only their handlers touch widgets."""

from __future__ import annotations

from typing import Any

from textual.message import Message


class DeviceChecked(Message):
    """A status check of one device finished, with the agent's hello or the error."""

    def __init__(self, device: str, at: float, hello: dict[str, Any] | None = None,
                 error: BaseException | None = None) -> None:
        super().__init__()
        self.device = device
        self.at = at
        self.hello = hello
        self.error = error


class TabLoaded(Message):
    """A tab's data for one device arrived (``value``) or could not be read (``error``)."""

    def __init__(self, device: str, tab: str, at: float, value: Any = None,
                 error: BaseException | None = None) -> None:
        super().__init__()
        self.device = device
        self.tab = tab
        self.at = at
        self.value = value
        self.error = error


class ShellOutputReceived(Message):
    """Whole lines of a shell run's output from one device."""

    def __init__(self, device: str, stream: str, text: str) -> None:
        super().__init__()
        self.device = device
        self.stream = stream
        self.text = text


class ShellDeviceFinished(Message):
    """One device of a shell run finished; ``summary`` is its exit line."""

    def __init__(self, device: str, summary: str, ok: bool) -> None:
        super().__init__()
        self.device = device
        self.summary = summary
        self.ok = ok


class ShellRunFinished(Message):
    """Every device of a shell run has a result."""

    def __init__(self, summary: str) -> None:
        super().__init__()
        self.summary = summary


class ActionFinished(Message):
    """A device action (a change, a backup, a reboot) finished, or failed with ``error``."""

    def __init__(self, device: str, title: str, error: BaseException | None = None,
                 refresh_tab: str | None = None, summary: str | None = None) -> None:
        super().__init__()
        self.device = device
        self.title = title
        self.error = error
        self.refresh_tab = refresh_tab
        # How a success ended, such as "applied and confirmed (ID)"; None says "done".
        self.summary = summary
