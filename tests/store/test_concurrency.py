"""Two processes writing to one inventory at once: neither gets "database is locked"."""

from __future__ import annotations

import multiprocessing
import traceback
from pathlib import Path

import pytest

from mudmap_tui.store import audit
from mudmap_tui.store.db import open_database
from mudmap_tui.store.devices import DeviceStore

WRITES_PER_PROCESS = 300


def write_devices(path: str, prefix: str, start: multiprocessing.synchronize.Event) -> None:
    """Add devices, edit each one and append audit entries, each in its own transaction.

    Each add reads (is the name taken? does the jump exist?) before it writes, which is
    the pattern that fails at once under a deferred transaction.
    """
    db = open_database(path)
    store = DeviceStore(db)
    start.wait()
    for index in range(WRITES_PER_PROCESS):
        name = f"{prefix}{index}"
        store.add({"name": name, "host": f"10.{index // 250}.{index % 250}.1"})
        store.update(name, {"notes": f"edited by {prefix}"})
        audit.record(db, "test.write", device=name, params={"index": index})
    db.close()


def run_writer(
    path: str,
    prefix: str,
    start: multiprocessing.synchronize.Event,
    errors: multiprocessing.Queue[str],
) -> None:
    try:
        write_devices(path, prefix, start)
    except BaseException:
        errors.put(traceback.format_exc())
        raise


@pytest.mark.timeout(300)
def test_two_processes_write_at_once(tmp_path: Path) -> None:
    path = str(tmp_path / "inventory.db")
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    errors: multiprocessing.Queue[str] = context.Queue()
    writers = [
        context.Process(target=run_writer, args=(path, prefix, start, errors))
        for prefix in ("a", "b")
    ]
    for writer in writers:
        writer.start()
    start.set()
    for writer in writers:
        writer.join()

    failures = [errors.get() for _ in range(errors.qsize())]
    assert failures == []
    assert [writer.exitcode for writer in writers] == [0, 0]
    db = open_database(path)
    devices = DeviceStore(db).list()
    assert len(devices) == 2 * WRITES_PER_PROCESS
    assert {device.notes for device in devices} == {"edited by a", "edited by b"}
    assert len(audit.list(db, action="test.write", limit=10_000)) == 2 * WRITES_PER_PROCESS
    db.close()


@pytest.mark.timeout(300)
def test_processes_create_new_file_at_once(tmp_path: Path) -> None:
    """Several processes opening a missing file at once all end with one migrated schema."""
    path = str(tmp_path / "fresh.db")
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    errors: multiprocessing.Queue[str] = context.Queue()
    writers = [
        context.Process(target=run_writer, args=(path, prefix, start, errors))
        for prefix in ("c", "d", "e", "f")
    ]
    start.set()
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()

    failures = [errors.get() for _ in range(errors.qsize())]
    assert failures == []
    assert [writer.exitcode for writer in writers] == [0, 0, 0, 0]
    db = open_database(path)
    assert len(DeviceStore(db).list()) == 4 * WRITES_PER_PROCESS
    db.close()


def open_and_close(path: str, start: multiprocessing.synchronize.Event,
                   errors: multiprocessing.Queue[str]) -> None:
    start.wait()
    try:
        open_database(path).close()
    except BaseException:
        errors.put(traceback.format_exc())
        raise


@pytest.mark.timeout(300)
def test_concurrent_open_of_new_file(tmp_path: Path) -> None:
    """Eight processes switching the same new file to WAL mode at once all succeed.

    SQLite returns "database is locked" without waiting to one of two connections that both
    hold a shared lock and request the exclusive one. Each file here is new, so every round
    races on the switch.
    """
    context = multiprocessing.get_context("fork")
    failures: list[str] = []
    for round_number in range(20):
        path = str(tmp_path / f"round{round_number}.db")
        start = context.Event()
        errors: multiprocessing.Queue[str] = context.Queue()
        openers = [context.Process(target=open_and_close, args=(path, start, errors))
                   for _ in range(8)]
        for opener in openers:
            opener.start()
        start.set()
        for opener in openers:
            opener.join()
        failures += [errors.get() for _ in range(errors.qsize())]
        db = open_database(path)
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        db.close()
    assert failures == []
