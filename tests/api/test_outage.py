# SPDX-License-Identifier: AGPL-3.0-or-later
"""The database goes away under a running guichetd: /readyz and the API
answer 503 `database_unavailable` (never a hang, never a 500), /healthz stays
200, and once PostgreSQL is back the service resumes by itself."""
import secrets

import pytest
import requests

# after the other tests: an outage must not be able to spoil them
pytestmark = pytest.mark.last

from helpers import assert_error, wait_fresh_step


def unknown():
    return "cus_" + secrets.token_urlsafe(16)[:22]


def after_recovery(guichet, http, n=32):
    """@n requests on fresh connections (spread over the workers) must all
    be served: none may trip over a connection broken by the restart."""
    codes = []
    for _ in range(n):
        r = requests.post(guichet.url("/v1/authn/verify"), timeout=15,
                          headers={"Authorization": http.headers["Authorization"]},
                          json={"customer_id": unknown(), "pin": "73829164", "otp": "000000"})
        codes.append(r.status_code)
    assert codes == [401] * n, f"after the database came back: {codes}"


@pytest.fixture
def db_back(guichet):
    yield
    if not guichet.cluster.running():
        guichet.db_start()
    guichet.wait_ready(200, timeout=30)


def test_database_down_then_back(guichet, http, customer, db_back):
    guichet.db_stop()
    r = guichet.wait_ready(503, timeout=15)
    assert_error(r, 503, "database_unavailable")
    for _ in range(4):
        assert_error(http.verify_otp(customer.id, customer.pin, customer.code()), 503,
                     "database_unavailable")
    assert requests.get(guichet.url("/healthz"), timeout=10).status_code == 200
    guichet.db_start()
    guichet.wait_ready(200, timeout=30)
    after_recovery(guichet, http)
    t = wait_fresh_step()
    from helpers import totp_at
    r = http.verify_otp(customer.id, customer.pin, totp_at(customer.secret, t))
    assert r.status_code == 200, r.text
    assert guichet.sql_value("SELECT failed_attempts FROM customers WHERE id = %s", customer.id) == 0, \
        "503s must not count as failed attempts"


def test_quick_restart_between_requests(guichet, http, customer, db_back):
    """No request while it is down: the workers' connections are silently
    broken, and the next requests must still be served."""
    after_recovery(guichet, http, n=8)           # every worker has a connection
    guichet.db_restart()
    guichet.wait_ready(200, timeout=30)
    after_recovery(guichet, http)
    r = http.verify_otp(customer.id, customer.pin, customer.code())
    assert r.status_code == 200, r.text
