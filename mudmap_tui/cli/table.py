"""Plain-text tables for the CLI that fit the terminal's width."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence

ELLIPSIS = "…"
GAP = "  "
# A shrunk column keeps at least this many characters, so it stays recognisable.
MIN_COLUMN_WIDTH = 6


def terminal_width() -> int | None:
    """Return the terminal's width, or None when stdout is a pipe or a file.

    A script or a file reading the table needs every cell whole, so only a terminal
    gets its columns shrunk.
    """
    if not sys.stdout.isatty():
        return None
    return shutil.get_terminal_size((80, 24)).columns


def format_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    width: int | None = None,
    shrinkable: Sequence[int] = (),
) -> str:
    """Lay out rows under headers, shrinking the ``shrinkable`` columns to fit ``width``.

    A shrunk cell ends in an ellipsis. Columns not listed keep their full width, so the
    table may still exceed ``width`` when those alone are wider. Without ``width``, the
    table fits the terminal, and is not shrunk at all when stdout is not a terminal.
    """
    width = terminal_width() if width is None else width
    widths = [len(header) for header in headers]
    for row in rows:
        widths = [max(current, len(cell)) for current, cell in zip(widths, row, strict=True)]
    if width is not None:
        _shrink(widths, headers, shrinkable, width)
    lines = [_format_row(headers, widths), *(_format_row(row, widths) for row in rows)]
    return "\n".join(lines)


def _shrink(
    widths: list[int], headers: Sequence[str], shrinkable: Sequence[int], width: int
) -> None:
    """Take one character at a time from the widest shrinkable column until the table fits."""
    while sum(widths) + len(GAP) * (len(widths) - 1) > width:
        candidates = [
            index
            for index in shrinkable
            if widths[index] > max(MIN_COLUMN_WIDTH, len(headers[index]))
        ]
        if not candidates:
            return
        widest = max(candidates, key=lambda index: widths[index])
        widths[widest] -= 1


def _format_row(cells: Sequence[str], widths: Sequence[int]) -> str:
    fitted = [_fit(cell, cell_width) for cell, cell_width in zip(cells, widths, strict=True)]
    return GAP.join(
        cell.ljust(cell_width) for cell, cell_width in zip(fitted, widths, strict=True)
    ).rstrip()


def _fit(cell: str, width: int) -> str:
    if len(cell) <= width:
        return cell
    return cell[: width - 1] + ELLIPSIS
