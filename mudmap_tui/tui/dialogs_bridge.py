"""Find the modal dialogs by name, so the app keeps running while one is missing."""

from __future__ import annotations

import importlib
import logging
from typing import Any

log = logging.getLogger("mudmap.tui")


def dialog_class(module: str, name: str) -> type[Any] | None:
    """Return ``mudmap_tui.tui.dialogs.<module>.<name>``, or None when it does not exist."""
    try:
        found = importlib.import_module(f"mudmap_tui.tui.dialogs.{module}")
        dialog: type[Any] = getattr(found, name)
        return dialog
    except (ImportError, AttributeError) as error:
        log.warning("dialog %s.%s is not available: %s", module, name, error)
        return None
