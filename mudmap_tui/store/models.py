"""pydantic models that validate inventory data at the store's boundary."""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

# A leading '-' would read as an option on the command line, and '.' or '..' as a directory.
NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
NAME_RULE = (
    "use 1 to 64 letters, digits, '-', '_' or '.', starting with a letter, digit or '_'"
)
# Names that rows written before NAME_RE was tightened may hold; they stay readable.
STORED_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# Validation context that DeviceStore passes when it reads a row it wrote earlier.
STORED_ROW = "stored_row"
# RFC 1123 host names: labels of letters, digits and inner hyphens, up to 253 characters.
HOSTNAME_LABEL_RE = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
# A jump host given inline: [user@]host[:port], host possibly an IPv6 address in brackets.
JUMP_RE = re.compile(
    r"^(?:(?P<user>[A-Za-z0-9_.][A-Za-z0-9_.-]*)@)?"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[^@:\[\]\s]+)(?::(?P<port>\d+))?$"
)
USER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}$")
PORT_RULE = "must be 1 to 65535"
NOTES_MAX_CHARS = 4000
# Control characters other than tab and newline, which no terminal should receive from notes.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def check_name(value: str, *, stored: bool = False) -> str:
    """Accept a device or group name; ``stored`` also accepts a name under the older rule."""
    if NAME_RE.fullmatch(value) or (stored and STORED_NAME_RE.fullmatch(value)):
        return value
    raise ValueError(NAME_RULE)


def _is_stored_row(info: ValidationInfo) -> bool:
    return isinstance(info.context, dict) and bool(info.context.get(STORED_ROW))


def check_host(value: str) -> str:
    """Accept an IPv4 address, an IPv6 address or a DNS name; return it normalised."""
    value = value.strip()
    if not value:
        raise ValueError("must not be empty; give an IPv4 address, an IPv6 address or a DNS name")
    candidate = value[1:-1] if value.startswith("[") and value.endswith("]") else value
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        pass
    name = value.rstrip(".")
    labels = name.split(".")
    if len(name) > 253 or not all(HOSTNAME_LABEL_RE.fullmatch(label) for label in labels):
        raise ValueError("not an IPv4 address, an IPv6 address or a DNS name")
    if labels[-1].isdigit():
        raise ValueError("looks like an IPv4 address but is not a valid one")
    return name.lower()


def check_port(value: int) -> int:
    if not 1 <= value <= 65535:
        raise ValueError(PORT_RULE)
    return value


def check_jump(value: str) -> str:
    """Accept a device name or an inline ``[user@]host[:port]``; return it unchanged.

    A device name is also a valid host name, so the store, which has the device list,
    decides which of the two a value means.
    """
    match = JUMP_RE.fullmatch(value)
    if not match:
        raise ValueError("use a device name or [user@]host[:port]")
    user = match.group("user")
    if user is not None and not USER_RE.fullmatch(user):
        raise ValueError(f"user {user!r} is not a POSIX user name")
    port = match.group("port")
    if port is not None and not 1 <= int(port) <= 65535:
        raise ValueError(f"port {port} {PORT_RULE}")
    check_host(match.group("host"))
    return value


def is_inline_jump(value: str) -> bool:
    """Return whether a jump value can only be an inline host, never a device name.

    A value with a user, a port, a dot or brackets is inline. A bare word is taken as a
    device name, so a mistyped name is reported rather than dialled as a host.
    """
    return any(char in value for char in "@:.[")


class Device(BaseModel):
    """One managed device in the inventory."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    name: str
    host: str
    port: int = 22
    user: str | None = None
    identity_file: str | None = None
    # Another device's name, or an inline [user@]host[:port].
    jump: str | None = None
    groups: list[str] = Field(default_factory=list)
    notes: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str, info: ValidationInfo) -> str:
        return check_name(value, stored=_is_stored_row(info))

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        return check_host(value)

    @field_validator("port")
    @classmethod
    def _port(cls, value: int) -> int:
        return check_port(value)

    @field_validator("user")
    @classmethod
    def _user(cls, value: str | None) -> str | None:
        if value is not None and not USER_RE.fullmatch(value):
            raise ValueError(
                "use a POSIX user name: a letter or '_', then letters, digits, '_', '.', '-'"
            )
        return value

    @field_validator("identity_file")
    @classmethod
    def _identity_file(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.strip():
            raise ValueError("must not be empty; give the path of a private key file")
        if CONTROL_RE.search(value) or "\n" in value or "\t" in value:
            raise ValueError("must not contain control characters")
        return value

    @field_validator("jump")
    @classmethod
    def _jump(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        return check_jump(value)

    @field_validator("groups")
    @classmethod
    def _groups(cls, value: list[str], info: ValidationInfo) -> list[str]:
        seen: list[str] = []
        for group in value:
            check_name(group, stored=_is_stored_row(info))
            if group not in seen:
                seen.append(group)
        return seen

    @field_validator("notes")
    @classmethod
    def _notes(cls, value: str) -> str:
        if len(value) > NOTES_MAX_CHARS:
            raise ValueError(f"must be at most {NOTES_MAX_CHARS} characters")
        if CONTROL_RE.search(value):
            raise ValueError("must not contain control characters other than tab and newline")
        return value
