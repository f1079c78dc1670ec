"""Inventory paths and global options: a bad path or combination is one line and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from mudmap_tui.cli.main import main
from mudmap_tui.errors import StoreError
from mudmap_tui.store.db import open_database


def test_db_directory_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["--db", str(tmp_path), "device", "list"])
    stderr = capsys.readouterr().err
    assert status == 2
    assert str(tmp_path) in stderr
    assert "is a directory" in stderr
    assert len(stderr.splitlines()) == 1


def test_db_missing_parent_exits_2(tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nonexistdir"
    status = main(["--db", str(missing / "x.db"), "device", "list"])
    stderr = capsys.readouterr().err
    assert status == 2
    assert f"directory {missing} does not exist" in stderr
    assert not missing.exists()


def test_env_db_missing_parent_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nonexistdir"
    monkeypatch.setenv("MUDMAP_DB", str(missing / "x.db"))
    assert main(["device", "list"]) == 2
    assert str(missing) in capsys.readouterr().err
    assert not missing.exists()


def test_open_database_default_creates_parent(tmp_path: Path) -> None:
    path = tmp_path / "new" / "inventory.db"
    open_database(path).close()
    assert path.is_file()


def test_open_database_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a directory"):
        open_database(tmp_path)


def test_demo_with_db_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["--demo", "--db", str(tmp_path / "x.db"), "device", "list"])
    assert raised.value.code == 2
    assert "--demo and --db" in capsys.readouterr().err
    assert not (tmp_path / "x.db").exists()


def test_demo_list_lab_down_says_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    # An unused lab name, whose inventory lives under the test's directory.
    monkeypatch.setenv("MUDMAP_DEMO_LAB", "zq9")
    monkeypatch.setattr("mudmap_tui.lab.paths.DATA_ROOT", tmp_path)
    assert main(["--demo", "device", "list"]) == 0
    assert "the demo lab is not running: start it with `mudmap demo up`" in \
        capsys.readouterr().err


def test_device_add_missing_identity_warns(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["--db", str(tmp_path / "x.db"), "device", "add", "r1", "10.0.0.1",
                   "--identity-file", "/nonexistent/key"])
    stderr = capsys.readouterr().err
    assert status == 0
    assert "warning: identity file /nonexistent/key does not exist" in stderr


def test_device_add_existing_identity_no_warning(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "key"
    key.write_text("not really a key\n")
    main(["--db", str(tmp_path / "x.db"), "device", "add", "r1", "10.0.0.1",
          "--identity-file", str(key)])
    assert "warning" not in capsys.readouterr().err


def test_demo_up_size_0_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["demo", "up", "0"])
    stderr = capsys.readouterr().err
    assert status == 2
    assert "invalid lab size 0" in stderr
    assert "Traceback" not in stderr


def test_demo_lab_name_invalid_exits_2(monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MUDMAP_DEMO_LAB", "BAD")
    status = main(["demo", "up", "1"])
    stderr = capsys.readouterr().err
    assert status == 2
    assert "invalid lab name 'BAD'" in stderr
    assert "MUDMAP_DEMO_LAB" in stderr


def test_db_not_sqlite_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not an SQLite file, only some text. " * 4)
    status = main(["--db", str(garbage), "device", "list"])
    stderr = capsys.readouterr().err
    assert status == 2
    assert f"cannot open database {garbage}: file is not a database" in stderr
    assert "give the path of a mudmap inventory" in stderr
    assert len(stderr.splitlines()) == 1
