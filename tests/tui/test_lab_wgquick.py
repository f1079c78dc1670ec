"""wg-quick files in a lab device's /etc/wireguard show up in the app's WireGuard tab."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from mudmap_tui.lab import Lab
from mudmap_tui.tui.app import MudmapApp
from mudmap_tui.tui.widgets.tables import WgQuickTable
from mudmap_tui.wg_plan import generate_key_pair
from tests.tui.test_lab_app import running, select, wait_until

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]

__all__ = ["running"]

CONFIG = """[Interface]
# office tunnel, kept by hand
PrivateKey = {private}
Address = 10.77.0.1/24
Address = fd77::1/64
ListenPort = 51877
PostUp = [ -x /bin/true ] && logger "wg up: %i" # wg-quick cuts from the first hash

[Peer]
PublicKey = {peer}
AllowedIPs = 10.77.0.2/32, fd77::2/128
Endpoint = [fd00::2]:51820
"""


def write_file(lab: Lab, path: str, text: str) -> None:
    lab.run("lab1", ["sh", "-c", 'umask 077; mkdir -p /etc/wireguard; printf "%s" "$1" > "$2"',
                     "sh", text, path])


async def test_wgquick_files_listed(running: tuple[MudmapApp, Pilot[None]], lab: Lab) -> None:
    app, pilot = running
    own = generate_key_pair()
    peer = generate_key_pair().public_key
    write_file(lab, "/etc/wireguard/tuiq0.conf", CONFIG.format(private=own.private_key,
                                                               peer=peer))
    write_file(lab, "/etc/wireguard/tuibad.conf", "[Interface]\nListenPort = 1\noops\n")
    write_file(lab, "/etc/wireguard/tuiport.conf",
               "[Interface]\nListenPort = 99999\nAddress = 10.1.2.3/24\n")
    try:
        await select(pilot, app, "lab1", "wireguard")
        table = app.query_one("#wgquick-table", WgQuickTable)
        await wait_until(pilot, lambda: {"tuiq0", "tuibad", "tuiport"} <= set(table.configs),
                         "both files in the wg-quick table")
        cells = [str(cell) for cell in table.cells_of("tuiq0") or ()]
        assert cells[1:6] == ["-", "not running", "10.77.0.1/24, fd77::1/64", "51877", "1"]
        bad = [str(cell) for cell in table.cells_of("tuibad") or ()]
        assert bad[-1].startswith("invalid: line 3")
        # The line itself is never quoted: a mistyped key line would show the key.
        assert "oops" not in bad[-1]
        port = [str(cell) for cell in table.cells_of("tuiport") or ()]
        assert port[3] == "10.1.2.3/24"
        assert port[-1].startswith("invalid: ")
        assert "99999" in port[-1]

        table.focus()
        table.move_cursor(row=table.get_row_index("tuiq0"))
        await pilot.press("v")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "TextViewScreen",
                         "the config view")
        text = app.screen.text  # type: ignore[attr-defined]
        assert f"PublicKey = {peer}" in text
        assert "Endpoint = [fd00::2]:51820" in text
        print(text)
        assert 'PostUp = [ -x /bin/true ] && logger "wg up: %i"\n' in text
        assert own.private_key not in text
        assert "PrivateKey = (set, not shown)" in text
    finally:
        lab.run("lab1", ["rm", "-f", "/etc/wireguard/tuiq0.conf", "/etc/wireguard/tuibad.conf",
                         "/etc/wireguard/tuiport.conf"])
