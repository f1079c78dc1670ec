"""QR codes as half-block text."""

from __future__ import annotations

import segno
from hypothesis import given, settings
from hypothesis import strategies as st

from mudmap_tui import qr


def test_version_matches_segno() -> None:
    text = "[Interface]\nPrivateKey = " + "A" * 43 + "=\n"
    code = qr.make(text)
    assert code.version == segno.make_qr(text, error="l").version
    assert code.error in ("L", "M", "Q", "H")


def test_rendered_dimensions() -> None:
    code = qr.make("hello")
    lines = qr.render(code).split("\n")
    modules = len(code.matrix)
    assert modules == 21
    assert len(lines) == (modules + 2 * qr.DEFAULT_BORDER + 1) // 2
    assert {len(line) for line in lines} == {modules + 2 * qr.DEFAULT_BORDER}
    assert qr.rendered_size(code) == (25, 13)


TOP = {" ": False, "▀": True, "▄": False, "█": True}
BOTTOM = {" ": False, "▀": False, "▄": True, "█": True}


def modules_from_text(text: str, border: int, invert: bool) -> list[list[bool]]:
    """Read dark modules back from half-block text, dropping the quiet zone."""
    rows = []
    for line in text.split("\n"):
        rows.append([TOP[char] for char in line])
        rows.append([BOTTOM[char] for char in line])
    dark = [[cell == invert for cell in row] for row in rows]
    size = len(rows[0]) - 2 * border
    return [row[border : border + size] for row in dark[border : border + size]]


@settings(max_examples=25, deadline=None)
@given(text=st.text(min_size=1, max_size=300), invert=st.booleans(), border=st.integers(0, 4))
def test_render_reads_back_as_matrix(text: str, invert: bool, border: int) -> None:
    code = qr.make(text)
    rendered = qr.render(code, border=border, invert=invert)
    expected = [[bool(module) for module in row] for row in code.matrix]
    assert modules_from_text(rendered, border, invert) == expected


def test_quiet_zone_drawn_light() -> None:
    lines = qr.render(qr.make("x"))
    assert set(lines.split("\n")[0]) == {"█"}


def test_fits() -> None:
    code = qr.make("hello")
    assert qr.fits(code, 25, 13)
    assert not qr.fits(code, 24, 13)
    assert not qr.fits(code, 25, 12)
