# SPDX-License-Identifier: AGPL-3.0-or-later
"""docs/protocol.md's test vectors are right: each line of its vector block
is recomputed here from the private keys, with Python's `cryptography`
and `pyotp` (nothing of Guichet's), by the formulas the page gives.  A
typo in the page, or a page that drifts from the protocol, fails here."""
import base64
import hashlib
import hmac
import re
import struct

import pyotp
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from harness import REPO

DOC = REPO / "docs" / "protocol.md"


@pytest.fixture(scope="module")
def v():
    text = DOC.read_text()
    block = text.split("## 5. Test vectors", 1)[1].split("```", 2)[1]
    lines = {}
    for line in block.strip().splitlines():
        m = re.match(r"(\S.*?)\s{2,}(\S.*)$", line)
        assert m, f"unreadable vector line: {line!r}"
        lines[m.group(1)] = m.group(2)
    return lines


def key(hexd):
    return ec.derive_private_key(int(hexd, 16), ec.SECP256R1())


def pub(k):
    return k.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def test_the_block_has_every_vector(v):
    assert set(v) == {
        "device signing key d", "device ECDH key d", "server ECDH key d",
        "activation secret", "challenge_id", "device_id", "device_pub", "ecdh_pub",
        "server_ecdh_pub", "SHA-256(M), |M|=163", "proof", "ECDH shared x", "seed",
        "TOTP SHA256/6/30", "transaction T", "offline response code"}, sorted(v)


def test_activation_vectors(v):
    dev, dh, srv = (key(v[n]) for n in ("device signing key d", "device ECDH key d",
                                        "server ECDH key d"))
    assert pub(dev).hex() == v["device_pub"]
    assert pub(dh).hex() == v["ecdh_pub"]
    assert pub(srv).hex() == v["server_ecdh_pub"]
    secret_hex, s_param = re.fullmatch(r"([0-9a-f]{32})\s+\(s=([A-Za-z0-9_-]+)\)",
                                       v["activation secret"]).groups()
    secret = bytes.fromhex(secret_hex)
    assert base64.urlsafe_b64encode(secret).rstrip(b"=").decode() == s_param
    m = (b"guichet-activate-v1\x00" + v["challenge_id"].encode() + b"\x00"
         + pub(dev) + pub(dh))
    assert len(m) == 163
    assert hashlib.sha256(m).hexdigest() == v["SHA-256(M), |M|=163"]
    assert hmac.new(secret, m, hashlib.sha256).hexdigest() == v["proof"]
    x_phone = dh.exchange(ec.ECDH(), srv.public_key())
    x_server = srv.exchange(ec.ECDH(), dh.public_key())
    assert x_phone == x_server and x_phone.hex() == v["ECDH shared x"]
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=secret,
                info=b"guichet-otp-seed-v1\x00" + v["device_id"].encode()).derive(x_phone)
    assert seed.hex() == v["seed"]


def test_totp_vectors(v):
    seed = bytes.fromhex(v["seed"])
    pairs = re.findall(r"t=(\d+) → (\d{6})", v["TOTP SHA256/6/30"])
    assert len(pairs) == 3
    totp = pyotp.TOTP(base64_32(seed), digits=6, interval=30, digest=hashlib.sha256)
    for t, code in pairs:
        assert totp.at(int(t)) == code, t


def base64_32(b):
    return base64.b32encode(b).decode().rstrip("=")


def test_transaction_vectors(v):
    t = v["transaction T"]
    assert t.startswith('"') and t.endswith('"')
    data = t[1:-1].replace("\\n", "\n").encode()
    assert len(data) == 81 and data.count(b"\n") == 6 and not data.endswith(b"\n")
    assert data.split(b"\n")[0] == b"guichet-tx-v1"
    mac = hmac.new(bytes.fromhex(v["seed"]), data, hashlib.sha256).digest()
    o = mac[31] & 0x0F
    code = (struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 10 ** 8
    assert f"{code:08d}" == v["offline response code"]


def test_the_page_states_the_formulas_the_vectors_use():
    text = DOC.read_text()
    for needle in ('"guichet-activate-v1" || 0x00 || challenge_id || 0x00 || device_pub || ecdh_pub',
                   'info = "guichet-otp-seed-v1" || 0x00 || device_id',
                   'S = METHOD "\\n" PATH "\\n" TIMESTAMP "\\n" hex(SHA-256(body))',
                   "guichet://activate?v=1&u=",
                   "guichet://tx?v=1&id=<id>&a=<amount>&c=<currency>&n=<payee_name>"
                   "&i=<payee_iban>&x=<nonce>",
                   "otpauth://totp/Guichet:<customer_id>?secret="):
        assert needle in text, needle
