"""The SSH layer and the fleet engine against the lab's real OpenSSH servers."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import asyncssh
import pytest

from mudmap_tui import fleet
from mudmap_tui.cli.main import main
from mudmap_tui.lab import Lab
from mudmap_tui.ssh.config import SshSettings
from mudmap_tui.ssh.errors import HostKeyChanged, HostKeyUnknown
from mudmap_tui.ssh.hostkeys import HostKeyPolicy, HostKeyStore, fingerprint
from mudmap_tui.ssh.pool import ConnectionPool
from mudmap_tui.ssh.process import run_remote
from mudmap_tui.store.db import open_database
from mudmap_tui.store.devices import DeviceStore
from tests.ssh.conftest import lab_inventory

pytestmark = [pytest.mark.lab, pytest.mark.timeout(180)]


def lab_fingerprint(lab: Lab, device: str) -> str:
    address = lab.devices[device].address
    for line in lab.known_hosts.read_text().splitlines():
        host, key_type, data = line.split()[:3]
        if host == address:
            return fingerprint(asyncssh.import_public_key(f"{key_type} {data}"))
    raise AssertionError(f"{address} is not in {lab.known_hosts}")


def strict_pool(lab: Lab, store: HostKeyStore,
                policy: HostKeyPolicy = HostKeyPolicy.STRICT) -> ConnectionPool:
    return ConnectionPool(lab_inventory(lab), settings=SshSettings(config_paths=[]),
                          hostkeys=store, policy=policy)


async def test_proxyjump_reaches_inner_device(lab: Lab, lab_pool: ConnectionPool) -> None:
    result = await run_remote(await lab_pool.connection("lab-inner"), "hostname", timeout=30)
    assert result.exit_status == 0
    assert result.stdout == b"lab-inner\n"
    jump = lab_pool.cached("lab1")
    assert jump is not None and jump.connected


async def test_ssh_config_proxyjump_and_hostname(lab: Lab, tmp_path: Path) -> None:
    from mudmap_tui.store.models import Device

    devices = [Device(name=name, host=name) for name in ("lab1", "lab-inner")]
    pool = ConnectionPool(devices, settings=SshSettings(config_paths=[lab.ssh_config]),
                          hostkeys=HostKeyStore(tmp_path / "known_hosts", []))
    try:
        connection = await pool.connection("lab-inner")
        assert connection.target.host == lab.devices["lab-inner"].address
        assert connection.target.jump == "lab1"
        result = await run_remote(connection, "hostname", timeout=30)
        assert result.stdout == b"lab-inner\n"
    finally:
        await pool.close()


async def test_unknown_host_key_rejected_then_accepted(lab: Lab, tmp_path: Path) -> None:
    store = HostKeyStore(tmp_path / "known_hosts", [])
    pool = strict_pool(lab, store)
    try:
        with pytest.raises(HostKeyUnknown) as caught:
            await pool.connection("lab2")
        assert caught.value.fingerprint == lab_fingerprint(lab, "lab2")
        assert caught.value.device == "lab2"
        assert not store.path.exists()
        pool.accept_host_key("lab2", caught.value.public_key)
        result = await run_remote(await pool.connection("lab2"), "hostname", timeout=30)
        assert result.stdout == b"lab2\n"
    finally:
        await pool.close()


async def test_accept_new_records_key(lab: Lab, tmp_path: Path) -> None:
    store = HostKeyStore(tmp_path / "known_hosts", [])
    pool = strict_pool(lab, store, HostKeyPolicy.ACCEPT_NEW)
    try:
        await pool.connection("lab3")
    finally:
        await pool.close()
    recorded = store.lookup(lab.devices["lab3"].address, "", 22).host_keys
    assert [fingerprint(key) for key in recorded] == [lab_fingerprint(lab, "lab3")]


async def test_changed_host_key_always_rejected(lab: Lab, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    address = lab.devices["lab2"].address
    store = HostKeyStore(tmp_path / "data" / "mudmap" / "known_hosts", [])
    impostor = asyncssh.generate_private_key("ssh-ed25519").convert_to_public()
    store.add(address, 22, impostor)
    pool = strict_pool(lab, store, HostKeyPolicy.ACCEPT_NEW)
    try:
        with pytest.raises(HostKeyChanged) as caught:
            await pool.connection("lab2")
    finally:
        await pool.close()
    assert caught.value.old == [fingerprint(impostor)]
    assert caught.value.new == lab_fingerprint(lab, "lab2")
    assert caught.value.hint == "mudmap device forget-hostkey lab2"

    # The hint's command clears our entry, after which the key is unknown again.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("HOME", str(tmp_path))
    db_path = tmp_path / "inventory.db"
    db = open_database(db_path)
    DeviceStore(db).add(next(d for d in lab_inventory(lab) if d.name == "lab2"))
    db.close()
    assert main(["--db", str(db_path), "device", "forget-hostkey", "lab2"]) == 0
    assert store.lookup(address, "", 22).host_keys == []


async def test_stopped_sshd_fails_others_succeed(lab: Lab, lab_pool: ConnectionPool) -> None:
    lab.stop_sshd("lab3")
    try:
        run = fleet.run_command(lab_pool, list(lab.devices), "hostname", timeout=20)
        results = {result.device: result for result in await run.wait()}
    finally:
        lab.start_sshd("lab3")
    assert results["lab3"].outcome in (fleet.Outcome.ERROR, fleet.Outcome.TIMED_OUT)
    assert results["lab3"].error_kind in ("connect_failed", "timed_out")
    assert "lab3" in (results["lab3"].error or "")
    for name in ("lab1", "lab2", "lab-inner"):
        assert results[name].outcome is fleet.Outcome.OK, results[name]
        assert results[name].stdout.decode().strip() == name


async def test_command_waiting_for_input_ends(lab_pool: ConnectionPool) -> None:
    command = 'read line; echo "read exit $?"; cat; echo cat done'
    run = fleet.run_command(lab_pool, ["lab1"], command, timeout=30)
    [result] = await run.wait()
    assert result.outcome is fleet.Outcome.OK
    assert result.stdout == b"read exit 1\ncat done\n"


def device_processes(lab: Lab, device: str) -> str:
    return lab.run(device, ["ps", "-eo", "pid,pgid,args"]).stdout


async def test_timeout_kills_remote_process(lab: Lab, lab_pool: ConnectionPool) -> None:
    marker = "sleep 4343"
    run = fleet.run_command(lab_pool, ["lab2", "lab-inner"],
                            f"echo started; {marker}; echo never", timeout=2)
    results = await run.wait()
    for result in results:
        assert result.outcome is fleet.Outcome.TIMED_OUT
        assert result.stdout == b"started\n"
        assert result.exit_status is None
    for device in ("lab2", "lab-inner"):
        # The kill happens on the device after the channel closes; poll briefly for it.
        for _ in range(100):
            if marker not in device_processes(lab, device):
                break
            await asyncio.sleep(0.1)
        assert marker not in device_processes(lab, device)


async def test_long_output_complete_under_cap(lab_pool: ConnectionPool) -> None:
    run = fleet.run_command(lab_pool, ["lab1"], "seq 1 200000", timeout=60,
                            output_cap=4 * 1024 * 1024)
    [result] = await run.wait()
    assert result.outcome is fleet.Outcome.OK
    assert result.truncated is False
    assert result.stdout.decode().split("\n")[:-1] == [str(i) for i in range(1, 200001)]


async def test_long_output_cut_at_cap(lab_pool: ConnectionPool) -> None:
    streamed: list[bytes] = []
    run = fleet.run_command(
        lab_pool, ["lab1"], "seq 1 200000", timeout=60,
        on_event=lambda event: streamed.append(event.data)
        if isinstance(event, fleet.OutputReceived) else None,
    )
    [result] = await run.wait()
    assert result.outcome is fleet.Outcome.OK
    assert result.truncated is True
    assert len(result.stdout) == fleet.DEFAULT_OUTPUT_CAP
    expected = "".join(f"{i}\n" for i in range(1, 200001)).encode()
    assert result.stdout == expected[: fleet.DEFAULT_OUTPUT_CAP]
    assert b"".join(streamed) == result.stdout


async def test_one_connection_serves_many_commands(lab_pool: ConnectionPool) -> None:
    connection = await lab_pool.connection("lab1")
    results = await asyncio.gather(*(run_remote(connection, f"echo {i}", timeout=60)
                                     for i in range(30)))
    assert [result.stdout for result in results] == [f"{i}\n".encode() for i in range(30)]
    assert connection.connect_count == 1


async def test_run_cli_prints_and_records(lab: Lab, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("HOME", str(tmp_path))
    db_path = tmp_path / "inventory.db"
    db = open_database(db_path)
    store = DeviceStore(db)
    for device in lab_inventory(lab):
        store.add(device)
    db.close()

    status = await asyncio.to_thread(
        main, ["--db", str(db_path), "run", "--all", "--accept-new", "--",
               'hostname; [ "$(hostname)" != lab2 ]'])

    assert status == 1
    out, err = capsys.readouterr()
    for name in lab.devices:
        assert f"{name:<9} | {name}\n" in out
    assert "lab2       failed" in err
    assert "3 ok, 1 failed" in err
    db = open_database(db_path)
    rows = list(db.query("SELECT device, exit_status FROM command_results ORDER BY device"))
    db.close()
    assert {row["device"]: row["exit_status"] for row in rows} == {
        "lab-inner": 0, "lab1": 0, "lab2": 1, "lab3": 0}


@pytest.fixture
def sudo_user(lab: Lab) -> Iterator[str]:
    """A non-root login user on lab1 without passwordless sudo, removed afterwards.

    lab1's /etc is an overlay of its own, so the user exists on that device only. Its
    password field '*' allows key logins only, and without a sudoers rule ``sudo -n``
    asks for a password, as with a rule that needs one.
    """
    name = f"mmsudo{os.getpid() % 100000}"
    home = f"/tmp/{name}"
    lab.run("lab1", ["useradd", "-m", "-d", home, "-s", "/bin/sh", "-p", "*", name])
    try:
        # sshd reads the lab's own authorized_keys file as the user, who may not read it.
        public_key = lab.client_key.with_name(lab.client_key.name + ".pub").read_text()
        lab.run("lab1", ["mkdir", "-p", f"{home}/.ssh"])
        lab.run("lab1", ["sh", "-c", f"cat > {home}/.ssh/authorized_keys"], input=public_key)
        lab.run("lab1", ["chown", "-R", f"{name}:{name}", home])
        yield name
    finally:
        lab.run("lab1", ["userdel", "-r", name], check=False)


async def test_sudo_password_prompt_is_reported(lab: Lab, sudo_user: str,
                                                tmp_path: Path) -> None:
    from mudmap_tui.ssh.agent_channel import agent_session
    from mudmap_tui.ssh.errors import SudoPasswordRequired
    from mudmap_tui.store.models import Device
    from tests.ssh.bundle import agent_bundle

    device = Device(name="lab1-user", host=lab.devices["lab1"].address, user=sudo_user,
                    identity_file=str(lab.client_key))
    pool = ConnectionPool([device], settings=SshSettings(config_paths=[]),
                          hostkeys=HostKeyStore(tmp_path / "known_hosts", [lab.known_hosts]))
    try:
        [result] = await fleet.run_command(pool, ["lab1-user"], "whoami; sudo true",
                                           timeout=30).wait()
        assert result.outcome is fleet.Outcome.FAILED
        assert result.stdout == f"{sudo_user}\n".encode()
        assert b"sudo" in result.stderr
        with pytest.raises(SudoPasswordRequired) as caught:
            await agent_session(await pool.connection("lab1-user"), agent_bundle())
        assert caught.value.device == "lab1-user"
    finally:
        await pool.close()
    assert subprocess.run(["id", sudo_user], capture_output=True).returncode != 0


async def test_inline_jump_host_reaches_inner(lab: Lab, tmp_path: Path) -> None:
    from mudmap_tui.store.models import Device

    jump_address = lab.devices["lab1"].address
    config = tmp_path / "ssh_config"
    # The hop is no inventory device, so its key comes from the SSH config, as with ssh -J.
    config.write_text(f"Host {jump_address}\n    IdentityFile {lab.client_key}\n")
    inner = Device(name="inner", host=lab.devices["lab-inner"].address, user="root",
                   identity_file=str(lab.client_key), jump=f"root@{jump_address}:22")
    pool = ConnectionPool([inner], settings=SshSettings(config_paths=[config]),
                          hostkeys=HostKeyStore(tmp_path / "known_hosts", [lab.known_hosts]))
    try:
        result = await run_remote(await pool.connection("inner"), "hostname", timeout=30)
        assert result.stdout == b"lab-inner\n"
        hop = pool.cached(f"jump:root@{jump_address}:22")
        assert hop is not None and hop.connected
    finally:
        await pool.close()


async def test_cancel_stops_remote_commands(lab: Lab, lab_pool: ConnectionPool) -> None:
    marker = "sleep 4545"
    devices = ["lab1", "lab2"]
    run = fleet.run_command(lab_pool, devices, f"echo started; {marker}", timeout=120)
    started: set[str] = set()
    async for event in run.events():
        if isinstance(event, fleet.OutputReceived):
            started.add(event.device)
            if started == set(devices):
                run.cancel()
    results = await run.wait()
    assert [result.outcome for result in results] == [fleet.Outcome.CANCELLED] * 2
    for device in devices:
        for _ in range(100):
            if marker not in device_processes(lab, device):
                break
            await asyncio.sleep(0.1)
        assert marker not in device_processes(lab, device)


async def test_run_cli_no_history_stores_nothing(lab: Lab, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("HOME", str(tmp_path))
    db_path = tmp_path / "inventory.db"
    db = open_database(db_path)
    DeviceStore(db).add(lab_inventory(lab)[0])
    db.close()

    status = await asyncio.to_thread(
        main, ["--db", str(db_path), "run", "lab1", "--accept-new", "--no-history", "--",
               r"printf 'secret\033[2J\n'"])

    assert status == 0
    out, _ = capsys.readouterr()
    assert "lab1 | secret\\x1b[2J\n" in out
    db = open_database(db_path)
    runs = db.execute("SELECT count(*) FROM command_runs").fetchone()[0]
    results = db.execute("SELECT count(*) FROM command_results").fetchone()[0]
    db.close()
    assert (runs, results) == (0, 0)
