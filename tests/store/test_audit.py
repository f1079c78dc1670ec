"""The audit log and the UI state table."""

from __future__ import annotations

import json

import pytest
from sqlite_utils import Database

from mudmap_tui.errors import InvalidInput
from mudmap_tui.store import audit, ui_state


def test_record_redacts_secret_keys(db: Database) -> None:
    params = {
        "interface": "wg0",
        "private_key": "cHJpdmF0ZQ==",
        "PrivateKey": "cHJpdmF0ZQ==",
        "peers": [{"public_key": "cHVibGlj", "preshared-key": "cHNr"}],
        "auth": {"password": "hunter2", "client_secret": "s3", "user": "root"},
        "passphrase": "open sesame",
    }

    audit.record(db, "interface.create", device="lab1", params=params, actor="tester")

    stored = db.execute("SELECT params_json FROM audit_log").fetchone()[0]
    decoded = json.loads(stored)
    assert decoded["interface"] == "wg0"
    assert decoded["private_key"] == audit.REDACTED
    assert decoded["PrivateKey"] == audit.REDACTED
    assert decoded["peers"] == [{"public_key": "cHVibGlj", "preshared-key": audit.REDACTED}]
    assert decoded["auth"] == {
        "password": audit.REDACTED,
        "client_secret": audit.REDACTED,
        "user": "root",
    }
    assert decoded["passphrase"] == audit.REDACTED
    for secret in ("cHJpdmF0ZQ", "cHNr", "hunter2", "open sesame"):
        assert secret not in stored


def test_redact_leaves_input_unchanged() -> None:
    params = {"password": "hunter2"}

    audit.redact(params)

    assert params == {"password": "hunter2"}


def test_list_newest_first_and_filters(db: Database) -> None:
    audit.record(db, "device.add", device="a", actor="ann")
    audit.record(db, "device.add", device="b", actor="ann")
    audit.record(db, "device.remove", device="a", result="failed", detail="in use", actor="bob")

    everything = audit.list(db)
    for_a = audit.list(db, device="a")
    adds = audit.list(db, action="device.add")

    assert [(e.action, e.device) for e in everything] == [
        ("device.remove", "a"),
        ("device.add", "b"),
        ("device.add", "a"),
    ]
    assert everything[0].result == "failed"
    assert everything[0].detail == "in use"
    assert everything[0].actor == "bob"
    assert [e.action for e in for_a] == ["device.remove", "device.add"]
    assert [e.device for e in adds] == ["b", "a"]
    assert len(audit.list(db, limit=1)) == 1


def test_record_defaults_actor_to_login(db: Database) -> None:
    audit.record(db, "device.add", device="a")

    assert audit.list(db)[0].actor == audit.current_actor()


def test_ui_state_round_trip(db: Database) -> None:
    assert ui_state.get(db, "devices.sort", default="name") == "name"

    ui_state.put(db, "devices.sort", {"column": "host", "reverse": True})
    ui_state.put(db, "devices.sort", {"column": "port", "reverse": False})

    assert ui_state.get(db, "devices.sort") == {"column": "port", "reverse": False}
    assert db.execute("SELECT count(*) FROM ui_state").fetchone()[0] == 1
    ui_state.delete(db, "devices.sort")
    assert ui_state.get(db, "devices.sort") is None


@pytest.mark.parametrize("limit", [0, -3])
def test_list_rejects_limit_below_one(db: Database, limit: int) -> None:
    audit.record(db, "device.add", device="a")

    with pytest.raises(InvalidInput, match="use 1 or more"):
        audit.list(db, limit=limit)
