"""Writing persisted configuration files: atomic replace, previous version kept."""

from __future__ import annotations

import os
import shutil

from agent.snapshot import write_atomic

# Set by tests to write under a scratch directory instead of the device's /.
ROOT = ""
PREVIOUS_SUFFIX = ".mudmap-prev"
HEADER = "Written by mudmap; mudmap replaces this file when it persists %s again."


def path(name: str) -> str:
    return ROOT + name


def replace(target: str, text: str, mode: int = 0o644) -> bool:
    """Write ``text`` to ``target`` unless it already contains it; return True on a change.

    The old file is kept as ``target.mudmap-prev``.
    """
    data = text.encode("utf-8")
    try:
        with open(target, "rb") as handle:
            if handle.read() == data:
                return False
        shutil.copy2(target, target + PREVIOUS_SUFFIX)
    except FileNotFoundError:
        pass
    write_atomic(target, data, mode)
    return True


def remove(target: str) -> bool:
    """Move ``target`` aside as .mudmap-prev; return True when it existed."""
    if not os.path.exists(target):
        return False
    os.replace(target, target + PREVIOUS_SUFFIX)
    return True


def read_text(target: str) -> str:
    try:
        with open(target, encoding="utf-8") as handle:
            return handle.read()
    except (FileNotFoundError, NotADirectoryError):
        return ""


def list_dir(directory: str) -> list:
    try:
        return sorted(os.listdir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return []
