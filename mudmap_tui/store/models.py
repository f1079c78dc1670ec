"""pydantic models that validate inventory data at the store's boundary."""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# RFC 1123 host names: labels of letters, digits and inner hyphens, up to 253 characters.
HOSTNAME_LABEL_RE = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
# A jump host given inline: [user@]host[:port], host possibly an IPv6 address in brackets.
JUMP_RE = re.compile(r"^(?:(?P<user>[A-Za-z0-9_.][A-Za-z0-9_.-]*)@)?(?P<host>\[[0-9A-Fa-f:.]+\]|[^@:\[\]\s]+)(?::(?P<port>\d+))?$")
USER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}$")


def check_name(value: str) -> str:
    if not NAME_RE.fullmatch(value):
        raise ValueError("use 1 to 64 letters, digits, '-', '_' or '.'")
    return value


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


class Device(BaseModel):
    """One managed device in the inventory."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    name: str
    host: str
    port: int = Field(default=22, ge=1, le=65535)
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
    def _name(cls, value: str) -> str:
        return check_name(value)

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        return check_host(value)

    @field_validator("user")
    @classmethod
    def _user(cls, value: str | None) -> str | None:
        if value is not None and not USER_RE.fullmatch(value):
            raise ValueError("use a POSIX user name: a letter or '_', then letters, digits, '_', '.', '-'")
        return value

    @field_validator("jump")
    @classmethod
    def _jump(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        match = JUMP_RE.fullmatch(value)
        if not match:
            raise ValueError("use a device name or [user@]host[:port]")
        port = match.group("port")
        if port is not None and not 1 <= int(port) <= 65535:
            raise ValueError("port must be 1 to 65535")
        check_host(match.group("host"))
        return value

    @field_validator("groups")
    @classmethod
    def _groups(cls, value: list[str]) -> list[str]:
        seen: list[str] = []
        for group in value:
            check_name(group)
            if group not in seen:
                seen.append(group)
        return seen
