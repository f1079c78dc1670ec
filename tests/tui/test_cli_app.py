"""The app's command-line options on ``mudmap`` and ``mudmap demo up --open``."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from mudmap_tui import keymap
from mudmap_tui.cli.main import build_parser, main


@pytest.mark.parametrize(("argv", "read_only", "refresh"), [
    ([], False, 5.0),
    (["--read-only", "--refresh", "0"], True, 0.0),
    (["--read-only", "demo", "up", "--open"], True, 5.0),
    (["demo", "up", "--open", "--read-only", "--refresh", "2.5"], True, 2.5),
    (["demo", "up"], False, 5.0),
])
def test_app_options_parse(argv: list[str], read_only: bool, refresh: float) -> None:
    args = build_parser().parse_args(argv)
    assert args.read_only is read_only
    assert args.refresh == refresh


@pytest.mark.parametrize("value", ["-1", "soon", "7200"])
def test_refresh_rejects_bad_values(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--refresh", value])
    assert f"invalid --refresh '{value}'" in capsys.readouterr().err


def test_bad_keymap_stops_with_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "keymap.toml"
    path.write_text('[keys]\n"device.explode" = "x"\n')
    monkeypatch.setattr(keymap, "default_path", lambda: path)
    assert main(["--db", str(tmp_path / "inventory.db")]) == 2
    assert "device.explode" in capsys.readouterr().err


def test_app_run_prints_no_log_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    from mudmap_tui.tui.app import MudmapApp

    root = logging.getLogger()
    stderr_handler = logging.StreamHandler(sys.stderr)
    root.addHandler(stderr_handler)
    restored: list[bool] = []

    def run(app: MudmapApp) -> None:
        # What the SSH layer logs while the app runs, before its own handlers exist.
        logging.getLogger("mudmap.ssh").warning("[lab1/agent] agent channel broke")

    monkeypatch.setattr(MudmapApp, "run", run)
    monkeypatch.setattr(keymap, "default_path", lambda: tmp_path / "no-keymap.toml")
    try:
        assert main(["--db", str(tmp_path / "inventory.db")]) == 0
        restored.append(stderr_handler in root.handlers)
    finally:
        root.removeHandler(stderr_handler)
    assert "agent channel broke" not in capsys.readouterr().err
    assert restored == [True]
