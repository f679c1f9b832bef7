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
