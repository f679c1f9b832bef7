# SPDX-License-Identifier: AGPL-3.0-or-later
"""Connections one client may hold (issue 12, "Abuse controls"): a real
client opens thousands of connections from 127.0.0.1 and leaves each
request half-sent, while another address (127.0.0.2 as source) must still
be served; the per-address cap and the header deadline close what the
client holds; a trusted proxy's address is neither capped nor timed.

Each test runs its own guichetd on the session's database (the session's
trusts 127.0.0.1 as a proxy, which exempts it from the cap), and checks
the database as well: a half-sent enrolment creates nothing."""
import re
import resource
import socket
import time
from contextlib import contextmanager

import pytest
import requests
import requests.adapters

from conftest import FAST_ARGON2
from harness import ARTIFACTS, Guichetd

HALF = (b"POST /v1/enrolments HTTP/1.1\r\nHost: guichet\r\n"
        b"Content-Type: application/json\r\n")      # no blank line: never ends


@contextmanager
def server(guichet, name, **env):
    """A guichetd of its own on the session's database."""
    e = dict(FAST_ARGON2, GUICHET_LOG_LEVEL="debug", GUICHET_TRUSTED_PROXIES="")
    e.update({k: str(v) for k, v in env.items()})
    srv = Guichetd(guichet.cluster, guichet.keyfile, ARTIFACTS / f"{name}-guichetd.log", env=e)
    srv.log_path.write_bytes(b"")
    srv.start()
    # start() asked /readyz from 127.0.0.1: let the server see that
    # connection close before a test counts 127.0.0.1's connections
    time.sleep(0.5)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def many_files():
    """Room for thousands of sockets here and in the guichetd we start."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 16384) if hard != resource.RLIM_INFINITY else 16384
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def half_sent(port, n, source="127.0.0.1", payload=HALF):
    """@n connections from @source, each with a request that never ends."""
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5)
        s.bind((source, 0))
        try:
            s.connect(("127.0.0.1", port))
            s.sendall(payload)
        except OSError:
            pass                      # refused or reset: the server let it go
        socks.append(s)
    return socks


def still_open(socks):
    """How many of @socks the server has not closed."""
    n = 0
    for s in socks:
        s.setblocking(False)
        try:
            n += s.recv(1) != b""     # a byte would be an answer: count it open
        except BlockingIOError:
            n += 1
        except OSError:
            pass
    return n


def close_all(socks):
    for s in socks:
        s.close()


def served_from(source, port, timeout=5):
    """GET /healthz from @source; @return the status, or None."""
    s = requests.Session()
    s.mount("http://", SourceAdapter(source))
    try:
        return s.get(f"http://127.0.0.1:{port}/healthz", timeout=timeout).status_code
    except requests.RequestException:
        return None


class SourceAdapter(requests.adapters.HTTPAdapter):
    """Connections from a chosen loopback address."""

    def __init__(self, source):
        self.source = source
        super().__init__()

    def init_poolmanager(self, *a, **kw):
        kw["source_address"] = (self.source, 0)
        super().init_poolmanager(*a, **kw)


def enrolments(guichet):
    return guichet.sql_value("SELECT count(*) FROM enrolments")


# ------------------------------------------------------------------ the attack

def test_thousands_of_half_sent_requests_leave_other_addresses_served(guichet, many_files):
    """Defaults: 64 connections per address, headers within 10 s.  One
    client opens 4,100 connections (more than the 4,000 guichetd takes in
    all) and sends each a request that never ends; 127.0.0.2 is served all
    the same, the client keeps 64, and those go after 10 s."""
    before = enrolments(guichet)
    with server(guichet, "conn-defaults") as srv:
        t0 = time.monotonic()
        socks = half_sent(srv.port, 4100)
        try:
            time.sleep(1)                       # let the acceptor catch up
            assert served_from("127.0.0.2", srv.port) == 200
            kept = still_open(socks)
            assert kept == 64, f"{kept} half-sent connections kept open"
            # a new one from the same address is let go at once
            extra = half_sent(srv.port, 1)
            time.sleep(0.5)
            assert still_open(extra) == 0
            close_all(extra)
            # the header deadline: 10 s after each connection began
            while still_open(socks) and time.monotonic() - t0 < 14:
                time.sleep(0.5)
            assert still_open(socks) == 0
            assert time.monotonic() - t0 > 9, "closed before the 10 s deadline"
            closed = re.findall(r"closed (\d+) connections that sent no complete request",
                                srv.log_text())
            assert sum(map(int, closed)) == 64, closed
        finally:
            close_all(socks)
        assert served_from("127.0.0.1", srv.port) == 200    # the client may come back
    assert enrolments(guichet) == before


def test_a_slow_trickle_of_headers_is_cut_off(guichet):
    """The deadline counts from the start of the request, not from the last
    byte: a client sending one header byte every 0.3 s is closed after
    header_timeout_s, while a whole request within it is answered."""
    with server(guichet, "conn-trickle", GUICHET_HEADER_TIMEOUT_S=2) as srv:
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        t0 = time.monotonic()
        closed_after = None
        try:
            for b in b"GET /healthz HTTP/1.1\r\nX-Slow: " + b"a" * 100:
                s.sendall(bytes([b]))
                time.sleep(0.3)
                s.setblocking(False)
                try:
                    if s.recv(1) == b"":
                        closed_after = time.monotonic() - t0
                        break
                except BlockingIOError:
                    pass
                except OSError:
                    closed_after = time.monotonic() - t0
                    break
                finally:
                    s.setblocking(True)
        except OSError:
            closed_after = time.monotonic() - t0
        finally:
            s.close()
        assert closed_after is not None and 1.5 < closed_after < 4.5, closed_after
        # a request that arrives whole, on a connection kept alive between
        # requests, is answered every time
        with requests.Session() as http:
            for _ in range(3):
                assert http.get(srv.base_url + "/healthz", timeout=5).status_code == 200
                time.sleep(0.5)


def test_the_cap_is_per_address_and_configurable(guichet, many_files):
    before = enrolments(guichet)
    with server(guichet, "conn-cap", GUICHET_MAX_CONNECTIONS_PER_ADDRESS=5) as srv:
        a = half_sent(srv.port, 12, source="127.0.0.1")
        b = half_sent(srv.port, 12, source="127.0.0.5")
        try:
            time.sleep(0.5)
            assert (still_open(a), still_open(b)) == (5, 5)
            assert served_from("127.0.0.6", srv.port) == 200
            assert served_from("127.0.0.1", srv.port) is None     # its 5 are taken
        finally:
            close_all(a + b)
        time.sleep(0.5)
        assert served_from("127.0.0.1", srv.port) == 200         # given back on close
    assert enrolments(guichet) == before


def test_a_trusted_proxy_is_not_capped(guichet, many_files):
    """Behind a proxy every connection comes from the proxy: its address is
    neither capped nor timed here (the proxy must do both itself), while
    another address is."""
    with server(guichet, "conn-proxy", GUICHET_MAX_CONNECTIONS_PER_ADDRESS=3,
                GUICHET_HEADER_TIMEOUT_S=2, GUICHET_TRUSTED_PROXIES="127.0.0.3") as srv:
        proxy = half_sent(srv.port, 20, source="127.0.0.3")
        other = half_sent(srv.port, 20, source="127.0.0.4")
        try:
            time.sleep(0.5)
            assert (still_open(proxy), still_open(other)) == (20, 3)
            time.sleep(3)
            assert (still_open(proxy), still_open(other)) == (20, 0)
            # and the proxy's clients are served through it
            for i in range(5):
                st = SourceAdapter("127.0.0.3")
                with requests.Session() as http:
                    http.mount("http://", st)
                    r = http.get(srv.base_url + "/readyz", timeout=5,
                                 headers={"X-Forwarded-For": f"198.51.100.{i}"})
                    assert r.status_code == 200
        finally:
            close_all(proxy + other)
