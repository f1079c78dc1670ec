"""The app's log file: private mode and one device prefix per line."""

from __future__ import annotations

import logging
from pathlib import Path

from mudmap_tui import app_log
from mudmap_tui.ssh.log import DeviceLogger


def test_log_file_private_single_prefix(tmp_path: Path) -> None:
    path = tmp_path / "log" / "mudmap.log"
    handlers = app_log.install(path)
    try:
        DeviceLogger("lab1", "agent").info("uploading agent %s", "abc")
        logging.getLogger("mudmap.tui").info("plain line", extra={"device": "lab2",
                                                                  "operation": "status"})
    finally:
        app_log.uninstall(*handlers)
    lines = path.read_text().splitlines()
    assert lines[0].endswith(" INFO mudmap.ssh [lab1/agent] uploading agent abc")
    assert lines[1].endswith(" INFO mudmap.tui [lab2/status] plain line")
    assert path.stat().st_mode & 0o777 == 0o600


def test_existing_log_file_made_private(tmp_path: Path) -> None:
    path = tmp_path / "mudmap.log"
    path.write_text("old line\n")
    path.chmod(0o644)
    app_log.uninstall(*app_log.install(path))
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_text() == "old line\n"
