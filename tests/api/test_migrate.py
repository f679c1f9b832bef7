# SPDX-License-Identifier: AGPL-3.0-or-later
"""`guichetd migrate`: applies every file once, is a no-op when run again or
from two processes at once, and /readyz is 503 until the schema is current."""
import json
import re
import subprocess
import time

import pytest
import requests

from harness import GUICHETD, REPO, Guichetd, ARTIFACTS


def migration_files():
    return sorted(p.name for p in (REPO / "migrations").glob("*.sql")
                  if re.match(r"^\d{4}_.+\.sql$", p.name))


def test_migrate_again_is_a_no_op(guichet):
    # the first run may rekey rows other tests planted by hand without a key id
    first = guichet.cli("migrate")
    assert (first["applied"], first["pending"]) == (0, 0), first
    assert guichet.cli("migrate") == {"applied": 0, "pending": 0, "rekeyed": 0}
    n = guichet.sql_value("SELECT count(*) FROM schema_migrations")
    assert n == len(migration_files())


def test_two_migrates_at_once(guichet):
    guichet.cluster.create_database("mig_race")
    env = guichet.env(GUICHET_DATABASE_URL=guichet.cluster.conninfo("mig_race"))
    procs = [subprocess.Popen([str(GUICHETD), "migrate"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, f"migrate failed: {out!r} {err[-2000:]!r}"
        outs.append(json.loads(out))
    files = migration_files()
    assert sorted(o["applied"] for o in outs) == [0, len(files)], outs
    assert all(o["pending"] == 0 for o in outs), outs
    versions = guichet.cluster.psql("SELECT count(*), count(DISTINCT version) FROM schema_migrations",
                                    dbname="mig_race")
    assert versions == f"{len(files)}|{len(files)}", versions
    assert guichet.cli("migrate", env=env) == {"applied": 0, "pending": 0, "rekeyed": 0}


def test_readyz_503_until_migrated(guichet):
    guichet.cluster.create_database("mig_pending")
    dsn = guichet.cluster.conninfo("mig_pending")
    srv = Guichetd(guichet.cluster, guichet.keyfile, ARTIFACTS / "api-guichetd-pending.log",
                   env=dict(guichet.server.extra_env, GUICHET_DATABASE_URL=dsn))
    try:
        try:
            srv.start(timeout=5)
            raise AssertionError("/readyz answered 200 on an empty database")
        except RuntimeError:
            pass      # not ready, as it should be; is it alive?
        assert srv.proc.poll() is None, "guichetd must serve (and say not ready) " \
                                        "while migrations are pending:\n" + srv.log_tail()
        assert requests.get(srv.base_url + "/healthz", timeout=5).status_code == 200
        r = requests.get(srv.base_url + "/readyz", timeout=5)
        assert r.status_code == 503
        assert r.json()["error"]["code"]
        out = srv.cli("migrate")
        assert out["applied"] == len(migration_files()) and out["pending"] == 0
        deadline = time.monotonic() + 10
        while requests.get(srv.base_url + "/readyz", timeout=5).status_code != 200:
            assert time.monotonic() < deadline, "/readyz stays 503 after migrate"
            time.sleep(0.2)
    finally:
        srv.stop()


def test_authn_audit_refuses_unknown_actions_and_outcomes(guichet):
    """Migration 0019 moved authn_audit's value lists from table CHECKs to
    domains (read once per connection instead of once per INSERT): they
    must still refuse what is not on them, and take what is."""
    import psycopg2
    before = guichet.sql_value("SELECT count(*) FROM authn_audit")
    for action, outcome in (("verify", "bogus"), ("login", "locked"), ("verify", "LOCKED"),
                            ("verify", "")):
        with pytest.raises(psycopg2.Error) as e:
            guichet.sql("INSERT INTO authn_audit (action, outcome) VALUES (%s, %s)",
                        action, outcome)
        assert e.value.pgcode == "23514", (action, outcome, e.value.pgcode)   # check_violation
    assert guichet.sql_value("SELECT count(*) FROM authn_audit") == before
    for action, outcome in (("tx_response", "response_invalid"), ("passkey", "challenge_expired")):
        guichet.sql("INSERT INTO authn_audit (action, outcome, customer_id) VALUES (%s, %s, %s)",
                    action, outcome, "cus_migrate_check")
    assert guichet.sql_value("SELECT count(*) FROM authn_audit"
                             " WHERE customer_id = 'cus_migrate_check'") == 2
