"""The device inventory: add, read, edit and remove devices and their groups."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlite_utils import Database

from mudmap_tui.errors import AlreadyExists, InvalidInput, NotFound
from mudmap_tui.store import audit
from mudmap_tui.store.models import NAME_RE, NAME_RULE, STORED_ROW, Device, is_inline_jump
from mudmap_tui.store.timestamps import utc_now
from mudmap_tui.store.transactions import write_transaction

# Columns of the devices table that a caller may set; groups live in device_groups.
EDITABLE_FIELDS = ("name", "host", "port", "user", "identity_file", "jump", "notes")
# Fields that an empty string clears rather than sets.
CLEARABLE_FIELDS = ("user", "identity_file", "jump")

# Rules for pydantic's own error types, which carry no message of ours.
_RULES_BY_ERROR_TYPE = {
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "string_type": "must be text",
    "list_type": "must be a list",
    "missing": "is required",
    "extra_forbidden": "is not a device field",
}


def invalid_input(error: ValidationError) -> InvalidInput:
    """Convert the first error of a pydantic ValidationError into one InvalidInput."""
    details = error.errors()[0]
    location = details["loc"]
    field = str(location[0]) if location else "device"
    value = details.get("input")
    if field == "groups":
        return _invalid_group(value)
    rule = _RULES_BY_ERROR_TYPE.get(details["type"], details["msg"])
    rule = rule.removeprefix("Value error, ")
    return InvalidInput(field.replace("_", " "), value, rule)


def _invalid_group(value: Any) -> InvalidInput:
    if isinstance(value, list):
        for group in value:
            if not isinstance(group, str) or not NAME_RE.fullmatch(group):
                return InvalidInput("group", group, NAME_RULE)
    return InvalidInput("groups", value, "must be a list of group names")


def validate_device(fields: Mapping[str, Any]) -> Device:
    """Build a Device from raw fields, raising InvalidInput that names the field and rule."""
    try:
        return Device.model_validate(dict(fields))
    except ValidationError as error:
        raise invalid_input(error) from None


@dataclass(frozen=True)
class ImportOutcome:
    """The result of importing one device; status is "added", "updated", "unchanged" or "exists"."""

    name: str
    status: str


class DeviceStore:
    """Devices and their groups in one inventory database.

    Every write runs in one write transaction together with its audit entry, so a
    failed check leaves the database as it was.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, device: Device | Mapping[str, Any]) -> Device:
        """Insert a new device; raise AlreadyExists, or InvalidInput naming the bad field."""
        if not isinstance(device, Device):
            device = validate_device(device)
        with write_transaction(self.db):
            self._insert(device)
            audit.record(self.db, "device.add", device=device.name, params=_audit_params(device))
        return self.get(device.name)

    def get(self, name: str) -> Device:
        row = self._row(name)
        if row is None:
            raise NotFound(f"no device named {name!r}; see `mudmap device list`")
        return self._device(row)

    def exists(self, name: str) -> bool:
        return self._row(name) is not None

    def list(self, group: str | None = None) -> builtins.list[Device]:
        """Return the devices sorted by name, only those in ``group`` when given."""
        if group is None:
            rows = self.db.query("SELECT * FROM devices ORDER BY name")
        else:
            rows = self.db.query(
                "SELECT devices.* FROM devices JOIN device_groups ON device_id = devices.id"
                " WHERE group_name = ? ORDER BY name",
                (group,),
            )
        return [self._device(row) for row in rows]

    def groups(self) -> dict[str, int]:
        """Return each group name with the number of devices in it, sorted by name."""
        rows = self.db.execute(
            "SELECT group_name, count(*) FROM device_groups GROUP BY group_name ORDER BY group_name"
        )
        return {name: count for name, count in rows}

    def update(
        self,
        name: str,
        changes: Mapping[str, Any] | None = None,
        *,
        add_groups: Iterable[str] = (),
        remove_groups: Iterable[str] = (),
    ) -> Device:
        """Apply a partial edit and return the device as stored.

        ``changes`` maps field names to new values; an empty string clears user,
        identity_file and jump. Renaming a device also renames it in other devices' jump.
        Removing a group the device is not in is not an error.
        """
        changes = dict(changes or {})
        unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
        if unknown:
            raise InvalidInput("field", unknown[0], f"use one of {', '.join(EDITABLE_FIELDS)}")
        with write_transaction(self.db):
            before = self.get(name)
            after = self._edited(before, changes, add_groups, remove_groups)
            if after == before:
                return before
            self._check_jump(after)
            if after.name != before.name:
                self._check_unused(after.name)
            self._write_update(before, after)
            audit.record(
                self.db,
                "device.edit",
                device=before.name,
                params={
                    "changes": changes,
                    "add_groups": builtins.list(add_groups),
                    "remove_groups": builtins.list(remove_groups),
                },
            )
        return self.get(after.name)

    def remove(self, *names: str) -> None:
        """Delete devices and their group memberships, all of them or none.

        Raises NotFound for a missing name, and InvalidInput while a device that stays
        jumps through one being removed, because it would be left pointing at nothing.
        Removing a jump host together with the devices behind it is allowed.
        """
        with write_transaction(self.db):
            devices = [self.get(name) for name in names]
            for name in names:
                users = [user for user in self._jump_users(name) if user not in names]
                if users:
                    raise InvalidInput(
                        "device",
                        name,
                        f"it is the jump host of {', '.join(users)}; change their jump first",
                    )
            for device in devices:
                self.db.execute("DELETE FROM devices WHERE name = ?", (device.name,))
                audit.record(
                    self.db, "device.remove", device=device.name, params=_audit_params(device)
                )

    def import_devices(
        self, devices: Sequence[Device], *, update: bool = False
    ) -> builtins.list[ImportOutcome]:
        """Add many devices in one transaction: all of them or, on any error, none.

        An existing device of the same name is left alone, or with ``update`` gets the
        new connection settings (host, port, user, identity file, jump) and keeps its
        groups and notes. Devices are written jump targets first, so a jump may name a
        device of the same batch.
        """
        outcomes: dict[str, ImportOutcome] = {}
        with write_transaction(self.db):
            for device in _jump_targets_first(devices):
                outcomes[device.name] = self._import_one(device, update)
        return [outcomes[device.name] for device in devices if device.name in outcomes]

    def _import_one(self, device: Device, update: bool) -> ImportOutcome:
        if not self.exists(device.name):
            self._insert(device)
            audit.record(self.db, "device.import", device=device.name, params=_audit_params(device))
            return ImportOutcome(device.name, "added")
        if not update:
            return ImportOutcome(device.name, "exists")
        changes = {
            field: getattr(device, field) or ""
            for field in ("host", "port", "user", "identity_file", "jump")
        }
        before = self.get(device.name)
        after = self.update(device.name, changes)
        return ImportOutcome(device.name, "unchanged" if after == before else "updated")

    def _insert(self, device: Device) -> None:
        self._check_unused(device.name)
        self._check_jump(device)
        now = utc_now()
        cursor = self.db.execute(
            "INSERT INTO devices (name, host, port, user, identity_file, jump, notes,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                device.name,
                device.host,
                device.port,
                device.user,
                device.identity_file,
                device.jump,
                device.notes,
                now,
                now,
            ),
        )
        self._add_groups(int(cursor.lastrowid or 0), device.groups)

    def _edited(
        self,
        before: Device,
        changes: Mapping[str, Any],
        add_groups: Iterable[str],
        remove_groups: Iterable[str],
    ) -> Device:
        fields = before.model_dump()
        for field, value in changes.items():
            fields[field] = None if field in CLEARABLE_FIELDS and value == "" else value
        removed = set(remove_groups)
        fields["groups"] = [g for g in [*before.groups, *add_groups] if g not in removed]
        return validate_device(fields)

    def _write_update(self, before: Device, after: Device) -> None:
        row = self._row(before.name)
        assert row is not None
        self.db.execute(
            "UPDATE devices SET name = ?, host = ?, port = ?, user = ?, identity_file = ?,"
            " jump = ?, notes = ?, updated_at = ? WHERE id = ?",
            (
                after.name,
                after.host,
                after.port,
                after.user,
                after.identity_file,
                after.jump,
                after.notes,
                utc_now(),
                row["id"],
            ),
        )
        if after.name != before.name:
            self.db.execute("UPDATE devices SET jump = ? WHERE jump = ?", (after.name, before.name))
        self.db.execute("DELETE FROM device_groups WHERE device_id = ?", (row["id"],))
        self._add_groups(row["id"], after.groups)

    def _add_groups(self, device_id: int, groups: Iterable[str]) -> None:
        for group in groups:
            self.db.execute(
                "INSERT INTO device_groups (device_id, group_name) VALUES (?, ?)",
                (device_id, group),
            )

    def _check_unused(self, name: str) -> None:
        if self.exists(name):
            raise AlreadyExists(
                f"device name {name!r} is already in use: names must be unique; choose another"
                f" name, or change the existing device with `mudmap device edit {name}`"
            )

    def _check_jump(self, device: Device) -> None:
        """Raise InvalidInput unless the jump is a known device (with no loop) or inline."""
        jump = device.jump
        if jump is None:
            return
        if jump == device.name:
            raise InvalidInput("jump", jump, "a device cannot jump through itself")
        if self.exists(jump):
            self._check_no_jump_loop(device.name, jump)
            return
        if not is_inline_jump(jump):
            raise InvalidInput(
                "jump",
                jump,
                f"no device named {jump!r}; give a device's name, or a host as"
                " user@host, host:port or a dotted name or address",
            )

    def _check_no_jump_loop(self, name: str, jump: str) -> None:
        chain = [name]
        hop: str | None = jump
        while hop is not None and self.exists(hop):
            if hop in chain:
                loop = " -> ".join([*chain, hop])
                raise InvalidInput("jump", jump, f"jump hosts would loop: {loop}")
            chain.append(hop)
            row = self._row(hop)
            hop = row["jump"] if row is not None else None

    def _jump_users(self, name: str) -> builtins.list[str]:
        rows = self.db.execute("SELECT name FROM devices WHERE jump = ? ORDER BY name", (name,))
        return [row[0] for row in rows]

    def _row(self, name: str) -> dict[str, Any] | None:
        return next(iter(self.db.query("SELECT * FROM devices WHERE name = ?", (name,))), None)

    def _device(self, row: Mapping[str, Any]) -> Device:
        groups = [
            group
            for (group,) in self.db.execute(
                "SELECT group_name FROM device_groups WHERE device_id = ? ORDER BY group_name",
                (row["id"],),
            )
        ]
        fields = {key: row[key] for key in (*EDITABLE_FIELDS, "created_at", "updated_at")}
        return Device.model_validate({**fields, "groups": groups}, context={STORED_ROW: True})


def _audit_params(device: Device) -> dict[str, Any]:
    return device.model_dump(mode="json", exclude={"created_at", "updated_at"})


def _jump_targets_first(devices: Sequence[Device]) -> Iterator[Device]:
    """Yield devices so that one named as another's jump comes before it.

    A jump loop inside the batch is left in input order; the store's jump check then
    reports it.
    """
    by_name = {device.name: device for device in devices}
    done: set[str] = set()

    def visit(device: Device, path: tuple[str, ...]) -> Iterator[Device]:
        if device.name in done or device.name in path:
            return
        target = by_name.get(device.jump or "")
        if target is not None:
            yield from visit(target, (*path, device.name))
        if device.name not in done:
            done.add(device.name)
            yield device

    for device in devices:
        yield from visit(device, ())
