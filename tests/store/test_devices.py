"""DeviceStore: rows in SQLite, uniqueness, validation, jumps, groups and audit entries."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlite_utils import Database

from mudmap_tui.errors import AlreadyExists, InvalidInput, NotFound
from mudmap_tui.store import audit
from mudmap_tui.store.devices import DeviceStore, validate_device
from tests.store.database_dump import dump


def test_add_writes_row_and_groups(store: DeviceStore, db: Database) -> None:
    store.add({"name": "lab1", "host": "10.0.0.1", "port": 2222, "groups": ["core", "edge"]})

    row = db.execute("SELECT name, host, port, user FROM devices").fetchall()
    groups = db.execute("SELECT group_name FROM device_groups ORDER BY group_name").fetchall()
    assert row == [("lab1", "10.0.0.1", 2222, None)]
    assert groups == [("core",), ("edge",)]


def test_get_returns_stored_fields(store: DeviceStore) -> None:
    store.add(
        {
            "name": "lab1",
            "host": "LAB1.Example.COM.",
            "user": "admin",
            "identity_file": "~/.ssh/lab",
            "notes": "rack 2",
        }
    )

    device = store.get("lab1")

    assert device.host == "lab1.example.com"
    assert device.user == "admin"
    assert device.identity_file == "~/.ssh/lab"
    assert device.notes == "rack 2"
    assert device.created_at is not None
    assert device.created_at == device.updated_at


def test_get_missing_raises_not_found(store: DeviceStore) -> None:
    with pytest.raises(NotFound, match="no device named 'ghost'"):
        store.get("ghost")


def test_duplicate_name_rejected(store: DeviceStore, db_path: Path) -> None:
    store.add({"name": "lab1", "host": "10.0.0.1"})
    before = dump(db_path)

    with pytest.raises(AlreadyExists, match="'lab1' is already in use"):
        store.add({"name": "lab1", "host": "10.0.0.2"})

    assert dump(db_path) == before


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "a b", "host": "h.example"}, "invalid name 'a b': use 1 to 64"),
        ({"name": "a;b", "host": "h.example"}, "invalid name 'a;b': use 1 to 64"),
        ({"name": "p", "host": "h.example", "port": 70000}, "invalid port 70000: must be 1 to"),
        ({"name": "p", "host": "h.example", "port": 0}, "invalid port 0: must be 1 to 65535"),
        ({"name": "h", "host": ""}, "invalid host '': must not be empty"),
        ({"name": "h", "host": "a;b"}, "invalid host 'a;b': not an IPv4 address"),
        ({"name": "u", "host": "h.example", "user": "-oops"}, "invalid user '-oops'"),
        ({"name": "g", "host": "h.example", "groups": ["ok", "b c"]}, "invalid group 'b c'"),
        ({"name": "x", "host": "h.example", "colour": "red"}, "invalid colour 'red': is not a"),
        ({"name": "j", "host": "h.example", "jump": "a b"}, "invalid jump 'a b': use a device"),
    ],
)
def test_invalid_field_rejected(
    store: DeviceStore, db_path: Path, fields: dict[str, object], message: str
) -> None:
    before = dump(db_path)

    with pytest.raises(InvalidInput) as caught:
        store.add(fields)

    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)
    assert dump(db_path) == before


def test_invalid_input_names_field(store: DeviceStore) -> None:
    with pytest.raises(InvalidInput) as caught:
        store.add({"name": "p", "host": "h.example", "port": 70000})

    assert caught.value.field == "port"
    assert caught.value.value == 70000
    assert caught.value.rule == "must be 1 to 65535"


def test_jump_to_device(store: DeviceStore) -> None:
    store.add({"name": "edge", "host": "10.0.0.1"})
    inner = store.add({"name": "inner", "host": "10.1.0.2", "jump": "edge"})

    assert inner.jump == "edge"


@pytest.mark.parametrize("jump", ["admin@bastion", "bastion:2222", "bastion.example.com", "[::1]"])
def test_inline_jump_accepted(store: DeviceStore, jump: str) -> None:
    device = store.add({"name": "inner", "host": "10.1.0.2", "jump": jump})

    assert device.jump == jump


def test_unknown_bare_jump_rejected(store: DeviceStore, db_path: Path) -> None:
    before = dump(db_path)

    with pytest.raises(InvalidInput, match="invalid jump 'bastoin': no device named 'bastoin'"):
        store.add({"name": "inner", "host": "10.1.0.2", "jump": "bastoin"})

    assert dump(db_path) == before


def test_self_jump_rejected(store: DeviceStore) -> None:
    with pytest.raises(InvalidInput, match="cannot jump through itself"):
        store.add({"name": "loop", "host": "10.1.0.2", "jump": "loop"})


def test_jump_loop_rejected(store: DeviceStore) -> None:
    store.add({"name": "a", "host": "10.0.0.1"})
    store.add({"name": "b", "host": "10.0.0.2", "jump": "a"})

    with pytest.raises(InvalidInput, match="would loop: a -> b -> a"):
        store.update("a", {"jump": "b"})

    assert store.get("a").jump is None


def test_list_sorted_and_by_group(store: DeviceStore) -> None:
    store.add({"name": "zeta", "host": "10.0.0.3", "groups": ["core"]})
    store.add({"name": "alpha", "host": "10.0.0.1"})
    store.add({"name": "mid", "host": "10.0.0.2", "groups": ["core", "edge"]})

    assert [d.name for d in store.list()] == ["alpha", "mid", "zeta"]
    assert [d.name for d in store.list(group="core")] == ["mid", "zeta"]
    assert [d.name for d in store.list(group="edge")] == ["mid"]
    assert store.list(group="none") == []
    assert store.groups() == {"core": 2, "edge": 1}


def test_update_changes_only_given_fields(store: DeviceStore) -> None:
    store.add({"name": "lab1", "host": "10.0.0.1", "user": "root", "notes": "keep"})

    device = store.update("lab1", {"port": 2200})

    assert device.port == 2200
    assert device.host == "10.0.0.1"
    assert device.user == "root"
    assert device.notes == "keep"
    assert device.updated_at is not None
    assert device.created_at is not None
    assert device.updated_at > device.created_at


def test_update_empty_string_clears(store: DeviceStore) -> None:
    store.add({"name": "lab1", "host": "10.0.0.1", "user": "root", "identity_file": "~/k"})

    device = store.update("lab1", {"user": "", "identity_file": ""})

    assert device.user is None
    assert device.identity_file is None


def test_update_groups(store: DeviceStore, db: Database) -> None:
    store.add({"name": "lab1", "host": "10.0.0.1", "groups": ["a", "b"]})

    device = store.update("lab1", add_groups=["c", "a"], remove_groups=["b", "absent"])

    assert device.groups == ["a", "c"]
    rows = db.execute("SELECT group_name FROM device_groups ORDER BY group_name").fetchall()
    assert rows == [("a",), ("c",)]


def test_update_invalid_writes_nothing(store: DeviceStore, db_path: Path) -> None:
    store.add({"name": "lab1", "host": "10.0.0.1"})
    before = dump(db_path)

    with pytest.raises(InvalidInput, match="invalid port 70000"):
        store.update("lab1", {"port": 70000, "host": "10.0.0.9"}, add_groups=["x"])

    assert dump(db_path) == before


def test_update_unknown_field_rejected(store: DeviceStore) -> None:
    store.add({"name": "lab1", "host": "10.0.0.1"})

    with pytest.raises(InvalidInput, match="invalid field 'colour'"):
        store.update("lab1", {"colour": "red"})


def test_rename_follows_jumps(store: DeviceStore) -> None:
    store.add({"name": "edge", "host": "10.0.0.1", "groups": ["core"]})
    store.add({"name": "inner", "host": "10.1.0.2", "jump": "edge"})

    store.update("edge", {"name": "edge2"})

    assert store.get("inner").jump == "edge2"
    assert store.get("edge2").groups == ["core"]
    assert not store.exists("edge")


def test_rename_to_taken_name_rejected(store: DeviceStore) -> None:
    store.add({"name": "a", "host": "10.0.0.1"})
    store.add({"name": "b", "host": "10.0.0.2"})

    with pytest.raises(AlreadyExists):
        store.update("a", {"name": "b"})

    assert store.get("a").host == "10.0.0.1"


def test_remove_deletes_groups(store: DeviceStore, db: Database) -> None:
    store.add({"name": "lab1", "host": "10.0.0.1", "groups": ["core"]})

    store.remove("lab1")

    assert db.execute("SELECT count(*) FROM devices").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM device_groups").fetchone()[0] == 0


def test_remove_missing_raises_not_found(store: DeviceStore) -> None:
    with pytest.raises(NotFound):
        store.remove("ghost")


def test_remove_jump_host_rejected(store: DeviceStore) -> None:
    store.add({"name": "edge", "host": "10.0.0.1"})
    store.add({"name": "inner", "host": "10.1.0.2", "jump": "edge"})

    with pytest.raises(InvalidInput, match="it is the jump host of inner"):
        store.remove("edge")

    assert store.exists("edge")


def test_remove_jump_host_with_users(store: DeviceStore) -> None:
    store.add({"name": "edge", "host": "10.0.0.1"})
    store.add({"name": "inner", "host": "10.1.0.2", "jump": "edge"})

    store.remove("edge", "inner")

    assert store.list() == []


def test_remove_many_all_or_nothing(store: DeviceStore, db_path: Path) -> None:
    store.add({"name": "a", "host": "10.0.0.1"})
    store.add({"name": "b", "host": "10.0.0.2"})
    before = dump(db_path)

    with pytest.raises(NotFound):
        store.remove("a", "ghost", "b")

    assert dump(db_path) == before


def test_writes_are_audited(store: DeviceStore, db: Database) -> None:
    store.add({"name": "lab1", "host": "10.0.0.1"})
    store.update("lab1", {"port": 2200})
    store.remove("lab1")

    entries = audit.list(db)

    assert [entry.action for entry in entries] == ["device.remove", "device.edit", "device.add"]
    assert {entry.device for entry in entries} == {"lab1"}
    assert entries[1].params["changes"] == {"port": 2200}


def test_failed_write_not_audited(store: DeviceStore, db: Database) -> None:
    with pytest.raises(InvalidInput):
        store.add({"name": "lab1", "host": ""})

    assert audit.list(db) == []


def test_import_orders_jump_targets_first(store: DeviceStore) -> None:
    devices = [
        validate_device({"name": "inner", "host": "10.1.0.2", "jump": "edge"}),
        validate_device({"name": "edge", "host": "10.0.0.1"}),
    ]

    outcomes = store.import_devices(devices)

    assert [(o.name, o.status) for o in outcomes] == [("inner", "added"), ("edge", "added")]
    assert store.get("inner").jump == "edge"


def test_import_leaves_existing_alone(store: DeviceStore) -> None:
    store.add({"name": "edge", "host": "10.0.0.1", "notes": "mine"})
    devices = [validate_device({"name": "edge", "host": "10.0.0.9", "port": 2222})]

    outcomes = store.import_devices(devices)

    assert [(o.name, o.status) for o in outcomes] == [("edge", "exists")]
    assert store.get("edge").host == "10.0.0.1"


def test_import_update_keeps_groups_and_notes(store: DeviceStore) -> None:
    store.add(
        {"name": "edge", "host": "10.0.0.1", "user": "root", "notes": "mine", "groups": ["g"]}
    )
    devices = [validate_device({"name": "edge", "host": "10.0.0.9", "port": 2222})]

    outcomes = store.import_devices(devices, update=True)
    again = store.import_devices(devices, update=True)

    edge = store.get("edge")
    assert [o.status for o in outcomes] == ["updated"]
    assert [o.status for o in again] == ["unchanged"]
    assert (edge.host, edge.port, edge.user) == ("10.0.0.9", 2222, None)
    assert (edge.notes, edge.groups) == ("mine", ["g"])


def test_import_is_all_or_nothing(store: DeviceStore, db_path: Path) -> None:
    before = dump(db_path)
    devices = [
        validate_device({"name": "good", "host": "10.0.0.1"}),
        validate_device({"name": "bad", "host": "10.0.0.2", "jump": "missing"}),
    ]

    with pytest.raises(InvalidInput, match="no device named 'missing'"):
        store.import_devices(devices)

    assert dump(db_path) == before


def test_leading_dash_name_rejected(store: DeviceStore, db: Database) -> None:
    with pytest.raises(InvalidInput, match="invalid name '-x'"):
        store.add({"name": "-x", "host": "10.0.0.1"})
    assert list(db.query("SELECT name FROM devices")) == []


def test_old_dash_name_stays_readable(store: DeviceStore, db: Database) -> None:
    # A row written while the name rule still allowed a leading '-'.
    db.execute(
        "INSERT INTO devices (name, host, port, notes, created_at, updated_at)"
        " VALUES ('-old', '10.0.0.1', 22, '', '2026-01-01T00:00:00', '2026-01-01T00:00:00')"
    )
    assert store.get("-old").host == "10.0.0.1"
    assert [device.name for device in store.list()] == ["-old"]
    renamed = store.update("-old", {"name": "old"})
    assert renamed.name == "old"
