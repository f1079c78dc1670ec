"""WireGuard keys: RFC 7748 vectors, `wg pubkey` agreement, canonical base64 rules."""

from __future__ import annotations

import base64
import shutil
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.errors import AgentError
from agent.wireguard import keys

# RFC 7748 section 5.2: scalar, input u-coordinate, output u-coordinate (hex).
RFC7748_VECTORS = [
    (
        "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
        "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
        "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
    ),
    (
        "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
        "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
        "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957",
    ),
]

# RFC 7748 section 6.1: Alice's and Bob's private keys and public keys.
RFC7748_DH = [
    (
        "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
        "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
    ),
    (
        "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
        "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
    ),
]


@pytest.mark.parametrize(("scalar", "u", "expected"), RFC7748_VECTORS)
def test_x25519_rfc7748_vectors(scalar: str, u: str, expected: str) -> None:
    assert keys.x25519(bytes.fromhex(scalar), bytes.fromhex(u)).hex() == expected


@pytest.mark.parametrize(("private", "public"), RFC7748_DH)
def test_public_key_rfc7748_dh(private: str, public: str) -> None:
    assert keys.public_key(bytes.fromhex(private)).hex() == public


def test_x25519_iterated_rfc7748() -> None:
    # RFC 7748 section 5.2: after 1,000 iterations of k, u = X25519(k, u), k.
    k = u = (9).to_bytes(32, "little")
    for iteration in range(1000):
        k, u = keys.x25519(k, u), k
        if iteration == 0:
            assert k.hex() == "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079"
    assert k.hex() == "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51"


def test_generated_private_key_is_clamped() -> None:
    private = keys.generate_private_key()
    assert len(private) == 32
    assert private[0] & 7 == 0
    assert private[31] & 128 == 0
    assert private[31] & 64 == 64


@pytest.mark.skipif(shutil.which("wg") is None, reason="wireguard-tools (wg) is not installed")
def test_public_key_matches_wg_pubkey() -> None:
    for _ in range(5):
        private = keys.encode_key(keys.generate_private_key())
        wg = subprocess.run(
            ["wg", "pubkey"], input=private + "\n", capture_output=True, text=True, check=True
        )
        derived = keys.public_key(keys.decode_key("private_key", private))
        assert keys.encode_key(derived) == wg.stdout.strip()


def test_public_key_of_wg_genkey_matches() -> None:
    if shutil.which("wg") is None:
        pytest.skip("wireguard-tools (wg) is not installed")
    private = subprocess.run(["wg", "genkey"], capture_output=True, text=True, check=True)
    wg = subprocess.run(
        ["wg", "pubkey"], input=private.stdout, capture_output=True, text=True, check=True
    )
    derived = keys.public_key(keys.decode_key("private_key", private.stdout.strip()))
    assert keys.encode_key(derived) == wg.stdout.strip()


@given(st.binary(min_size=32, max_size=32))
def test_decode_accepts_canonical_form(raw: bytes) -> None:
    assert keys.decode_key("public_key", base64.b64encode(raw).decode()) == raw


@given(st.binary(min_size=32, max_size=32), st.integers(min_value=1, max_value=3))
def test_decode_rejects_padding_bits(raw: bytes, bits: int) -> None:
    # The 43rd character carries 4 data bits and 2 padding bits; setting a padding bit
    # spells the same bytes in a non-canonical way.
    text = base64.b64encode(raw).decode()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    index = alphabet.index(text[42])
    altered = text[:42] + alphabet[index | bits] + "="
    assert base64.b64decode(altered) == raw
    with pytest.raises(AgentError) as raised:
        keys.decode_key("public_key", altered)
    assert raised.value.kind == "invalid_params"


@given(st.binary().filter(lambda raw: len(raw) != 32))
def test_decode_rejects_wrong_length(raw: bytes) -> None:
    with pytest.raises(AgentError) as raised:
        keys.decode_key("public_key", base64.b64encode(raw).decode())
    assert raised.value.kind == "invalid_params"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not a key",
        "A" * 43 + "=" + "\n",
        " " + "A" * 43 + "=",
        "A" * 44,
        "A" * 42 + "==",
        "A" * 42 + "-A=",
        "A" * 42 + "_A=",
        "A" * 42 + "\u00e9A=",
    ],
)
def test_decode_rejects_malformed_text(text: str) -> None:
    with pytest.raises(AgentError) as raised:
        keys.decode_key("public_key", text)
    assert raised.value.kind == "invalid_params"
    assert raised.value.data["field"] == "public_key"


@pytest.mark.parametrize("value", [None, 32, b"A" * 44, ["A" * 43 + "="]])
def test_decode_rejects_non_strings(value: object) -> None:
    with pytest.raises(AgentError):
        keys.decode_key("public_key", value)


def test_rejected_secret_not_echoed() -> None:
    almost = keys.encode_key(keys.generate_private_key())[:-2] + "B="
    with pytest.raises(AgentError) as raised:
        keys.decode_key("private_key", almost, secret=True)
    assert almost not in raised.value.message
    assert almost[:20] not in raised.value.message
    assert "private_key" in raised.value.message
    assert "hidden" in raised.value.message
