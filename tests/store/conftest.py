"""Fixtures for the store tests: a fresh inventory file per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlite_utils import Database

from mudmap_tui.store.db import open_database
from mudmap_tui.store.devices import DeviceStore


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "inventory.db"


@pytest.fixture
def db(db_path: Path) -> Iterator[Database]:
    database = open_database(db_path)
    yield database
    database.close()


@pytest.fixture
def store(db: Database) -> DeviceStore:
    return DeviceStore(db)
