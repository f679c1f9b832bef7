# SPDX-License-Identifier: AGPL-3.0-or-later
"""helpers -- small tools the API tests share: OTP codes from two independent
implementations (pyotp and oathtool), the otpauth URI, the AES-256-GCM
envelope of secrets at rest (to check sealing and to plant HOTP tokens), raw
HTTP for bodies that requests will not send, and error-body assertions."""
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import socket
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

STEP = 30


# ------------------------------------------------------------------ OTP

def b32decode(secret):
    s = secret.upper()
    return base64.b32decode(s + "=" * (-len(s) % 8))


def totp_at(secret, t, digits=6, digest="sha1"):
    """TOTP (RFC 6238) with pyotp at unix time @t."""
    import hashlib as _h
    return pyotp.TOTP(secret, digits=digits, digest=getattr(_h, digest)).at(int(t))


def oathtool_totp(secret, t):
    """TOTP from the oathtool CLI (an independent implementation)."""
    when = datetime.fromtimestamp(int(t), timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    r = subprocess.run(["oathtool", "--totp", "-b", "--now", when, secret],
                       check=True, stdout=subprocess.PIPE, text=True)
    return r.stdout.strip()


def oathtool_hotp(secret_hex, counter, digits=6):
    r = subprocess.run(["oathtool", "--hotp", "-c", str(counter), "-d", str(digits), secret_hex],
                       check=True, stdout=subprocess.PIPE, text=True)
    return r.stdout.strip()


def hotp(seed, counter, digits=6):
    """RFC 4226 HOTP-SHA1, written out (a third implementation)."""
    mac = hmac.new(seed, counter.to_bytes(8, "big"), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    val = int.from_bytes(mac[off:off + 4], "big") & 0x7FFFFFFF
    return str(val % 10 ** digits).zfill(digits)


def wait_fresh_step(min_left=6):
    """Sleep into the next 30 s step unless at least @min_left s remain in
    this one, so that a test's codes all belong to the steps it planned.
    @return the current time (inside a step with room to spare)."""
    now = time.time()
    left = STEP - (now % STEP)
    if left < min_left:
        time.sleep(left + 0.2)
    return time.time()


def wrong_code(*valid, digits=6):
    """A code of the right shape that is none of @valid."""
    while True:
        c = str(secrets.randbelow(10 ** digits)).zfill(digits)
        if c not in valid:
            return c


def random_pin(n=8):
    """A random PIN that no sane policy refuses (no repeats, no runs)."""
    while True:
        pin = "".join(secrets.choice("0123456789") for _ in range(n))
        digits = [int(c) for c in pin]
        steps = {b - a for a, b in zip(digits, digits[1:])}
        if len(set(pin)) >= 4 and steps not in ({1}, {-1}, {0}):
            return pin


@dataclass
class Customer:
    id: str
    pin: str
    secret: str          # base32, from the otpauth URI
    uri: str
    ref: str
    extra: dict = field(default_factory=dict)

    def code(self, t=None):
        return totp_at(self.secret, time.time() if t is None else t)

    @property
    def seed(self):
        return b32decode(self.secret)


OTPAUTH_RE = re.compile(
    r"^otpauth://totp/Guichet:(?P<label>[^?]+)\?(?P<query>.+)$")


def parse_otpauth(uri):
    """@return (label, {param: value}) of an otpauth URI."""
    parts = urlsplit(uri)
    assert parts.scheme == "otpauth" and parts.netloc == "totp", uri
    label = unquote(parts.path.lstrip("/"))
    query = {k: v[0] for k, v in parse_qs(parts.query, strict_parsing=True).items()}
    return label, query


# ------------------------------------------------------------------ envelope

def read_keyring(path):
    """The master key file's sealing keys: '<key_id> <64 hex>' lines (or a
    bare 64-hex line, id 'k1'; 'token <key_id> <64 hex>' lines are the token
    keys, not for sealing); @return [(key_id, key bytes)], the sealing key
    first."""
    keys = []
    for line in open(path):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if parts[0] == "token":
            continue
        if len(parts) == 1:
            keys.append(("k1", bytes.fromhex(parts[0])))
        else:
            keys.append((parts[0], bytes.fromhex(parts[1])))
    return keys


def seal(keyfile, plain, aad):
    """Envelope v1: 0x01 | len(key_id) | key_id | IV(12) | ciphertext | tag(16),
    AES-256-GCM with associated data = header || aad."""
    key_id, key = read_keyring(keyfile)[0]
    kid = key_id.encode()
    iv = os.urandom(12)
    header = bytes([1, len(kid)]) + kid
    return header + iv + AESGCM(key).encrypt(iv, plain, header + aad.encode())


def unseal(keyfile, env, aad):
    env = bytes(env)
    assert env[0] == 1, f"envelope version {env[0]}"
    klen = env[1]
    kid = env[2:2 + klen].decode()
    keys = dict(read_keyring(keyfile))
    assert kid in keys, f"unknown key id {kid!r}"
    header = env[:2 + klen]
    iv = env[2 + klen:14 + klen]
    return AESGCM(keys[kid]).decrypt(iv, env[14 + klen:], header + aad.encode())


# ------------------------------------------------------------------ HTTP

def assert_error(resp, status, code=None, codes=None):
    """@resp is an error as API.md says: status, JSON body with error.code and
    error.message.  @return the parsed body."""
    assert resp.status_code == status, (
        f"expected {status}, got {resp.status_code}: {resp.text[:500]!r}")
    ctype = resp.headers.get("Content-Type", "")
    assert ctype.startswith("application/json"), f"Content-Type {ctype!r}"
    body = resp.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), body
    err = body["error"]
    assert isinstance(err.get("code"), str) and re.fullmatch(r"[a-z][a-z0-9_]*", err["code"]), body
    assert isinstance(err.get("message"), str) and err["message"], body
    if code is not None:
        assert err["code"] == code, body
    if codes is not None:
        assert err["code"] in codes, body
    return body


class RawResponse:
    """Enough of requests.Response for assert_error()."""

    def __init__(self, status, headers, body):
        self.status_code = status
        self.headers = headers
        self.content = body
        self.text = body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.content)


def raw_http(base_url, head, body=b"", body_chunks=None, timeout=15):
    """Send @head (request line + headers, without the blank line) and @body
    over one connection; tolerate the server closing early (a 413 may answer
    before the upload ends).  @return RawResponse."""
    u = urlsplit(base_url)
    s = socket.create_connection((u.hostname, u.port), timeout=timeout)
    try:
        try:
            s.sendall(head.encode() + b"\r\n\r\n")
            for chunk in (body_chunks if body_chunks is not None else [body]):
                s.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        data = b""
        while True:
            try:
                part = s.recv(65536)
            except ConnectionResetError:
                break
            if not part:
                break
            data += part
            if _complete(data):
                break
    finally:
        s.close()
    return _parse(data)


def _complete(data):
    if b"\r\n\r\n" not in data:
        return False
    head, rest = data.split(b"\r\n\r\n", 1)
    m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    return bool(m) and len(rest) >= int(m.group(1))


def _parse(data):
    assert b"\r\n\r\n" in data, f"no HTTP response: {data[:200]!r}"
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip()] = v.strip()
    low = {k.lower(): v for k, v in headers.items()}
    if "content-length" in low:
        rest = rest[:int(low["content-length"])]
    elif low.get("transfer-encoding", "").lower() == "chunked":
        out, buf = b"", rest
        while buf:
            size_line, _, buf = buf.partition(b"\r\n")
            n = int(size_line.split(b";")[0], 16)
            if n == 0:
                break
            out, buf = out + buf[:n], buf[n + 2:]
        rest = out

    class _H(dict):
        def get(self, k, d=None):
            return low.get(k.lower(), d)

    return RawResponse(status, _H(headers), rest)
