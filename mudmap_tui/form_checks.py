"""Checks of form input, field by field, with the same validators the CLI and agent use.

A form shows one message under each bad field, so these functions collect every field's
error instead of stopping at the first. Each message names the field, the value and the rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from agent.errors import AgentError
from mudmap_tui.errors import InvalidInput, MudmapError
from mudmap_tui.store.devices import validate_device
from mudmap_tui.store.models import CONTROL_RE, Device, is_inline_jump

T = TypeVar("T")

# A device that passes every check, so that one field at a time can be checked against it.
_VALID_DEVICE = {"name": "device", "host": "localhost"}


class FieldErrors(MudmapError):
    """One or more form fields are invalid; ``errors`` maps each field to its message."""

    exit_status = 2

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(self.errors.values()))


class Collector:
    """Run checks on several fields and keep every failure under its field's key."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def check(self, field: str, check: Callable[[], T]) -> T | None:
        """Return what ``check`` returns, or None after recording its error under ``field``."""
        try:
            return check()
        except AgentError as error:
            self.errors.setdefault(field, error.message)
        except InvalidInput as error:
            self.errors.setdefault(field, str(error))
        return None

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, message)

    def raise_if_any(self) -> None:
        if self.errors:
            raise FieldErrors(self.errors)


def integer_text(field: str, text: str) -> int:
    """Parse a whole number typed in a form; raise InvalidInput naming ``field`` otherwise."""
    stripped = text.strip()
    digits = stripped[1:] if stripped.startswith("-") else stripped
    if not digits.isdigit():
        raise InvalidInput(field, text, "must be a whole number")
    return int(stripped)


def device_from_form(
    values: Mapping[str, str], device_names: list[str], existing: Device | None = None
) -> Device:
    """Build a Device from the text of the device form; raise FieldErrors per field.

    Empty optional fields mean "not set". Groups are separated by commas. A jump
    that is not an inline [user@]host[:port] must name another device in ``device_names``.
    """
    fields = _device_fields(values)
    collector = Collector()
    for field, value in fields.items():
        collector.check(field, _device_field_check(field, value))
    jump = fields.get("jump")
    if isinstance(jump, str) and "jump" not in collector.errors:
        _check_jump(collector, jump, fields.get("name"), device_names)
    collector.raise_if_any()
    if existing is not None:
        fields["created_at"] = existing.created_at
        fields["updated_at"] = existing.updated_at
    return validate_device(fields)


def _device_field_check(field: str, value: Any) -> Callable[[], Device]:
    return lambda: validate_device({**_VALID_DEVICE, field: value})


def _device_fields(values: Mapping[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": values.get("name", "").strip(),
        "host": values.get("host", "").strip(),
        "notes": values.get("notes", ""),
        # Commas only: a space inside a name is an error to show, not a second group.
        "groups": [group.strip() for group in values.get("groups", "").split(",")
                   if group.strip()],
    }
    port = values.get("port", "").strip()
    if port:
        # A number goes in as an int, so its error reads like the CLI's (port 70000, not '70000').
        fields["port"] = int(port) if port.isdigit() else port
    for optional in ("user", "identity_file", "jump"):
        text = values.get(optional, "").strip()
        if text:
            fields[optional] = text
    return fields


def _check_jump(collector: Collector, jump: str, name: Any, device_names: list[str]) -> None:
    if jump == name:
        collector.add("jump", f"invalid jump {jump!r}: a device cannot be its own jump host")
    elif not is_inline_jump(jump) and jump not in device_names:
        collector.add(
            "jump",
            f"invalid jump {jump!r}: no device has that name; "
            "choose a device or type [user@]host[:port]",
        )


def upload_source(text: str) -> Path:
    """Check the local file to upload: it must exist and be a regular file."""
    path = Path(text.strip()).expanduser()
    if not text.strip():
        raise InvalidInput("local file", text, "is required; give the file to upload")
    if not path.exists():
        raise InvalidInput("local file", str(path), "does not exist")
    if not path.is_file():
        raise InvalidInput("local file", str(path), "is not a regular file")
    return path


def download_target(text: str) -> Path:
    """Check where a download goes: not a directory, and in a folder that exists."""
    path = Path(text.strip()).expanduser()
    if not text.strip():
        raise InvalidInput("local file", text, "is required; give the path to save to")
    if path.is_dir():
        raise InvalidInput("local file", str(path), "is a directory; give a file path")
    if not path.parent.is_dir():
        raise InvalidInput("local file", str(path), f"folder {path.parent} does not exist")
    return path


def remote_path(text: str) -> str:
    """Check a path on the device: absolute, naming a file, without control characters."""
    path = text.strip()
    if not path:
        raise InvalidInput("remote path", text, "is required; give a path such as /etc/hosts")
    if not path.startswith("/"):
        raise InvalidInput("remote path", text, "must be absolute, such as /etc/hosts")
    if path.endswith("/"):
        raise InvalidInput("remote path", text, "names a folder; give a file path")
    if CONTROL_RE.search(path) or "\n" in path or "\t" in path:
        raise InvalidInput("remote path", text, "must not contain control characters")
    return path
