"""Agent delivery and calls on the lab's devices."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from mudmap_tui.cli.main import main
from mudmap_tui.lab import Lab
from mudmap_tui.ssh.agent_channel import CACHE_DIR, agent_session
from mudmap_tui.ssh.errors import AgentNotFound, AgentUnavailable, AgentUnsupported
from mudmap_tui.ssh.pool import ConnectionPool
from mudmap_tui.store.db import open_database
from mudmap_tui.store.devices import DeviceStore
from tests.ssh.bundle import agent_bundle
from tests.ssh.conftest import lab_inventory, trusting_pool

pytestmark = [pytest.mark.lab, pytest.mark.timeout(180)]


def remote_sha256(lab: Lab, device: str) -> str:
    path = f"/root/{CACHE_DIR}/{agent_bundle().filename}"
    return lab.run(device, ["sha256sum", path]).stdout.split()[0]


async def start_agent(pool: ConnectionPool, device: str):  # type: ignore[no-untyped-def]
    return await agent_session(await pool.connection(device), agent_bundle())


async def test_agent_uploaded_once_per_version(lab: Lab, tmp_path: Path) -> None:
    lab.run("lab2", ["rm", "-rf", "/root/.cache/mudmap"])
    first_pool = trusting_pool(lab, tmp_path / "known_hosts")
    try:
        first = await start_agent(first_pool, "lab2")
        assert first.uploaded is True
        assert first.hello is not None and first.hello["hostname"] == "lab2"
    finally:
        await first_pool.close()
    assert remote_sha256(lab, "lab2") == agent_bundle().sha256

    second_pool = trusting_pool(lab, tmp_path / "known_hosts")
    try:
        second = await start_agent(second_pool, "lab2")
        assert second.uploaded is False
        assert second.upload_count == 0
        assert second.hello is not None and second.hello["hostname"] == "lab2"
    finally:
        await second_pool.close()


async def test_corrupt_cached_agent_replaced(lab: Lab, tmp_path: Path) -> None:
    pool = trusting_pool(lab, tmp_path / "known_hosts")
    try:
        await start_agent(pool, "lab3")
    finally:
        await pool.close()
    path = f"/root/{CACHE_DIR}/{agent_bundle().filename}"
    lab.run("lab3", ["sh", "-c", f"echo corrupted > {path}"])

    pool = trusting_pool(lab, tmp_path / "known_hosts")
    try:
        session = await start_agent(pool, "lab3")
        assert session.uploaded is True
    finally:
        await pool.close()
    assert remote_sha256(lab, "lab3") == agent_bundle().sha256


async def test_directory_at_cache_path_named(lab: Lab, tmp_path: Path) -> None:
    path = f"/root/{CACHE_DIR}/{agent_bundle().filename}"
    lab.run("lab2", ["sh", "-c", f"rm -rf {path} && mkdir -p {path}"])
    pool = trusting_pool(lab, tmp_path / "known_hosts")
    try:
        with pytest.raises(AgentUnavailable) as error:
            await start_agent(pool, "lab2")
    finally:
        await pool.close()
        lab.run("lab2", ["rm", "-rf", path])

    assert "is not a regular file" in str(error.value)
    assert f"rm -r ~/{CACHE_DIR}/{agent_bundle().filename}" in str(error.value)


async def test_agent_restarted_after_it_dies(lab: Lab, lab_pool: ConnectionPool) -> None:
    session = await start_agent(lab_pool, "lab1")
    starts = session.start_count
    uploads = session.upload_count
    killed = lab.run("lab1", ["pkill", "-f", agent_bundle().filename], check=False)
    assert killed.returncode == 0
    for _ in range(50):
        if not session.running:
            break
        await asyncio.sleep(0.1)
    assert not session.running
    hello = await session.call("hello")
    assert hello["hostname"] == "lab1"
    assert session.start_count == starts + 1
    assert session.upload_count == uploads


async def test_concurrent_calls_matched_by_id(lab_pool: ConnectionPool) -> None:
    session = await start_agent(lab_pool, "lab-inner")
    methods = ["hello", "facts"] * 5
    results = await asyncio.gather(*(session.call(method) for method in methods))
    for method, result in zip(methods, results, strict=True):
        key = "agent_version" if method == "hello" else "os"
        assert key in result, (method, result)
    with pytest.raises((AgentUnsupported, AgentNotFound)) as caught:
        await session.call("no.such.method")
    assert caught.value.device == "lab-inner"


async def test_status_cli_reports_facts(lab: Lab, tmp_path: Path,
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
        main, ["--db", str(db_path), "status", "--accept-new", "--json"])

    assert status == 0
    report = json.loads(capsys.readouterr().out)
    by_device = {result["device"]: result for result in report["results"]}
    assert set(by_device) == set(lab.devices)
    for name, result in by_device.items():
        assert result["outcome"] == "ok"
        assert result["value"]["hello"]["hostname"] == name
        assert result["value"]["facts"]["hostname"] == name
        interface_names = [interface["name"] for interface in result["value"]["interfaces"]]
        assert "lo" in interface_names


@pytest.mark.parametrize(
    ("mount_options", "words"),
    [("ro,size=1m", "read-only file system"), ("size=64k", "is full")],
)
async def test_agent_cache_on_bad_disk(lab: Lab, tmp_path: Path, mount_options: str,
                                       words: str) -> None:
    from mudmap_tui.ssh.errors import RemoteDiskError

    # A small or read-only tmpfs over the cache, in lab2's own mount namespace only.
    lab.run("lab2", ["mkdir", "-p", "/root/.cache"])
    lab.run("lab2", ["mount", "-t", "tmpfs", "-o", mount_options, "mudmap-test",
                     "/root/.cache"])
    pool = trusting_pool(lab, tmp_path / "known_hosts")
    try:
        with pytest.raises(RemoteDiskError) as caught:
            await start_agent(pool, "lab2")
        assert caught.value.device == "lab2"
        assert words in str(caught.value)
    finally:
        await pool.close()
        lab.run("lab2", ["umount", "/root/.cache"])


async def test_old_python_named_on_device(lab: Lab, tmp_path: Path) -> None:
    from mudmap_tui.ssh.errors import PythonTooOld

    # A stand-in for python3 3.8 over lab3's interpreter, in lab3's mount namespace only.
    fake = "#!/bin/sh\necho 'python=3.8.10'\necho 'Python 3.8.10' >&2\nexit 1\n"
    lab.run("lab3", ["sh", "-c", "cat > /tmp/python38 && chmod 755 /tmp/python38"],
            input=fake)
    real = lab.run("lab3", ["readlink", "-f", "/usr/bin/python3"]).stdout.strip()
    lab.run("lab3", ["mount", "--bind", "/tmp/python38", real])
    pool = trusting_pool(lab, tmp_path / "known_hosts")
    try:
        with pytest.raises(PythonTooOld) as caught:
            await start_agent(pool, "lab3")
        assert caught.value.device == "lab3"
        assert "3.8.10" in str(caught.value)
    finally:
        await pool.close()
        lab.run("lab3", ["umount", real])
    assert "3.11" in lab.run("lab3", ["python3", "--version"]).stdout


async def test_upload_prunes_unused_versions(lab: Lab, tmp_path: Path) -> None:
    cache = f"/root/{CACHE_DIR}"
    old = f"{cache}/mudmap-agent-{'0' * 64}.pyz"
    recent = f"{cache}/mudmap-agent-{'1' * 64}.pyz"
    leftover = f"{cache}/.mudmap-agent-{'2' * 64}.pyz.sftp"
    lab.run("lab3", ["sh", "-c",
                     f"rm -rf /root/.cache/mudmap && mkdir -p {cache} && "
                     f"touch {old} {recent} {leftover} && "
                     f"touch -d '40 days ago' {old} {leftover} && "
                     f"touch -d '2 days ago' {recent}"])
    pool = trusting_pool(lab, tmp_path / "known_hosts")
    try:
        session = await start_agent(pool, "lab3")
        assert session.uploaded is True
    finally:
        await pool.close()
    names = set(lab.run("lab3", ["ls", "-A", cache]).stdout.split())
    assert agent_bundle().filename in names
    assert recent.rsplit("/", 1)[-1] in names
    assert old.rsplit("/", 1)[-1] not in names
    assert leftover.rsplit("/", 1)[-1] not in names
