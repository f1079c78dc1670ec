"""The app's command-line options on ``mudmap`` and ``mudmap demo up --open``."""

from __future__ import annotations

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
