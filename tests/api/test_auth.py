# SPDX-License-Identifier: AGPL-3.0-or-later
"""Relying parties authenticate with `Authorization: Bearer <api key>`: no
key, a wrong key, another scheme or a revoked key get 401 `unauthorized`,
and such a request never reaches the customer (no failure counted)."""
import hashlib

import pytest
import requests

from helpers import assert_error


def failures(guichet, cid):
    return guichet.sql_value("SELECT failed_attempts FROM customers WHERE id = %s", cid)


def audit_count(guichet, cid):
    return guichet.sql_value("SELECT count(*) FROM authn_audit WHERE customer_id = %s", cid)


@pytest.mark.parametrize("auth", [
    None, "", "Bearer", "Bearer ", "Bearer not-a-key", "Basic YWxpY2U6c2VjcmV0",
    "Bearer {key}x", "Bearer x{key}", "bearer-{key}", "Token {key}",
])
@pytest.mark.parametrize("path", ["/v1/authn/verify", "/v1/authn/resync"])
def test_bad_api_key(guichet, api_key, customer, auth, path):
    headers = {}
    if auth is not None:
        headers["Authorization"] = auth.replace("{key}", api_key)
    body = {"customer_id": customer.id, "pin": "00000001", "otp": "000000"}
    if path.endswith("resync"):
        body = {"customer_id": customer.id, "otp1": "000000", "otp2": "000001"}
    r = requests.post(guichet.url(path), json=body, headers=headers, timeout=10)
    err = assert_error(r, 401, "unauthorized")
    assert "attempts_remaining" not in err
    assert failures(guichet, customer.id) == 0
    assert audit_count(guichet, customer.id) == 0


def test_revoked_key(guichet, customer):
    key = guichet.cli("apikey", "create", "--name", "soon-revoked")["key"]
    guichet.secrets.add(key)
    h = {"Authorization": f"Bearer {key}"}
    body = {"customer_id": customer.id, "pin": customer.pin, "otp": "000000"}
    s = requests.Session()          # one kept-alive connection: one worker
    r = s.post(guichet.url("/v1/authn/verify"), json=body, headers=h, timeout=10)
    assert_error(r, 401, "authentication_failed")     # the key works
    guichet.sql("UPDATE api_keys SET revoked_at = now() WHERE name = 'soon-revoked'")
    # refused from the commit on: no instance keeps a copy of a key's
    # validity, not even the worker that has just accepted it
    for client in (s, requests):
        r = client.post(guichet.url("/v1/authn/verify"), json=body, headers=h, timeout=10)
        assert_error(r, 401, "unauthorized")
    assert failures(guichet, customer.id) == 1


def test_api_key_stored_as_sha256(guichet):
    out = guichet.cli("apikey", "create", "--name", "hash-check")
    guichet.secrets.add(out["key"])
    assert set(out) == {"name", "key"} and out["name"] == "hash-check"
    assert len(out["key"]) >= 32
    stored = bytes(guichet.sql_value("SELECT key_hash FROM api_keys WHERE name = 'hash-check'"))
    assert stored == hashlib.sha256(out["key"].encode()).digest()
    dump = repr(guichet.sql("SELECT * FROM api_keys"))
    assert out["key"] not in dump


def test_api_key_name_unique(guichet):
    guichet.secrets.add(guichet.cli("apikey", "create", "--name", "twice")["key"])
    r = guichet.cli_run("apikey", "create", "--name", "twice")
    assert r.returncode != 0
    import json
    assert "error" in json.loads(r.stdout)
    assert guichet.sql_value("SELECT count(*) FROM api_keys WHERE name = 'twice'") == 1


def test_two_relying_parties_are_told_apart_in_the_audit(guichet, customer):
    key = guichet.cli("apikey", "create", "--name", "second-rp")["key"]
    guichet.secrets.add(key)
    r = requests.post(guichet.url("/v1/authn/verify"), timeout=10,
                      headers={"Authorization": f"Bearer {key}"},
                      json={"customer_id": customer.id, "pin": customer.pin, "otp": customer.code()})
    assert r.status_code == 200, r.text
    assert guichet.sql_value("SELECT relying_party FROM authn_audit WHERE customer_id = %s",
                             customer.id) == "second-rp"


# verify checks the key in the statement that loads the customer (one round
# trip for a refusal; server/router.c key_in_handler): a body that is
# refused before that statement must still be answered 401 to a caller
# without a live key, and 400 for its body only to one with a key.  (An
# announced Content-Length over the limit or a wrong Content-Type is
# refused from the headers alone, before any key, on every route.)
BAD_BODIES = [
    ("malformed JSON", b"{\"customer_id\": ", "application/json", 400, "malformed_json"),
    ("wrong types", b"{\"customer_id\": 1, \"pin\": [], \"otp\": {}}", "application/json",
     400, "invalid_field"),
    ("missing fields", b"{}", "application/json", 400, "invalid_field"),
]


@pytest.mark.parametrize("name,body,ctype,status,code", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_verify_bad_body_is_401_without_a_live_key(guichet, api_key, customer,
                                                    name, body, ctype, status, code):
    for auth in ("Bearer not-a-key", "Bearer " + "k" * 129):
        r = requests.post(guichet.url("/v1/authn/verify"), data=body, timeout=10,
                          headers={"Authorization": auth, "Content-Type": ctype})
        assert_error(r, 401, "unauthorized")
    r = requests.post(guichet.url("/v1/authn/verify"), data=body, timeout=10,
                      headers={"Authorization": f"Bearer {api_key}", "Content-Type": ctype})
    assert_error(r, status, code)
    assert failures(guichet, customer.id) == 0
    assert audit_count(guichet, customer.id) == 0


def test_revoked_key_learns_nothing_of_a_locked_customer(guichet, api_key, customer):
    key = guichet.cli("apikey", "create", "--name", "revoked-before-lock")["key"]
    guichet.secrets.add(key)
    guichet.sql("UPDATE api_keys SET revoked_at = now() WHERE name = 'revoked-before-lock'")
    guichet.sql("UPDATE customers SET failed_attempts = 5, locked_at = now(),"
                " locked_until = now() + interval '15 minutes' WHERE id = %s", customer.id)
    body = {"customer_id": customer.id, "pin": customer.pin, "otp": customer.code()}
    for cid in (customer.id, "cus_does_not_exist"):
        r = requests.post(guichet.url("/v1/authn/verify"), timeout=10,
                          json=dict(body, customer_id=cid),
                          headers={"Authorization": f"Bearer {key}"})
        err = assert_error(r, 401, "unauthorized")
        assert "locked_until" not in err and "Retry-After" not in r.headers
    assert guichet.sql_value("SELECT count(*) FROM authn_audit WHERE relying_party ="
                             " 'revoked-before-lock'") == 0
    # with a live key the same request is told the lock, and audited
    r = requests.post(guichet.url("/v1/authn/verify"), json=body, timeout=10,
                      headers={"Authorization": f"Bearer {api_key}"})
    assert_error(r, 423, "locked")
    assert audit_count(guichet, customer.id) == 1
