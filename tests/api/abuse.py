# SPDX-License-Identifier: AGPL-3.0-or-later
"""abuse -- what the abuse-control tests share (test_abuse_*.py): a
guichetd of their own on the session's database, started with the
defaults (or whatever a test needs), and clients that come from an
address of their choosing.

The session's guichetd runs with limits no test reaches
(harness.SUITE_LIMITS); these servers do not.  They trust 127.0.0.1 as a
proxy, so each test picks fresh client addresses with X-Forwarded-For
and the tests do not share a rate-limit bucket."""
import re
import secrets
import time
from contextlib import contextmanager

import requests

from harness import ARTIFACTS, Guichetd


class Server:
    """What a test sees of an extra guichetd."""

    def __init__(self, srv):
        self.srv = srv
        self.base_url = srv.base_url
        self.port = srv.port

    def url(self, path):
        return self.base_url + path

    def cli(self, *args, **kw):
        return self.srv.cli(*args, **kw)

    def log_text(self):
        return self.srv.log_text()


@contextmanager
def extra_server(guichet, name, **env):
    """A guichetd on the session's database with the default configuration
    but for @env (GUICHET_* values) and debug logs."""
    e = {"GUICHET_LOG_LEVEL": "debug", "GUICHET_TRUSTED_PROXIES": "127.0.0.1"}
    e.update({k: str(v) for k, v in env.items()})
    srv = Guichetd(guichet.cluster, guichet.keyfile, ARTIFACTS / f"{name}-guichetd.log", env=e)
    srv.log_path.write_bytes(b"")
    srv.start()
    try:
        yield Server(srv)
    finally:
        srv.stop()


def fresh_addr():
    """A client address no other test uses (10/8)."""
    return "10.%d.%d.%d" % tuple(secrets.randbelow(254) + 1 for _ in range(3))


def client(addr=None):
    """A requests.Session that comes from @addr (fresh if None)."""
    s = requests.Session()
    s.addr = addr or fresh_addr()
    s.headers["X-Forwarded-For"] = s.addr
    return s


def retry_after(resp):
    """The Retry-After of a 429/423 (whole seconds), checked against the
    body's "retry_after" when there is one."""
    v = resp.headers.get("Retry-After")
    assert v is not None and re.fullmatch(r"[1-9][0-9]*", v), resp.headers
    body = resp.json()
    if "retry_after" in body:
        assert body["retry_after"] == int(v), body
    return int(v)


def wait_until(pred, timeout=10, step=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()
