# SPDX-License-Identifier: AGPL-3.0-or-later
"""HOTP tokens: verify with the look-ahead window, replay, and
POST /v1/authn/resync with two consecutive codes.

The CLI only makes TOTP customers, so each test plants a hardware HOTP token
the way the token import would: a credentials row whose seed is sealed in
the AES-256-GCM envelope under the test's master key, bound to the row by
the associated data "credential:<id>" (see helpers.seal).  A server that
opens it is also proof that its envelope matches the documented format."""
import os
import secrets

import pytest

from helpers import assert_error, hotp, oathtool_hotp, seal


@pytest.fixture
def hotp_customer(guichet, new_customer):
    """A customer whose only active credential is an HOTP-SHA1 token at
    counter 0; .seed holds the token's secret."""
    c = new_customer()
    seed = os.urandom(20)
    cred_id = "crd_" + secrets.token_urlsafe(16)[:22]
    guichet.sql("UPDATE credentials SET state = 'revoked' WHERE customer_id = %s", c.id)
    guichet.sql("INSERT INTO credentials (id, customer_id, kind, otp_type, algorithm, digits, "
                "period, seed_sealed, counter) VALUES (%s, %s, 'hardware', 'hotp', 'SHA1', 6, "
                "NULL, %s, 0)", cred_id, c.id, seal(guichet.keyfile, seed, "credential:" + cred_id))
    c.extra.update(hotp_seed=seed, credential_id=cred_id)
    guichet.secrets.add(seed.hex())
    return c


def counter(guichet, cred_id):
    return guichet.sql_value("SELECT counter FROM credentials WHERE id = %s", cred_id)


def code(c, n):
    return hotp(c.extra["hotp_seed"], n)


def failures(guichet, customer_id):
    return guichet.sql_value("SELECT failed_attempts FROM customers WHERE id = %s", customer_id)


def test_hotp_reference_implementations_agree(hotp_customer):
    seed = hotp_customer.extra["hotp_seed"]
    for n in (0, 1, 9, 1000):
        assert oathtool_hotp(seed.hex(), n) == hotp(seed, n)
    # RFC 4226 appendix D
    assert [hotp(b"12345678901234567890", i) for i in range(3)] == ["755224", "287082", "359152"]


def test_hotp_verify_and_replay(guichet, http, hotp_customer):
    c, cred = hotp_customer, hotp_customer.extra["credential_id"]
    r = http.verify_otp(c.id, c.pin, oathtool_hotp(c.extra["hotp_seed"].hex(), 0))
    assert r.status_code == 200, r.text
    assert r.json() == {"result": "accepted", "credential_id": cred}
    assert counter(guichet, cred) == 1, "HOTP counter is the next expected value"
    r = http.verify_otp(c.id, c.pin, code(c, 0))
    assert_error(r, 401, "authentication_failed")
    assert counter(guichet, cred) == 1


def test_hotp_look_ahead(guichet, http, hotp_customer):
    c, cred = hotp_customer, hotp_customer.extra["credential_id"]
    r = http.verify_otp(c.id, c.pin, code(c, 5))
    assert r.status_code == 200, r.text
    assert counter(guichet, cred) == 6
    # codes skipped over are spent
    assert_error(http.verify_otp(c.id, c.pin, code(c, 3)), 401, "authentication_failed")
    # far beyond the look-ahead window (10): refused, counter unchanged
    assert_error(http.verify_otp(c.id, c.pin, code(c, 6 + 50)), 401, "authentication_failed")
    assert counter(guichet, cred) == 6


def test_resync_then_verify(guichet, http, hotp_customer):
    c, cred = hotp_customer, hotp_customer.extra["credential_id"]
    # the token ran ahead: 300 presses the server never saw
    assert_error(http.verify_otp(c.id, c.pin, code(c, 300)), 401, "authentication_failed")
    r = http.resync(c.id, code(c, 300), code(c, 301))
    assert r.status_code == 200, r.text
    assert isinstance(r.json(), dict)
    assert counter(guichet, cred) == 302
    # the resync codes are spent, the next one works
    assert_error(http.verify_otp(c.id, c.pin, code(c, 301)), 401, "authentication_failed")
    r = http.verify_otp(c.id, c.pin, code(c, 302))
    assert r.status_code == 200, r.text
    rows = guichet.sql("SELECT action, outcome FROM authn_audit WHERE customer_id = %s "
                       "ORDER BY id", c.id)
    assert ("resync", "accepted") in rows, rows
    # the same pair again is a replay
    assert_error(http.resync(c.id, code(c, 300), code(c, 301)), 401, "authentication_failed")
    assert counter(guichet, cred) == 303


def test_resync_refuses_non_consecutive_codes(guichet, http, hotp_customer):
    c, cred = hotp_customer, hotp_customer.extra["credential_id"]
    assert_error(http.resync(c.id, code(c, 200), code(c, 202)), 401, "authentication_failed")
    assert_error(http.resync(c.id, code(c, 201), code(c, 200)), 401, "authentication_failed")
    assert counter(guichet, cred) == 0


def test_resync_window_is_1000(guichet, http, hotp_customer):
    c, cred = hotp_customer, hotp_customer.extra["credential_id"]
    assert_error(http.resync(c.id, code(c, 1500), code(c, 1501)), 401, "authentication_failed")
    assert counter(guichet, cred) == 0
    r = http.resync(c.id, code(c, 900), code(c, 901))
    assert r.status_code == 200, r.text
    assert counter(guichet, cred) == 902


def test_resync_needs_an_hotp_credential(guichet, http, customer):
    t_code = customer.code()
    assert_error(http.resync(customer.id, t_code, "000000"), 401, "authentication_failed")


def test_resync_unknown_customer(http):
    cid = "cus_" + secrets.token_urlsafe(16)[:22]
    body = assert_error(http.resync(cid, "123456", "654321"), 401, "authentication_failed")
    assert "attempts_remaining" not in body


def test_resync_bad_input(guichet, http, hotp_customer):
    c = hotp_customer
    r = http.post(guichet.url("/v1/authn/resync"), json={"customer_id": c.id, "otp1": code(c, 10)},
                  timeout=10)
    body = assert_error(r, 400, "invalid_field")
    assert "otp2" in body["error"]["message"]
    assert counter(guichet, c.extra["credential_id"]) == 0
