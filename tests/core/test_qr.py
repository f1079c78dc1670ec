"""QR codes as half-block text."""

from __future__ import annotations

import segno
import zxingcpp
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


def pixels_from_text(text: str, scale: int = 4) -> memoryview:
    """Paint half-block text as a grayscale image: drawn half cells white, blank ones black."""
    rows = []
    for line in text.split("\n"):
        rows.append([TOP[char] for char in line])
        rows.append([BOTTOM[char] for char in line])
    image = bytearray()
    for row in rows:
        line_pixels = b"".join((b"\xff" if cell else b"\x00") * scale for cell in row)
        image += line_pixels * scale
    return memoryview(image).cast("B", (len(rows) * scale, len(rows[0]) * scale))


def test_rendered_text_decodes() -> None:
    config = (
        "[Interface]\nPrivateKey = " + "k" * 43 + "=\nAddress = 10.8.0.2/32\n\n"
        "[Peer]\nPublicKey = " + "p" * 43 + "=\nEndpoint = [2001:db8::1]:51820\n"
        "AllowedIPs = 10.8.0.0/24\n"
    )
    rendered = qr.render(qr.make(config))
    # Light text on a dark background: drawn cells are the light modules, so no inversion.
    found = zxingcpp.read_barcodes(pixels_from_text(rendered), try_invert=False)
    assert [barcode.text for barcode in found] == [config]
    assert found[0].format == zxingcpp.BarcodeFormat.QRCode
