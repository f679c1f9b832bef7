# SPDX-License-Identifier: AGPL-3.0-or-later
"""Fixtures of the fault tests: one cluster for the session (cluster.py:
three guichetd behind HAProxy, a PostgreSQL primary with a synchronous
standby, in a folder under /tmp), SQL on whichever node is primary, and
the customers, tokens and phones the load works on -- all made through
guichetd's CLI and HTTP API, as a bank's would be.

Argon2id runs with small parameters (m=1 MiB, t=1) and the rate limits are
out of reach (harness.SUITE_LIMITS), as in the API tests: the load is a few
dozen requests a second from one address, and what is measured is
availability and consistency, not hashing.  Logs of every process are
copied to tests/artifacts/ha/ at the end."""
import base64
import secrets
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg2
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "api"))
sys.path.insert(0, str(HERE))

import pskcfile  # noqa: E402
from cluster import Cluster  # noqa: E402
from harness import ARTIFACTS, SUITE_LIMITS  # noqa: E402
from helpers import parse_otpauth, random_pin  # noqa: E402
from load import Cred, Enroller, Recorder  # noqa: E402

FAST_ARGON2 = {"GUICHET_ARGON2_M_KIB": "1024", "GUICHET_ARGON2_T": "1",
               "GUICHET_ARGON2_P": "1"}
LOGS = ARTIFACTS / "ha"


def pytest_configure(config):
    config.addinivalue_line("markers", "smoke: the short fault test ./dev test runs too")


def smoke_only(config):
    """Only the smoke test runs (pytest -m smoke, from ./dev test): a
    smaller population and a shorter load, so it stays near a minute."""
    return (config.getoption("markexpr", "") or "").strip() == "smoke"


@pytest.fixture(scope="session")
def sizes(request):
    """(TOTP customers, of them only ever attacked, hardware tokens,
    payers, seconds of load before the fault, seconds after it)."""
    if smoke_only(request.config):
        return {"totp": 16, "attacked": 2, "tokens": 2, "payers": 2, "warm": 3.0, "after": 7.0}
    return {"totp": 40, "attacked": 4, "tokens": 6, "payers": 4, "warm": 6.0, "after": 12.0}


class Db:
    """SQL as the superuser on the node that is primary now; reconnects
    after a failover."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.conn = None
        self.lock = threading.Lock()

    def __call__(self, sql, *params):
        with self.lock:
            for attempt in range(3):
                try:
                    if self.conn is None or self.conn.closed:
                        self.conn = psycopg2.connect(host=str(self.cluster.primary.sock),
                                                     dbname="guichet", user="postgres",
                                                     connect_timeout=5)
                        self.conn.autocommit = True
                    with self.conn.cursor() as cur:
                        cur.execute(sql, params or None)
                        return cur.fetchall() if cur.description else []
                except (psycopg2.OperationalError, psycopg2.InterfaceError):
                    self.conn = None
                    if attempt == 2:
                        raise
                    time.sleep(1)

    def close(self):
        if self.conn is not None:
            self.conn.close()


@pytest.fixture(scope="session")
def ha():
    base = Path(tempfile.mkdtemp(prefix="guichet-ha-", dir="/tmp"))
    base.chmod(0o711)               # postgres passes through to its own folders
    env = dict(FAST_ARGON2, **SUITE_LIMITS, GUICHET_LOG_LEVEL="info")
    c = Cluster(base / "c", instances=3, env=env, workers=6)
    try:
        c.up()
        yield c
    finally:
        c.down()
        LOGS.mkdir(parents=True, exist_ok=True)
        for f in list(c.dir.glob("*.log")) + list(c.dir.glob("pg*/postgresql.log")):
            name = f.name if f.parent == c.dir else f"{f.parent.name}-{f.name}"
            try:
                shutil.copyfile(f, LOGS / name)
            except OSError:
                pass
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def db(ha):
    d = Db(ha)
    yield d
    d.close()


class Population:
    """Who the load works on."""

    def __init__(self, api_key, creds, payers, sizes):
        self.sizes = sizes
        self.api_key = api_key
        self.creds = creds
        self.payers = payers


@pytest.fixture(scope="session")
def population(ha, db, sizes):
    api_key = ha.cli("apikey", "create", "--name", "ha-load", "--origin",
                     "https://shop.example")["key"]

    def totp_customer(i, attacked=False):
        pin = random_pin(6)
        out = ha.cli("customer", "create", "--ref", f"ha-{i}-{secrets.token_hex(3)}",
                     "--pin", pin, "--otpauth")
        q = parse_otpauth(out["otpauth_uri"])[1]
        s = q["secret"]
        seed = base64.b32decode(s + "=" * (-len(s) % 8))
        return Cred(out["customer_id"], pin, "totp", seed, attacked=attacked)

    with ThreadPoolExecutor(max_workers=2) as pool:
        n, bad = sizes["totp"], sizes["attacked"]
        creds = list(pool.map(totp_customer, range(n)))
        creds += list(pool.map(lambda i: totp_customer(i, True), range(n, n + bad)))

    # hardware tokens: imported from PSKC, enrolled through the API
    tokens = [(f"HA{secrets.token_hex(4).upper()}", secrets.token_bytes(20)) for _ in range(sizes["tokens"])]
    f = ha.dir / "tokens.xml"
    f.write_bytes(pskcfile.build([pskcfile.Token(serial, seed, counter=0) for serial, seed in tokens]))
    out = ha.cli("tokens", "import", f)
    assert out["imported"] == len(tokens), out
    f.unlink()
    rec = Recorder()
    deadline = time.monotonic() + 120
    for serial, seed in tokens:
        en = Enroller(ha, rec, db, hardware=(serial, seed))
        assert en.run(deadline), (en.e, rec.stuck, rec.attempts[-5:])
        creds.append(Cred(en.e.customer_id, en.e.pin, "hotp", seed, next_counter=1))
    payers = []
    for _ in range(sizes["payers"]):
        en = Enroller(ha, rec, db)
        assert en.run(deadline), (en.e, rec.stuck, rec.attempts[-5:])
        payers.append((en.e.customer_id, en.phone))
    bad = [a for a in rec.attempts if a.cls != "ok"]
    assert not bad, f"setup saw failures: {bad[:5]}"
    return Population(api_key, creds, payers, sizes)


@pytest.fixture(autouse=True)
def healthy(ha):
    """Every test starts (and leaves) with every instance serving."""
    ha.reap()
    ha.wait_haproxy(timeout=30)
