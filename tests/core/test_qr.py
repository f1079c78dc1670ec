"""QR codes as half-block text."""

from __future__ import annotations

import segno

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


def test_render_matches_matrix() -> None:
    code = qr.make("mudmap")
    lines = qr.render(code, border=0, invert=True).split("\n")
    top_of = {" ": False, "▀": True, "▄": False, "█": True}
    bottom_of = {" ": False, "▀": False, "▄": True, "█": True}
    for row, line in enumerate(lines):
        for col, char in enumerate(line):
            assert top_of[char] == bool(code.matrix[2 * row][col])
            if 2 * row + 1 < len(code.matrix):
                assert bottom_of[char] == bool(code.matrix[2 * row + 1][col])


def test_quiet_zone_drawn_light() -> None:
    lines = qr.render(qr.make("x"))
    assert set(lines.split("\n")[0]) == {"█"}


def test_fits() -> None:
    code = qr.make("hello")
    assert qr.fits(code, 25, 13)
    assert not qr.fits(code, 24, 13)
    assert not qr.fits(code, 25, 12)
