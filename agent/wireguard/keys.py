"""WireGuard keys: canonical base64, generation and public key derivation.

The device may lack the ``cryptography`` package, so the public key comes from a
pure-Python X25519 (the Montgomery ladder of RFC 7748, section 5). It runs once per key
operation and takes about a millisecond, which is fast enough for an agent.
"""

from __future__ import annotations

import base64
import binascii
import os

from agent.errors import invalid

KEY_LEN = 32
# A 32-byte key is 44 base64 characters: 43 data characters and one "=".
KEY_B64_LEN = 44

_P = 2**255 - 19
_A24 = 121665


def decode_key(field: str, value: object, secret: bool = False) -> bytes:
    """Decode a base64 WireGuard key, accepting only the canonical form of 32 bytes.

    Canonical means the text is exactly what ``base64.b64encode`` gives for those bytes:
    44 characters, the standard alphabet, one "=" and zero padding bits. Other spellings of
    the same bytes are rejected so that one key has exactly one text form.
    """
    rule = "must be the base64 of exactly 32 bytes, as printed by `wg genkey` or `wg pubkey`"
    # A rejected secret may still be close to the real key, so its text never reaches the
    # error message, which the controller shows and logs.
    shown = "(%s hidden)" % type(value).__name__ if secret else value
    if not isinstance(value, str) or len(value) != KEY_B64_LEN:
        raise invalid(field, shown, rule)
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raise invalid(field, shown, rule) from None
    if len(raw) != KEY_LEN or encode_key(raw) != value:
        raise invalid(field, shown, rule)
    return raw


def encode_key(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def clamp(scalar: bytes) -> bytes:
    """Clamp a 32-byte X25519 scalar as RFC 7748 section 5 and `wg genkey` do."""
    clamped = bytearray(scalar)
    clamped[0] &= 248
    clamped[31] &= 127
    clamped[31] |= 64
    return bytes(clamped)


def generate_private_key() -> bytes:
    return clamp(os.urandom(KEY_LEN))


def x25519(scalar: bytes, u_coordinate: bytes) -> bytes:
    """Compute X25519(scalar, u) per RFC 7748 section 5 (constant time is not a goal here).

    The agent derives public keys from private keys it already holds, so a timing
    side channel would only leak a key to a local observer who can read it anyway.
    """
    if len(scalar) != KEY_LEN or len(u_coordinate) != KEY_LEN:
        raise ValueError("X25519 inputs must be 32 bytes each")
    k = int.from_bytes(clamp(scalar), "little")
    u = int.from_bytes(u_coordinate, "little") & ((1 << 255) - 1)
    return _ladder(k, u).to_bytes(KEY_LEN, "little")


def _ladder(k: int, u: int) -> int:
    x1 = u % _P
    x2, z2, x3, z3 = 1, 0, x1, 1
    swap = 0
    for t in range(254, -1, -1):
        bit = (k >> t) & 1
        swap ^= bit
        if swap:
            x2, x3 = x3, x2
            z2, z3 = z3, z2
        swap = bit
        a = (x2 + z2) % _P
        aa = a * a % _P
        b = (x2 - z2) % _P
        bb = b * b % _P
        e = (aa - bb) % _P
        c = (x3 + z3) % _P
        d = (x3 - z3) % _P
        da = d * a % _P
        cb = c * b % _P
        x3 = (da + cb) % _P
        x3 = x3 * x3 % _P
        z3 = (da - cb) % _P
        z3 = x1 * (z3 * z3 % _P) % _P
        x2 = aa * bb % _P
        z2 = e * ((aa + _A24 * e) % _P) % _P
    if swap:
        x2, x3 = x3, x2
        z2, z3 = z3, z2
    return x2 * pow(z2, _P - 2, _P) % _P


_BASE_POINT = (9).to_bytes(KEY_LEN, "little")


def public_key(private_key: bytes) -> bytes:
    """Derive the WireGuard public key of a private key (X25519 with base point 9)."""
    return x25519(private_key, _BASE_POINT)
