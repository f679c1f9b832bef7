# SPDX-License-Identifier: AGPL-3.0-or-later
"""API test fixtures: one throwaway PostgreSQL cluster and one real guichetd
for the whole session (see harness.py), an API key, customers made with
`guichetd customer create`, and direct SQL for asserting what changed.

Argon2id runs with small parameters here (m=1 MiB, t=1) so that the suite
stays fast; tests/bench/verify measures the defaults.  Every secret a test
uses (PINs, OTPs, API keys, seeds) is recorded in `guichet.secrets`, and the
last test greps the server log for them.
"""
import secrets as _secrets
import sys
import threading
import time
from pathlib import Path

import psycopg2
import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import SUITE_LIMITS, Stack, CliError  # noqa: E402
from helpers import Customer, parse_otpauth, random_pin  # noqa: E402

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
FAST_ARGON2 = {"GUICHET_ARGON2_M_KIB": "1024", "GUICHET_ARGON2_T": "1",
               "GUICHET_ARGON2_P": "1"}


def pytest_configure(config):
    config.addinivalue_line("markers", "last: run after every other test "
                            "(e.g. the log scan, which needs the whole session's log)")


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)


class Guichet:
    """What a test sees of the running service."""

    def __init__(self, stack):
        self.stack = stack
        self.server = stack.server
        self.cluster = stack.cluster
        self.base_url = stack.server.base_url
        self.keyfile = stack.keyfile
        self.secrets = set()          # strings that must never reach the log
        self._conn = None
        self._lock = threading.Lock()

    # ---- CLI
    def cli(self, *args, **kw):
        return self.server.cli(*args, **kw)

    def cli_run(self, *args, **kw):
        return self.server.cli_run(*args, **kw)

    def env(self, **over):
        return self.server.env(**over)

    # ---- SQL as the superuser, autocommit
    def _connect(self):
        conn = psycopg2.connect(host=str(self.cluster.sock), dbname="guichet",
                                user="postgres")
        conn.autocommit = True
        return conn

    def sql(self, query, *params):
        """Run @query; @return its rows (a list of tuples; [] when none)."""
        with self._lock:
            for attempt in (1, 2):
                if self._conn is None or self._conn.closed:
                    self._conn = self._connect()
                try:
                    with self._conn.cursor() as cur:
                        cur.execute(query, params or None)
                        return cur.fetchall() if cur.description else []
                except (psycopg2.OperationalError, psycopg2.InterfaceError):
                    # the cluster was restarted under us: reconnect once
                    self._conn = None
                    if attempt == 2:
                        raise

    def sql_value(self, query, *params):
        rows = self.sql(query, *params)
        return rows[0][0] if rows else None

    # ---- the database, for outage tests
    def db_stop(self):
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        self.cluster.stop("fast")

    def db_start(self):
        self.cluster.start()

    def db_restart(self):
        self.db_stop()
        self.db_start()

    # ---- HTTP
    def url(self, path):
        return self.base_url + path

    def wait_ready(self, want=200, timeout=30):
        """Poll /readyz until it answers @want; @return the last response."""
        deadline = time.monotonic() + timeout
        r = None
        while time.monotonic() < deadline:
            try:
                r = requests.get(self.url("/readyz"), timeout=5)
                if r.status_code == want:
                    return r
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError(f"/readyz did not answer {want} within {timeout}s "
                             f"(last: {r.status_code if r is not None else None} "
                             f"{r.text[:300] if r is not None else ''})")

    def log_text(self):
        return self.server.log_text()


@pytest.fixture(scope="session")
def stack():
    # X-Forwarded-For from the tests (on loopback) is believed, so a test
    # can play a phone on a Tor exit (harness.py already points at the
    # GeoIP test databases).
    env = dict(FAST_ARGON2, **SUITE_LIMITS, GUICHET_LOG_LEVEL="debug",
               GUICHET_SANCTIONS_DIR=str(SHARED / "data" / "sanctions" / "ofac"),
               GUICHET_TRUSTED_PROXIES="127.0.0.1")
    s = Stack("api", env=env)
    yield s
    s.close()


@pytest.fixture(scope="session")
def guichet(stack):
    g = Guichet(stack)
    yield g
    if g._conn is not None and not g._conn.closed:
        g._conn.close()


@pytest.fixture
def ready(guichet):
    """A test that may have broken the service leaves it ready."""
    yield guichet
    guichet.wait_ready(200, timeout=10)


@pytest.fixture(scope="session")
def api_key(guichet):
    out = guichet.cli("apikey", "create", "--name", "api-tests")
    guichet.secrets.add(out["key"])
    return out["key"]


@pytest.fixture(scope="session")
def http(guichet, api_key):
    """A requests.Session speaking to guichetd with the API key."""
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {api_key}"
    s.base_url = guichet.base_url

    def verify(customer_id, pin, otp, **kw):
        for v in (pin, otp):
            if isinstance(v, str) and len(v) >= 6:
                guichet.secrets.add(v)
        return s.post(guichet.url("/v1/authn/verify"),
                      json={"customer_id": customer_id, "pin": pin, "otp": otp},
                      timeout=30, **kw)

    def resync(customer_id, otp1, otp2, **kw):
        guichet.secrets.update({otp1, otp2})
        return s.post(guichet.url("/v1/authn/resync"),
                      json={"customer_id": customer_id, "otp1": otp1, "otp2": otp2},
                      timeout=30, **kw)

    s.verify_otp = verify
    s.resync = resync
    yield s
    s.close()


def create_customer(guichet, pin=None, ref=None):
    pin = pin or random_pin()
    ref = ref or "ref-" + _secrets.token_hex(6)
    for _ in range(5):
        try:
            out = guichet.cli("customer", "create", "--ref", ref, "--pin", pin, "--otpauth")
            break
        except CliError as e:
            code = (e.json or {}).get("error", {}).get("code")
            if code == "policy_refused" and pin is not None:
                pin = random_pin()     # our random PIN hit the common list
                continue
            raise
    label, q = parse_otpauth(out["otpauth_uri"])
    c = Customer(id=out["customer_id"], pin=pin, secret=q["secret"],
                 uri=out["otpauth_uri"], ref=ref)
    guichet.secrets.update({pin, c.secret})
    return c


@pytest.fixture
def new_customer(guichet):
    """Factory: new_customer(pin=None, ref=None) -> Customer (TOTP, SHA1/6/30)."""
    return lambda **kw: create_customer(guichet, **kw)


@pytest.fixture
def customer(new_customer):
    return new_customer()


# ------------------------------------------------------------------ messages

@pytest.fixture(scope="session")
def messaging():
    """A second stack whose guichetd delivers: a real SMTP relay
    (aiosmtpd) and a real webhook receiver on loopback, short back-off so
    that retries happen within a test (tests/api/relays.py).  The main
    stack sends nothing (no smtp_url), so the outbox there stays readable."""
    from relays import Mailbox, Receiver
    box = Mailbox().start()
    hooks = Receiver().start()
    env = dict(FAST_ARGON2, **SUITE_LIMITS, GUICHET_LOG_LEVEL="debug",
               GUICHET_SANCTIONS_DIR=str(SHARED / "data" / "sanctions" / "ofac"),
               GUICHET_SMTP_URL=box.url, GUICHET_MAIL_FROM="guichet@bank.example",
               GUICHET_NOTIFY_POLL_MS="100", GUICHET_NOTIFY_RETRY_BASE_MS="200",
               GUICHET_NOTIFY_RETRY_MAX_S="2", GUICHET_NOTIFY_MAX_ATTEMPTS="5",
               GUICHET_WEBHOOK_TIMEOUT_S="3")
    s = Stack("messages", env=env)
    g = Guichet(s)
    g.mailbox, g.receiver = box, hooks
    g.codes = set()              # assurance codes seen (also in g.secrets)
    yield g
    if g._conn is not None and not g._conn.closed:
        g._conn.close()
    s.close()
    hooks.stop()
    box.stop()
