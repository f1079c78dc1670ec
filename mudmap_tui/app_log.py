"""The app's log: a file under the user log directory, and a feed for the TUI's log pane.

Records carry ``device`` and ``operation`` attributes where the caller sets them (the SSH
layer's DeviceLogger does); the file format prints both. Callers log host names, commands and
reasons, never key material or passwords: no handler here redacts anything.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from mudmap_tui import paths

LOG_FILE_NAME = "mudmap.log"
FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s %(context)s%(message)s"
# Records the log pane keeps for when it is opened later.
BACKLOG = 500


class ContextFilter(logging.Filter):
    """Give every record ``device`` and ``operation`` attributes, ``-`` when unset."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name in ("device", "operation"):
            if not hasattr(record, name):
                setattr(record, name, "-")
        return True


class ContextFormatter(logging.Formatter):
    """Put ``[device/operation]`` before the message, unless the message starts with it.

    The SSH layer's DeviceLogger writes that prefix itself, so it is not printed twice.
    """

    def format(self, record: logging.LogRecord) -> str:
        context = f"[{getattr(record, 'device', '-')}/{getattr(record, 'operation', '-')}] "
        record.context = "" if record.getMessage().startswith(context) else context
        return super().format(record)


class PaneHandler(logging.Handler):
    """Keep recent records and pass each one to a listener, such as the TUI's log pane."""

    def __init__(self, level: int = logging.INFO, backlog: int = BACKLOG) -> None:
        super().__init__(level)
        self.records: collections.deque[logging.LogRecord] = collections.deque(maxlen=backlog)
        self.listener: Callable[[logging.LogRecord], None] | None = None
        self.addFilter(ContextFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        if self.listener is not None:
            try:
                self.listener(record)
            except Exception:  # a broken listener must not break logging
                self.handleError(record)


def log_file_path() -> Path:
    return paths.log_dir() / LOG_FILE_NAME


def install(path: Path | None = None, level: int = logging.INFO,
            ) -> tuple[logging.Handler, PaneHandler]:
    """Attach a file handler and a pane handler to the ``mudmap`` logger; return both."""
    path = path or log_file_path()
    _create_private(path)
    file_handler = logging.FileHandler(path, encoding="utf-8")
    file_handler.setFormatter(ContextFormatter(FILE_FORMAT))
    file_handler.addFilter(ContextFilter())
    file_handler.setLevel(level)
    pane_handler = PaneHandler(level)
    logger = logging.getLogger("mudmap")
    logger.addHandler(file_handler)
    logger.addHandler(pane_handler)
    # Handlers above "mudmap" (the CLI's stderr handler) would write over the full-screen
    # app, so records stop here while the app runs.
    logger.propagate = False
    if logger.level == logging.NOTSET or logger.level > level:
        logger.setLevel(level)
    return file_handler, pane_handler


def _create_private(path: Path) -> None:
    """Create the log file with mode 0600, as it names hosts, users and commands."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)


def uninstall(*handlers: logging.Handler) -> None:
    logger = logging.getLogger("mudmap")
    for handler in handlers:
        logger.removeHandler(handler)
        handler.close()
    logger.propagate = True


@contextlib.contextmanager
def terminal_handlers_detached() -> Iterator[list[logging.Handler]]:
    """Take the root logger's stderr and stdout handlers off while a full-screen app runs.

    A record that reached them would print over the app's screen; the app's own file and
    pane handlers still receive every record. Yields the detached handlers.
    """
    root = logging.getLogger()
    detached: list[logging.Handler] = [
        handler for handler in root.handlers
        if type(handler) is logging.StreamHandler
        and getattr(handler, "stream", None) in (sys.stderr, sys.stdout, sys.__stderr__,
                                                  sys.__stdout__)
    ]
    for handler in detached:
        root.removeHandler(handler)
    try:
        yield detached
    finally:
        for handler in detached:
            root.addHandler(handler)


def format_record(record: logging.LogRecord) -> str:
    """Return a one-line text for the log pane: level, device, operation, message."""
    device = getattr(record, "device", "-")
    operation = getattr(record, "operation", "-")
    where = f"{device}/{operation} " if device != "-" else ""
    return f"{record.levelname:<7} {where}{record.getMessage()}"
