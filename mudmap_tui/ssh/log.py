"""A logger adapter that adds the device and the operation to every record."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

_base = logging.getLogger("mudmap.ssh")


class DeviceLogger(logging.LoggerAdapter):
    """Prefix messages with ``device/operation`` and set both as record attributes.

    Callers pass host names, ports, fingerprints and exit codes, never key material or
    passwords: the adapter does no redaction of its own.
    """

    def __init__(self, device: str, operation: str = "-",
                 logger: logging.Logger | None = None) -> None:
        super().__init__(logger or _base, {"device": device, "operation": operation})

    def for_operation(self, operation: str) -> DeviceLogger:
        return DeviceLogger(str(self.extra["device"]), operation, self.logger)  # type: ignore[index]

    def process(self, msg: Any, kwargs: MutableMapping[str, Any],
                ) -> tuple[Any, MutableMapping[str, Any]]:
        extra = dict(self.extra or {})
        kwargs["extra"] = {**extra, **kwargs.get("extra", {})}
        return f"[{extra['device']}/{extra['operation']}] {msg}", kwargs
