"""Structured errors that the agent returns to the controller."""

from __future__ import annotations

from typing import Any, Dict, Optional

# Machine-readable error kinds; the controller maps each one to its own exception class.
KINDS = (
    "invalid_params",
    "not_found",
    "exists",
    "permission_denied",
    "unsupported",
    "conflict",
    "timed_out",
    "failed",
)

# JSON-RPC 2.0 reserves -32768 to -32000; -32602 is "Invalid params" there. The other kinds
# use codes from the implementation-defined server error range.
CODES = {
    "invalid_params": -32602,
    "not_found": -32001,
    "exists": -32002,
    "permission_denied": -32003,
    "unsupported": -32004,
    "conflict": -32005,
    "timed_out": -32006,
    "failed": -32000,
}


class AgentError(Exception):
    """An error that the agent reports as a JSON-RPC error object with ``data.kind``."""

    def __init__(self, kind: str, message: str, **data: Any) -> None:
        if kind not in CODES:
            raise ValueError("unknown error kind %r" % kind)
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.data: Dict[str, Any] = data

    @property
    def code(self) -> int:
        return CODES[self.kind]

    def to_json(self) -> Dict[str, Any]:
        data: Dict[str, Any] = {"kind": self.kind}
        data.update(self.data)
        return {"code": self.code, "message": self.message, "data": data}


def invalid(field: str, value: Any, rule: str, hint: Optional[str] = None) -> AgentError:
    """Build an ``invalid_params`` error that names the field, the value and the rule."""
    message = "invalid %s %r: %s" % (field, value, rule)
    if hint:
        message += " (%s)" % hint
    return AgentError("invalid_params", message, field=field)
