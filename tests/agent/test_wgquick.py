"""wg-quick files: parsing with wg-quick's own grammar and byte-exact round trips."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent import wgquick

CORPUS = Path(__file__).resolve().parent.parent / "data" / "wgquick"
CORPUS_FILES = sorted(CORPUS.glob("*.conf"))


def read(name: str) -> wgquick.WgQuickFile:
    return wgquick.parse((CORPUS / name).read_text())


def test_corpus_is_not_empty() -> None:
    assert len(CORPUS_FILES) >= 6


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda path: path.name)
def test_corpus_round_trip_unchanged(path: Path) -> None:
    text = path.read_bytes().decode()
    assert wgquick.parse(text).render() == text


def test_repeated_address_and_hooks() -> None:
    config = read("server.conf")
    assert config.interface.items("Address") == ["10.8.0.1/24", "fd42:42:42::1/64"]
    assert len(config.interface.values("PostUp")) == 2
    assert config.interface.values("PostDown")[1] == "ip6tables -D FORWARD -i %i -j ACCEPT"
    assert config.peers[1].items("AllowedIPs") == ["10.8.0.3/32", "fd42:42:42::3/128"]


def test_client_without_listen_port() -> None:
    summary = read("client.conf").summary()
    assert summary["listen_port"] is None
    assert summary["dns"] == ["10.8.0.1", "2606:4700:4700::1111"]
    assert summary["dns_search"] == ["corp.example", "lab.example"]
    assert summary["peers"][0]["endpoint"] == "vpn.example.net:51820"  # type: ignore[index]


def test_keys_and_sections_ignore_case() -> None:
    config = read("lowercase-crlf.conf")
    assert [section.kind for section in config.sections] == ["interface", "peer"]
    assert config.interface.value("ListenPort") == "51000"
    assert config.peers[0].value("Endpoint") == "[2001:db8::7]:51000"
    assert wgquick.parse_endpoint("[2001:db8::7]:51000") == ("2001:db8::7", 51000)


def test_hooks_with_brackets_and_comments() -> None:
    config = read("hooks.conf")
    assert config.interface.values("PreUp") == ["[ -d /run/vpn ] || mkdir -p /run/vpn"]
    # wg-quick cuts a hook at its first '#', so the trailing comment is not part of it.
    assert config.interface.values("PostUp")[0] == "ip rule add fwmark 0xca6c table 1234"
    assert config.interface.value("Table") == "off"
    assert config.interface.value("FwMark") == "0xca6c"
    assert config.summary()["mtu"] == 1380


def test_table_and_save_config() -> None:
    summary = read("table-no-final-newline.conf").summary()
    assert summary["table"] == "51820"
    assert summary["save_config"] is True


def test_duplicate_peers_reported_not_merged() -> None:
    config = read("duplicate-peer.conf")
    assert len(config.peers) == 2
    assert config.duplicate_peers() == [config.peers[0].value("PublicKey")]


def test_unknown_keys_survive_an_edit() -> None:
    text = (CORPUS / "unknown-keys.conf").read_text()
    config = wgquick.parse(text)
    assert wgquick.unknown_keys(config) == ["X-Provisioned-By"]
    config.interface.set("ListenPort", ["51900"])
    rendered = config.render()
    assert "X-Provisioned-By = ansible\n" in rendered
    assert "# The next key is read by a provisioning tool, not by wg-quick.\n" in rendered
    assert rendered == text.replace("ListenPort = 51822", "ListenPort = 51900")


def test_edit_keeps_trailing_comment() -> None:
    config = read("hooks.conf")
    config.interface.set(
        "PostUp", ["ip rule add fwmark 0xca6c table 99", config.interface.values("PostUp")[1]]
    )
    rendered = config.render()
    assert "PostUp = ip rule add fwmark 0xca6c table 99 # routes via table 1234\n" in rendered


def test_set_adds_missing_key_after_last_key() -> None:
    config = read("client.conf")
    config.interface.set("ListenPort", ["51820"])
    lines = config.render().splitlines()
    assert lines[lines.index("ListenPort = 51820") - 1].startswith("DNS = ")


def test_summary_never_contains_private_key() -> None:
    text = (CORPUS / "server.conf").read_text()
    config = wgquick.parse(text)
    secret = config.interface.value("PrivateKey")
    assert secret
    assert secret not in repr(config.summary())
    assert config.summary()["has_private_key"] is True


@pytest.mark.parametrize(
    "text",
    ["Address = 10.0.0.1/24\n", "[Interface]\nnot a key line\n", "[Tunnel]\n", "[Peer\n"],
)
def test_rejected_lines(text: str) -> None:
    with pytest.raises(wgquick.WgQuickError):
        wgquick.parse(text)


def test_build_then_parse() -> None:
    text = wgquick.build(
        {"Address": ["10.1.0.1/24", "fd00::1/64"], "ListenPort": ["51820"]},
        [
            {
                "PublicKey": ["k" * 43 + "="],
                "AllowedIPs": ["10.1.0.2/32"],
                "Endpoint": [wgquick.format_endpoint("2001:db8::1", 51820)],
            }
        ],
        header_comment="Written by a test",
    )
    config = wgquick.parse(text)
    assert config.preamble[0].raw == "# Written by a test"
    assert config.interface.items("Address") == ["10.1.0.1/24", "fd00::1/64"]
    assert config.peers[0].value("Endpoint") == "[2001:db8::1]:51820"


# Property tests: any file made of valid lines renders back to the same text.

key_names = st.sampled_from(
    [
        "PrivateKey",
        "privatekey",
        "ListenPort",
        "Address",
        "DNS",
        "PostUp",
        "Table",
        "MTU",
        "FwMark",
        "X-Custom",
    ]
)
values = st.text(
    alphabet=st.characters(blacklist_characters="\n\r", blacklist_categories=("Cs",)), max_size=30
)
comment_lines = values.map(lambda text: "#" + text)
blank_lines = st.sampled_from(["", "   ", "\t"])
key_lines = st.builds(
    lambda key, gap, value: f"{key}{gap}={gap}{value}",
    key_names,
    st.sampled_from(["", " ", "  "]),
    values,
)
body_lines = st.lists(st.one_of(key_lines, comment_lines, blank_lines), max_size=8)
headers = st.sampled_from(["[Interface]", "[interface]", "[Peer]", "[PEER]", " [Peer] # x"])
files = st.builds(
    lambda sections, end: (
        "\n".join(line for header, body in sections for line in [header, *body]) + end
    ),
    st.lists(st.tuples(headers, body_lines), max_size=4),
    st.sampled_from(["", "\n"]),
)


@given(files)
def test_any_file_round_trips(text: str) -> None:
    assert wgquick.parse(text).render() == text


@given(files, st.integers(min_value=1, max_value=65535))
def test_set_changes_only_its_key(text: str, port: int) -> None:
    config = wgquick.parse(text)
    before = [(line.raw, line.name) for line in config.interface.lines if line.name != "listenport"]
    config.interface.set("ListenPort", [str(port)])
    again = wgquick.parse(config.render())
    assert again.interface.values("ListenPort") == [str(port)]
    after = [(line.raw, line.name) for line in again.interface.lines if line.name != "listenport"]
    # A blank last line in a file without a final newline reads back as that newline, when
    # the ListenPort lines after it are merged away, so trailing blank lines are not compared.
    assert without_trailing_blanks(after) == without_trailing_blanks(before)


def without_trailing_blanks(lines: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    end = len(lines)
    while end and lines[end - 1] == ("", None):
        end -= 1
    return lines[:end]


PRIVATE = "yHkIKy+81m73smkWLvTyEmtSJznDV78ER9vuDY4xq0w="
PRESHARED = "F/XczUrYavoWodwEbV3jKkCo6x4Al4Kvf4SO5Kc0rhQ="


def test_unknown_keys_never_show_values() -> None:
    text = (f"[Interface]\nPrivateKey: {PRIVATE}\n[Peer]\nPresharedKey {PRESHARED}\n"
            f"X-Provisioned-By = ansible\n{PRESHARED}\n")
    found = wgquick.unknown_keys(wgquick.parse(text))
    assert found == ["line 2 (a line starting with PrivateKey)",
                     "line 4 (a line starting with PresharedKey)", "X-Provisioned-By", "line 6"]
    assert PRIVATE[:8] not in repr(found)
    assert PRESHARED[:8] not in repr(found)


@pytest.mark.parametrize("text", [
    f"[Interface]\nPrivateKey: {PRIVATE[:-1]}\n",
    "root:*:20228:0:99999:7:::\n",
    f"[Interface {PRIVATE}\n",
    f"[{PRIVATE}]\n",
    f"{PRESHARED[:-1]} = x\n",
])
def test_parse_errors_never_quote_lines(text: str) -> None:
    with pytest.raises(wgquick.WgQuickError) as caught:
        wgquick.parse(text)
    message = str(caught.value)
    assert message.startswith("line 1: ") or message.startswith("line 2: ")
    for secret in (PRIVATE[:8], PRESHARED[:8], "root", "20228"):
        assert secret not in message


def test_problems_lists_what_wg_rejects() -> None:
    text = ("[Interface]\nPrivateKey = notakey\nListenPort = 99999\nAddress = 10.0.0.1/33\n"
            "[Peer]\nAllowedIPs = 10.0.0.0/33\nPersistentKeepalive = off\n")
    found = wgquick.problems(wgquick.parse(text))
    assert found == [
        "line 2: PrivateKey is not a base64 key of 32 bytes",
        "line 3: ListenPort '99999' must be a number from 0 to 65535",
        "line 4: Address '10.0.0.1/33' is not an IP address with an optional /prefix",
        "line 6: AllowedIPs '10.0.0.0/33' is not an IP address with an optional /prefix",
        "[Peer] number 1 has no PublicKey",
    ]
    assert "notakey" not in repr(found)


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda path: path.name)
def test_corpus_has_no_problems(path: Path) -> None:
    assert wgquick.problems(wgquick.parse(path.read_text())) == []


def test_valid_name_follows_wg_quick() -> None:
    assert wgquick.valid_name("a" * 15)
    assert wgquick.valid_name("wg_0=+.-")
    assert not wgquick.valid_name("toolongname12345")
    assert not wgquick.valid_name("sp ace")
    assert not wgquick.valid_name("")
