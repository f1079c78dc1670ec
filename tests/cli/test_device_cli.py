"""``mudmap device``: driven through main() and once through the installed console script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from mudmap_tui.cli.main import main
from mudmap_tui.store.db import open_database
from mudmap_tui.store.devices import DeviceStore
from tests.store.database_dump import dump


@dataclass
class Result:
    status: int
    stdout: str
    stderr: str


Run = Callable[..., Result]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "inventory.db"


@pytest.fixture
def run(db_path: Path, capsys: pytest.CaptureFixture[str]) -> Run:
    """Return a function that runs ``mudmap --db <tmp> ARGS`` and captures its output."""

    def run_cli(*argv: str) -> Result:
        capsys.readouterr()
        status = main(["--db", str(db_path), *argv])
        captured = capsys.readouterr()
        return Result(status, captured.out, captured.err)

    return run_cli


def test_add_then_show(run: Run) -> None:
    added = run(
        "device",
        "add",
        "lab1",
        "10.0.0.1",
        "--port",
        "2222",
        "--user",
        "root",
        "--group",
        "core",
        "--group",
        "edge",
        "--notes",
        "rack 3",
    )
    shown = run("device", "show", "lab1")

    assert added.status == 0
    assert added.stdout == "added lab1 (root@10.0.0.1:2222)\n"
    assert shown.status == 0
    assert "host:          10.0.0.1\n" in shown.stdout
    assert "port:          2222\n" in shown.stdout
    assert "groups:        core, edge\n" in shown.stdout
    assert "notes:         rack 3\n" in shown.stdout


def test_add_writes_row(run: Run, db_path: Path) -> None:
    run("device", "add", "lab1", "10.0.0.1", "--jump", "admin@gw.example:2200")

    db = open_database(db_path)
    device = DeviceStore(db).get("lab1")
    db.close()
    assert (device.host, device.port, device.jump) == ("10.0.0.1", 22, "admin@gw.example:2200")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["lab1", "10.0.0.9"],
            "mudmap: device name 'lab1' is already in use: names must be unique;",
        ),
        (["new", "10.0.0.9", "--port", "70000"], "mudmap: invalid port 70000: must be 1 to 65535"),
        (["new", "10.0.0.9", "--port", "0"], "mudmap: invalid port 0: must be 1 to 65535"),
        (["new", "10.0.0.9", "--port", "ssh"], "mudmap: invalid port 'ssh': must be a whole"),
        (["new", ""], "mudmap: invalid host '': must not be empty"),
        (["new", "   "], "mudmap: invalid host '   ': must not be empty"),
        (["two words", "10.0.0.9"], "mudmap: invalid name 'two words': use 1 to 64 letters"),
        (["semi;colon", "10.0.0.9"], "mudmap: invalid name 'semi;colon': use 1 to 64 letters"),
        (["new", "host;rm -rf"], "mudmap: invalid host 'host;rm -rf': not an IPv4 address"),
        (["new", "10.0.0.9", "--jump", "nosuch"], "mudmap: invalid jump 'nosuch': no device"),
        (["new", "10.0.0.9", "--group", "a b"], "mudmap: invalid group 'a b': use 1 to 64"),
        (["new", "10.0.0.9", "--user=-oops"], "mudmap: invalid user '-oops':"),
    ],
)
def test_add_bad_input_rejected(run: Run, db_path: Path, argv: list[str], message: str) -> None:
    run("device", "add", "lab1", "10.0.0.1")
    before = dump(db_path)

    result = run("device", "add", *argv)

    assert result.status == 2
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1
    assert result.stdout == ""
    assert dump(db_path) == before


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--port", "70000"], "mudmap: invalid port 70000: must be 1 to 65535"),
        (["--host", ""], "mudmap: invalid host '': must not be empty"),
        (["--rename", "a;b"], "mudmap: invalid name 'a;b'"),
        (["--rename", "lab2"], "mudmap: device name 'lab2' is already in use"),
        (["--add-group", "x y"], "mudmap: invalid group 'x y'"),
        (["--jump", "lab1"], "mudmap: invalid jump 'lab1': a device cannot jump through itself"),
    ],
)
def test_edit_bad_input_rejected(run: Run, db_path: Path, argv: list[str], message: str) -> None:
    run("device", "add", "lab1", "10.0.0.1")
    run("device", "add", "lab2", "10.0.0.2")
    before = dump(db_path)

    result = run("device", "edit", "lab1", "--notes", "changed", *argv)

    assert result.status == 2
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1
    assert dump(db_path) == before


def test_edit_without_changes_rejected(run: Run) -> None:
    run("device", "add", "lab1", "10.0.0.1")

    result = run("device", "edit", "lab1")

    assert result.status == 2
    assert result.stderr == (
        "mudmap: nothing to change: give at least one option, see `mudmap device edit --help`\n"
    )


def test_edit_partial(run: Run) -> None:
    run("device", "add", "lab1", "10.0.0.1", "--user", "root", "--group", "a", "--group", "b")

    result = run(
        "device",
        "edit",
        "lab1",
        "--port",
        "2200",
        "--add-group",
        "c",
        "--remove-group",
        "a",
        "--user",
        "",
    )
    shown = json.loads(run("device", "show", "lab1", "--json").stdout)

    assert result.status == 0
    assert (shown["port"], shown["user"], shown["host"]) == (2200, None, "10.0.0.1")
    assert shown["groups"] == ["b", "c"]


def test_edit_rename_moves_jumps(run: Run) -> None:
    run("device", "add", "edge", "10.0.0.1")
    run("device", "add", "inner", "10.1.0.2", "--jump", "edge")

    result = run("device", "edit", "edge", "--rename", "gw")
    inner = json.loads(run("device", "show", "inner", "--json").stdout)

    assert result.stdout == "updated gw\n"
    assert inner["jump"] == "gw"


def test_show_missing_exits_2(run: Run) -> None:
    result = run("device", "show", "ghost")

    assert result.status == 2
    assert result.stderr == "mudmap: no device named 'ghost'; see `mudmap device list`\n"


def test_list_json_stable(run: Run) -> None:
    run("device", "add", "zeta", "10.0.0.3", "--group", "core")
    run("device", "add", "alpha", "2001:db8::1", "--port", "2222", "--jump", "zeta")

    first = run("device", "list", "--json")
    second = run("device", "list", "--json")
    devices = json.loads(first.stdout)

    assert first.stdout == second.stdout
    assert [device["name"] for device in devices] == ["alpha", "zeta"]
    assert list(devices[0]) == sorted(devices[0])
    assert set(devices[0]) == {
        "name",
        "host",
        "port",
        "user",
        "identity_file",
        "jump",
        "groups",
        "notes",
        "created_at",
        "updated_at",
    }
    assert devices[0]["host"] == "2001:db8::1"
    assert devices[0]["port"] == 2222
    assert devices[0]["jump"] == "zeta"
    assert devices[1]["groups"] == ["core"]


def test_list_json_by_group(run: Run) -> None:
    run("device", "add", "a", "10.0.0.1", "--group", "core")
    run("device", "add", "b", "10.0.0.2")

    devices = json.loads(run("device", "list", "--group", "core", "--json").stdout)

    assert [device["name"] for device in devices] == ["a"]


def test_list_empty(run: Run) -> None:
    as_json = run("device", "list", "--json")
    as_table = run("device", "list")

    assert json.loads(as_json.stdout) == []
    assert as_table.status == 0
    assert as_table.stdout == ""
    assert "no devices" in as_table.stderr


def test_show_json(run: Run) -> None:
    run("device", "add", "lab1", "10.0.0.1", "--identity-file", "/keys/lab", "--notes", "n")

    device = json.loads(run("device", "show", "lab1", "--json").stdout)

    assert device["name"] == "lab1"
    assert device["identity_file"] == "/keys/lab"
    assert device["notes"] == "n"
    assert device["user"] is None


def test_list_table_fits_80_columns(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    # Only a terminal gets a shrunk table; capsys's stream poses as one.
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    run("device", "add", "lab1", "10.0.0.1", "--group", "core")
    run(
        "device",
        "add",
        "edge-router-frankfurt-01",
        "2001:db8:1234:5678:9abc:def0:1234:5678",
        "--jump",
        "operator@bastion.frankfurt.example.com:2222",
        "--group",
        "frankfurt-datacenter",
        "--group",
        "edge-routers",
        "--group",
        "critical",
    )

    lines = run("device", "list").stdout.splitlines()

    assert lines[0].split() == ["NAME", "HOST", "PORT", "USER", "JUMP", "GROUPS"]
    assert len(lines) == 3
    assert all(len(line) <= 80 for line in lines)
    assert lines[1].startswith("edge-router-frankfurt-01  ")
    assert "…" in lines[1]
    assert lines[2].split() == ["lab1", "10.0.0.1", "22", "-", "-", "core"]


def test_remove_and_alias(run: Run, db_path: Path) -> None:
    run("device", "add", "a", "10.0.0.1", "--group", "g")
    run("device", "add", "b", "10.0.0.2")

    removed = run("device", "rm", "a")
    aliased = run("device", "remove", "b")
    missing = run("device", "rm", "a")

    assert (removed.status, removed.stdout) == (0, "removed a\n")
    assert aliased.status == 0
    assert missing.status == 2
    db = open_database(db_path)
    assert db.execute("SELECT count(*) FROM devices").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM device_groups").fetchone()[0] == 0
    db.close()


def test_remove_several_names(run: Run) -> None:
    run("device", "add", "edge", "10.0.0.1")
    run("device", "add", "inner", "10.1.0.2", "--jump", "edge")

    result = run("device", "rm", "edge", "inner")

    assert result.status == 0
    assert result.stdout == "removed edge\nremoved inner\n"
    assert json.loads(run("device", "list", "--json").stdout) == []


def test_remove_jump_host_rejected(run: Run, db_path: Path) -> None:
    run("device", "add", "edge", "10.0.0.1")
    run("device", "add", "inner", "10.1.0.2", "--jump", "edge")
    before = dump(db_path)

    result = run("device", "rm", "edge")

    assert result.status == 2
    assert "it is the jump host of inner" in result.stderr
    assert dump(db_path) == before


def write_config(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def test_import_ssh_config(run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    write_config(
        tmp_path / ".ssh",
        "conf.d/lab.conf",
        """
        Host lab-inner
            HostName 10.9.0.2
            ProxyJump lab1
    """,
    )
    write_config(
        tmp_path / ".ssh",
        "config",
        """
        Include conf.d/*.conf
        Host lab1
            HostName 10.9.0.1
            User root
        Host *.internal
            User ops
        Match exec "true"
            Port 1
    """,
    )

    result = run("device", "import-ssh-config", "--group", "imported")
    devices = {d["name"]: d for d in json.loads(run("device", "list", "--json").stdout)}

    assert result.status == 0
    assert "added     lab-inner\n" in result.stdout
    assert "added     lab1\n" in result.stdout
    assert "2 added from" in result.stdout
    assert "skipped wildcard Host pattern '*.internal'" in result.stderr
    assert "skipped Match block" in result.stderr
    assert devices["lab-inner"]["jump"] == "lab1"
    assert devices["lab1"]["user"] == "root"
    assert devices["lab1"]["groups"] == ["imported"]


def test_import_idempotent_and_update(run: Run, tmp_path: Path) -> None:
    config = write_config(tmp_path, "config", "Host a\n  HostName 10.0.0.1\n")
    run("device", "import-ssh-config", str(config))
    run("device", "edit", "a", "--notes", "mine")
    config.write_text("Host a\n  HostName 10.0.0.2\n  Port 2222\n")

    again = run("device", "import-ssh-config", str(config))
    unchanged = json.loads(run("device", "show", "a", "--json").stdout)
    updated_result = run("device", "import-ssh-config", str(config), "--update")
    updated = json.loads(run("device", "show", "a", "--json").stdout)

    assert again.status == 0
    assert "exists    a (left as it is; --update overwrites it)" in again.stdout
    assert unchanged["host"] == "10.0.0.1"
    assert "updated   a" in updated_result.stdout
    assert (updated["host"], updated["port"], updated["notes"]) == ("10.0.0.2", 2222, "mine")


def test_import_bad_entry_writes_nothing(run: Run, db_path: Path, tmp_path: Path) -> None:
    run("device", "add", "existing", "10.0.0.1")
    before = dump(db_path)
    config = write_config(
        tmp_path,
        "config",
        """
        Host good1
            HostName 10.0.0.5
        Host bad
            HostName 10.0.0.6
            Port 70000
        Host good2
    """,
    )

    result = run("device", "import-ssh-config", str(config))

    assert result.status == 2
    assert result.stderr == (
        f"mudmap: {config}:5: Host bad: invalid port 70000: must be 1 to 65535;"
        " nothing was imported\n"
    )
    assert dump(db_path) == before


def test_db_path_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "from-env" / "inv.db"
    path.parent.mkdir()
    monkeypatch.setenv("MUDMAP_DB", str(path))

    status = main(["device", "add", "lab1", "10.0.0.1"])

    assert status == 0
    assert path.exists()
    assert "lab1" in " ".join(dump(path))


def test_demo_uses_lab_inventory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    demo_path = tmp_path / "demo" / "inventory.db"
    monkeypatch.setattr("mudmap_tui.lab.paths.inventory_path", lambda: demo_path)
    monkeypatch.setenv("MUDMAP_DB", str(tmp_path / "mine.db"))

    status = main(["--demo", "device", "add", "lab1", "10.0.0.1"])

    assert status == 0
    assert demo_path.exists()
    assert not (tmp_path / "mine.db").exists()


def test_console_script_exit_status(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "mudmap"
    if not script.exists():
        script = Path(shutil.which("mudmap") or "mudmap")
    db = tmp_path / "inventory.db"
    env = {**os.environ, "MUDMAP_DB": str(db)}

    added = subprocess.run(
        [str(script), "device", "add", "lab1", "10.0.0.1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    bad = subprocess.run(
        [str(script), "device", "add", "lab2", "10.0.0.2", "--port", "70000"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    listed = subprocess.run(
        [str(script), "device", "list", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )

    assert added.returncode == 0, added.stderr
    assert bad.returncode == 2
    assert bad.stderr == "mudmap: invalid port 70000: must be 1 to 65535\n"
    assert listed.returncode == 0
    assert [device["name"] for device in json.loads(listed.stdout)] == ["lab1"]
