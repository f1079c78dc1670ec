"""QR codes as text: two modules per character cell with Unicode half blocks.

A terminal cell is about twice as tall as it is wide, so one character carries two rows of
modules and the code comes out roughly square. The drawing assumes light text on a dark
background: light modules (and the quiet zone) are drawn, dark modules are left blank,
as `qrencode -t UTF8` does. Pass ``invert=True`` for dark text on a light background.
"""

from __future__ import annotations

import segno

# The QR standard (ISO/IEC 18004) specifies a 4-module quiet zone. 2 saves 4 columns and
# 2 lines, and zxing-cpp still decodes the result (tests/core/test_qr.py).
# NOTE: phone scanner apps were not tried with this narrower border.
DEFAULT_BORDER = 2

# Indexed by (top module is drawn, bottom module is drawn).
_HALF_BLOCKS = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}


def make(text: str) -> segno.QRCode:
    """Encode ``text`` as the smallest QR code with error correction level L or better."""
    return segno.make_qr(text, error="l", boost_error=True)


def render(code: segno.QRCode, *, border: int = DEFAULT_BORDER, invert: bool = False) -> str:
    """Draw ``code`` as lines of half blocks; see rendered_size for the dimensions."""
    size = len(code.matrix) + 2 * border
    rows = [
        [_drawn(code, row - border, col - border, invert) for col in range(size)]
        for row in range(size)
    ]
    if size % 2:
        # An odd row count gets one more row of quiet zone to fill the last line.
        rows.append([not invert] * size)
    lines = []
    for top, bottom in zip(rows[0::2], rows[1::2], strict=True):
        lines.append("".join(_HALF_BLOCKS[pair] for pair in zip(top, bottom, strict=True)))
    return "\n".join(lines)


def _drawn(code: segno.QRCode, row: int, col: int, invert: bool) -> bool:
    """Return whether the cell gets ink: light modules normally, dark ones when inverted."""
    size = len(code.matrix)
    dark = 0 <= row < size and 0 <= col < size and bool(code.matrix[row][col])
    return dark if invert else not dark


def rendered_size(code: segno.QRCode, *, border: int = DEFAULT_BORDER) -> tuple[int, int]:
    """Return (columns, lines) that render() produces for ``code``."""
    size = len(code.matrix) + 2 * border
    return size, (size + 1) // 2


def fits(code: segno.QRCode, columns: int, lines: int, *, border: int = DEFAULT_BORDER) -> bool:
    width, height = rendered_size(code, border=border)
    return width <= columns and height <= lines
