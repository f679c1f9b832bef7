# SPDX-License-Identifier: AGPL-3.0-or-later
"""The hardware token inventory and the credential lifecycle (issue 6):
PSKC import over HTTP as an admin (plain, pre-shared AES key, PBKDF2
password; RFC 6030's own examples and files written by tests/api/pskcfile.py
with Python's `cryptography`), MAC failures importing nothing, partial mode,
duplicates, roles and CSRF, the inventory list without secrets, the CLI, and
the back-office customer view, unlock and revoke (a revoked credential fails
the very next verify).

Every test checks the answer and what changed (or did not) in hw_tokens,
hw_token_imports, credentials, customers and the audit log.  Activating a
token (authn_token_claim_tx) is the enrolment's credential step: its own
tests drive it; here a claimed hardware credential is set up in SQL the way
the claim leaves it, to show verify, resync and revocation work on it."""
import hashlib
import json
import secrets
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pskcfile  # noqa: E402
from helpers import (assert_error, hotp, seal, totp_at, unseal,  # noqa: E402
                     wait_fresh_step, wrong_code)
from pskcfile import Token  # noqa: E402
from test_admin import Admin  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "unit" / "data" / "pskc"
RFC_SECRET = b"12345678901234567890"
FIG6_KEY = "12345678901234567890123456789012"
IMPORT = "/v1/admin/tokens/import"


# ------------------------------------------------------------------ helpers

@pytest.fixture(scope="module")
def admin(guichet):
    return Admin(guichet, "admin")


@pytest.fixture(scope="module")
def a(admin):
    """A logged-in admin session for the module."""
    return admin.login()


def prefix():
    return "T" + secrets.token_hex(4).upper() + "-"


def tokens_for(g, n, **kw):
    """@n tokens with fresh serials and random 20-byte secrets (recorded as
    secrets the server log must never show)."""
    p = prefix()
    out = [Token(serial=f"{p}{i:05d}", secret=secrets.token_bytes(20), **kw)
           for i in range(n)]
    for t in out:
        g.secrets.update({t.secret.hex(), pskcfile.b64(t.secret)})
    return out


def post_import(g, s, body, key=None, password=None, partial=None, csrf=True,
                ctype="application/pskc+xml"):
    h = {"Content-Type": ctype}
    if csrf:
        h["X-CSRF-Token"] = s.csrf
    if key is not None:
        h["Guichet-PSKC-Key"] = key
        g.secrets.add(key)
    if password is not None:
        h["Guichet-PSKC-Password"] = password
        g.secrets.add(password)
    q = "" if partial is None else f"?partial={partial}"
    return s.post(g.url(IMPORT + q), data=body, headers=h, timeout=120)


def imported(r, n, duplicates=0, rejected=()):
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["imported"] == n and body["duplicates"] == duplicates, body
    assert [(x["serial"], x["reason"]) for x in body["rejected"]] == list(rejected), body
    assert body["import_batch"].startswith("imp_")
    return body


def rows(g, serials):
    """{serial: (id, manufacturer, otp_type, algorithm, digits, period,
    counter, drift, state, sealed)} of the inventory."""
    got = g.sql("SELECT serial, id, manufacturer, otp_type, algorithm, digits, period,"
                " counter, drift, state, seed_sealed FROM hw_tokens"
                " WHERE serial = ANY(%s)", list(serials))
    return {r[0]: r[1:] for r in got}


def count(g):
    return (g.sql_value("SELECT count(*) FROM hw_tokens"),
            g.sql_value("SELECT count(*) FROM hw_token_imports"))


def sealed_secret(g, token_id, sealed):
    return unseal(g.keyfile, sealed, f"token:{token_id}")


def audit(g, action, target):
    return g.sql("SELECT actor, details FROM audit_log WHERE action = %s AND target = %s",
                 action, target)


def rfc_file(name, serial):
    """An RFC 6030 example with its serial replaced (the serial is not
    covered by the MACs) so that every test imports a new token."""
    return (DATA / name).read_bytes().replace(b"987654321", serial.encode())


# ------------------------------------------------------------------ import

def test_plain_import_stores_sealed_secrets_and_audits(guichet, a, admin):
    ts = tokens_for(guichet, 2)
    ts[1].type, ts[1].digits, ts[1].period, ts[1].drift = "totp", 8, 60, -1
    ts[1].suite, ts[1].expiry = "HMAC-SHA256", "2099-01-01T00:00:00Z"
    ts[0].counter = 7
    body = imported(post_import(guichet, a, pskcfile.build(ts)), 2)
    got = rows(guichet, [t.serial for t in ts])
    h, t = got[ts[0].serial], got[ts[1].serial]
    assert h[1:9] == ("Guichet Test", "hotp", "SHA1", 6, None, 7, 0, "in_stock")
    assert t[1:9] == ("Guichet Test", "totp", "SHA256", 8, 60, 0, -1, "in_stock")
    for tok, row in ((ts[0], h), (ts[1], t)):
        assert tok.secret not in bytes(row[9]), "the secret is stored in clear"
        assert sealed_secret(guichet, row[0], row[9]) == tok.secret
        with pytest.raises(Exception):
            unseal(guichet.keyfile, row[9], "token:tok_other")
    assert guichet.sql_value("SELECT valid_until FROM hw_tokens WHERE serial = %s",
                             ts[1].serial).year == 2099
    imp = guichet.sql("SELECT imported_by, encryption, partial, key_packages, imported,"
                      " duplicates FROM hw_token_imports WHERE id = %s", body["import_batch"])
    assert imp == [(admin.username, "none", False, 2, 2, 0)]
    [(actor, details)] = audit(guichet, "tokens.import", body["import_batch"])
    assert actor == admin.username
    assert details["imported"] == 2 and details["encryption"] == "none"
    assert details["file_sha256"] == hashlib.sha256(pskcfile.build(ts)).hexdigest()


def test_rfc6030_figure6_with_the_pre_shared_key(guichet, a):
    serial = prefix() + "F6"
    r = post_import(guichet, a, rfc_file("rfc6030-figure6.xml", serial), key=FIG6_KEY)
    body = imported(r, 1)
    [row] = rows(guichet, [serial]).values()
    assert row[1:8] == ("Manufacturer", "hotp", "SHA1", 8, None, 0, 0)
    assert sealed_secret(guichet, row[0], row[9]) == RFC_SECRET
    assert guichet.sql_value("SELECT encryption FROM hw_token_imports WHERE id = %s",
                             body["import_batch"]) == "key"


def test_rfc6030_figure7_with_the_password(guichet, a):
    serial = prefix() + "F7"
    imported(post_import(guichet, a, rfc_file("rfc6030-figure7.xml", serial),
                         password="qwerty"), 1)
    [row] = rows(guichet, [serial]).values()
    assert row[1] == "TokenVendorAcme"
    assert sealed_secret(guichet, row[0], row[9]) == RFC_SECRET


@pytest.mark.parametrize("cipher,mac", [("aes128-cbc", "hmac-sha1"),
                                        ("aes256-cbc", "hmac-sha256")])
def test_encrypted_with_a_key(guichet, a, cipher, mac):
    key = secrets.token_bytes(pskcfile.CIPHER_KEY_LEN[cipher])
    ts = tokens_for(guichet, 3)
    imported(post_import(guichet, a, pskcfile.build(ts, key=key, cipher=cipher, mac=mac),
                         key=key.hex().upper()), 3)
    got = rows(guichet, [t.serial for t in ts])
    assert all(sealed_secret(guichet, got[t.serial][0], got[t.serial][9]) == t.secret
               for t in ts)


def test_pbkdf2_sha256_aes256_with_a_password(guichet, a):
    pw = "pskc " + secrets.token_hex(6)
    ts = tokens_for(guichet, 2)
    body = pskcfile.build(ts, password=pw, cipher="aes256-cbc", mac="hmac-sha256",
                          prf="hmac-sha256", iterations=5000)
    imported(post_import(guichet, a, body, password=pw), 2)
    # the wrong password: nothing
    before = count(guichet)
    r = post_import(guichet, a, pskcfile.build(tokens_for(guichet, 1), password=pw),
                    password=pw + "x")
    assert_error(r, 422, "policy_refused")
    assert r.json()["reasons"][0] in ("mac_invalid", "decryption_failed")
    assert count(guichet) == before


@pytest.mark.parametrize("tamper", ["mac", "cipher"])
@pytest.mark.parametrize("partial", [None, 1])
def test_one_mac_failure_imports_nothing(guichet, a, admin, tamper, partial):
    key = secrets.token_bytes(16)
    ts = tokens_for(guichet, 4)
    before = count(guichet)
    file = pskcfile.build(ts, key=key, tamper={2: tamper})
    r = post_import(guichet, a, file, key=key.hex(), partial=partial)
    body = assert_error(r, 422, "policy_refused")
    assert body["reasons"] == ["mac_invalid"]
    assert body["rejected"] == [{"serial": ts[2].serial, "reason": "mac_invalid",
                                 "key_package": 3}]
    assert body["imported"] == 0
    assert count(guichet) == before
    assert rows(guichet, [t.serial for t in ts]) == {}
    # refused, yet on record: someone holds an altered or mis-keyed file
    [(actor, details)] = guichet.sql(
        "SELECT actor, details FROM audit_log WHERE action = 'tokens.import_refused'"
        " AND details->>'file_sha256' = %s", hashlib.sha256(file).hexdigest())
    assert actor == admin.username
    assert (details["reason"], details["key_packages"]) == ("mac_invalid", 4)


def test_key_problems_are_refused(guichet, a):
    key = secrets.token_bytes(16)
    body = pskcfile.build(tokens_for(guichet, 1), key=key)
    before = count(guichet)
    r = post_import(guichet, a, body)
    err = assert_error(r, 400, "bad_request")
    assert (err["reasons"], err["rejected"], err["imported"]) == (["key_required"], [], 0)
    r = post_import(guichet, a, body, key="zz" * 16)
    assert assert_error(r, 400, "bad_request")["reasons"] == ["bad_key"]
    r = post_import(guichet, a, body, key=key.hex(), password="x")
    assert assert_error(r, 400, "bad_request")["reasons"] == ["key_and_password"]
    r = post_import(guichet, a, body, key=secrets.token_hex(32))
    assert assert_error(r, 422, "policy_refused")["reasons"] == ["key_mismatch"]
    r = post_import(guichet, a, body, key=secrets.token_hex(16))
    assert assert_error(r, 422)["reasons"][0] in ("mac_invalid", "decryption_failed")
    assert count(guichet) == before


def test_refused_keys_and_partial_mode(guichet, a):
    good = tokens_for(guichet, 2)
    short = Token(serial=prefix() + "SHORT", secret=secrets.token_bytes(15))
    old = Token(serial=prefix() + "OLD", secret=secrets.token_bytes(20),
                expiry="2015-01-01T00:00:00Z")
    seven = Token(serial=prefix() + "SEVEN", secret=secrets.token_bytes(20), digits=7)
    body = pskcfile.build([good[0], short, old, good[1], seven])
    want = [(short.serial, "secret_too_short"), (old.serial, "expired"),
            (seven.serial, "unsupported_format")]
    before = count(guichet)
    r = post_import(guichet, a, body)
    err = assert_error(r, 422, "policy_refused")
    assert err["reasons"] == ["keys_rejected"]
    assert [(x["serial"], x["reason"]) for x in err["rejected"]] == want
    assert count(guichet) == before
    imported(post_import(guichet, a, body, partial=1), 2, rejected=want)
    assert set(rows(guichet, [t.serial for t in good + [short, old, seven]])) == \
        {good[0].serial, good[1].serial}
    assert_error(post_import(guichet, a, body, partial="maybe"), 400, "bad_request")


def test_duplicates_are_counted_not_reimported(guichet, a):
    ts = tokens_for(guichet, 3)
    imported(post_import(guichet, a, pskcfile.build(ts[:2])), 2)
    first = rows(guichet, [t.serial for t in ts[:2]])
    # the same tokens again, with other secrets: counted, left alone
    again = [Token(serial=t.serial, secret=secrets.token_bytes(20)) for t in ts[:2]]
    imported(post_import(guichet, a, pskcfile.build(again + [ts[2]])), 1, duplicates=2)
    assert {k: v for k, v in rows(guichet, [t.serial for t in ts[:2]]).items()} == first
    # another manufacturer's token with the same serial is another token
    other = Token(serial=ts[0].serial, secret=secrets.token_bytes(20), manufacturer="Other")
    imported(post_import(guichet, a, pskcfile.build([other])), 1)
    assert guichet.sql_value("SELECT count(*) FROM hw_tokens WHERE serial = %s",
                             ts[0].serial) == 2


def test_malformed_and_xxe_bodies(guichet, a):
    before = count(guichet)
    for body in (b"", b"<not-closed", (DATA / "xxe.xml").read_bytes(),
                 (DATA / "xxe-dtd.xml").read_bytes(),
                 (DATA / "billion-laughs.xml").read_bytes()):
        err = assert_error(post_import(guichet, a, body), 400, "bad_request")
        assert err["reasons"] == ["malformed_pskc"]
        assert "root:" not in json.dumps(err)
    assert count(guichet) == before
    guichet.wait_ready()


def rss_kib(g, field="VmRSS"):
    for line in Path(f"/proc/{g.server.proc.pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(field)


def padded(tags, packages=()):
    """A KeyContainer with @tags empty elements before @packages (Tokens,
    plain secrets): what a back-office account can upload within the body
    cap."""
    if not packages:
        return (b'<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">'
                + b"<a/>" * tags + b"</KeyContainer>")
    doc = pskcfile.build(list(packages))
    cut = doc.index(b"<KeyPackage")
    return doc[:cut] + b"<a/>" * tags + doc[cut:]


def test_a_container_without_key_package_is_refused(guichet, a):
    """RFC 6030: one KeyPackage or more.  An empty container used to answer
    200 and write an import batch and its audit row for nothing."""
    before = guichet.sql_value("SELECT count(*) FROM hw_token_imports")
    err = assert_error(post_import(guichet, a, padded(0)), 400, "bad_request")
    assert err["reasons"] == ["malformed_pskc"]
    assert guichet.sql_value("SELECT count(*) FROM hw_token_imports") == before


def test_a_file_of_empty_elements_is_not_parsed(guichet, a):
    """8 million <a/> in 32 MiB made a 1.1 GB tree, kept by each worker
    that parsed one: 16 uploads took 17 GB.  Over 2,000,000 tags the file
    is refused before the parse."""
    before, hwm = count(guichet), rss_kib(guichet, "VmHWM")
    err = assert_error(post_import(guichet, a, padded(2_000_001)), 422, "policy_refused")
    assert err["reasons"] == ["too_many_elements"]
    assert count(guichet) == before
    assert rss_kib(guichet, "VmHWM") - hwm < 64 * 1024


def test_the_memory_of_a_large_import_goes_back(guichet, a):
    """Under the cap a file is parsed; the tree's memory is returned when
    the import ends instead of staying in the worker's malloc arena."""
    tokens = tokens_for(guichet, 1)
    rss = rss_kib(guichet)
    imported(post_import(guichet, a, padded(1_900_000, tokens)), 1)
    assert rss_kib(guichet, "VmHWM") - rss > 100 * 1024       # it did parse
    assert rss_kib(guichet) - rss < 64 * 1024


def test_one_import_at_a_time(guichet, a):
    """A second import while one runs is answered 429 at once (it would
    hold a worker and another tree's memory); the first one completes."""
    slow = pskcfile.build(tokens_for(guichet, 1), password="correct horse",
                          iterations=2_000_000)     # seconds of PBKDF2
    quick = pskcfile.build(tokens_for(guichet, 1))
    out = {}
    t = threading.Thread(target=lambda: out.update(
        r=post_import(guichet, a, slow, password="correct horse")))
    t.start()
    seen = None
    while t.is_alive() and seen is None:
        r = post_import(guichet, a, quick)
        if r.status_code == 429:
            seen = r
        else:                        # it came before the slow one began
            imported(r, 1)
            quick = pskcfile.build(tokens_for(guichet, 1))
        time.sleep(0.05)
    t.join()
    imported(out["r"], 1)
    assert seen is not None, "the second import was never refused"
    assert_error(seen, 429, "rate_limited")
    assert seen.headers["Retry-After"] == "5"


def test_roles_csrf_and_content_type(guichet, a):
    body = pskcfile.build(tokens_for(guichet, 1))
    before = count(guichet)
    reviewer = Admin(guichet, "reviewer").login()
    assert_error(post_import(guichet, reviewer, body), 403, "forbidden")
    assert_error(reviewer.get(guichet.url("/v1/admin/tokens"), timeout=10), 403, "forbidden")
    assert_error(post_import(guichet, a, body, csrf=False), 403, "forbidden")
    bad = requests.Session()
    bad.csrf = "x"
    assert_error(post_import(guichet, bad, body), 401)
    assert_error(post_import(guichet, a, body, ctype="application/xml"), 415)
    assert count(guichet) == before


# ------------------------------------------------------------------ list

def test_list_shows_states_never_secrets(guichet, a):
    ts = tokens_for(guichet, 3, type="totp", period=30)
    imported(post_import(guichet, a, pskcfile.build(ts)), 3)
    r = a.get(guichet.url("/v1/admin/tokens"), params={"serial": ts[1].serial}, timeout=10)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 1
    [tok] = body["tokens"]
    assert {"id", "serial", "manufacturer", "type", "algorithm", "digits", "state",
            "valid_until", "customer_id"} <= set(tok)
    assert (tok["serial"], tok["type"], tok["state"], tok["customer_id"]) == \
        (ts[1].serial, "totp", "in_stock", None)
    text = r.text + a.get(guichet.url("/v1/admin/tokens?limit=500"), timeout=10).text
    for t in ts:
        assert t.secret.hex() not in text and pskcfile.b64(t.secret) not in text
    assert "seed" not in text
    r = a.get(guichet.url("/v1/admin/tokens"), params={"state": "in_stock", "limit": 2,
                                                         "offset": 1}, timeout=10)
    assert r.status_code == 200 and len(r.json()["tokens"]) == 2
    assert r.json()["total"] == guichet.sql_value(
        "SELECT count(*) FROM hw_tokens WHERE state = 'in_stock'")
    for q in ("state=lostt", "limit=0", "limit=501", "offset=-1", "limit=x"):
        assert_error(a.get(guichet.url("/v1/admin/tokens?" + q), timeout=10), 400)


# ------------------------------------------------------------------ CLI

def test_cli_import_prints_the_same_json(guichet):
    key = secrets.token_bytes(32)
    ts = tokens_for(guichet, 2)
    path = Path(guichet.stack.base) / "cli.pskc"
    path.write_bytes(pskcfile.build(ts, key=key, cipher="aes256-cbc", mac="hmac-sha256"))
    guichet.secrets.add(key.hex())
    out = guichet.cli("tokens", "import", path, "--key", key.hex())
    assert (out["imported"], out["duplicates"], out["rejected"]) == (2, 0, [])
    assert guichet.sql_value("SELECT imported_by FROM hw_token_imports WHERE id = %s",
                             out["import_batch"]) == "cli"
    out = guichet.cli("tokens", "import", path, "--key", key.hex())
    assert (out["imported"], out["duplicates"]) == (0, 2)
    r = guichet.cli_run("tokens", "import", path)
    assert r.returncode == 1 and json.loads(r.stdout)["reasons"] == ["key_required"]
    listed = guichet.cli("tokens", "list", "--serial", ts[0].serial)
    assert listed["total"] == 1 and listed["tokens"][0]["state"] == "in_stock"


def test_cli_import_secrets_from_standard_input(guichet):
    """--key - and --password -: the secret comes from standard input, not
    the command line (where other local users could read it)."""
    import subprocess
    from harness import GUICHETD

    def run(path, *args, stdin):
        r = subprocess.run([str(GUICHETD), "tokens", "import", str(path), *args], input=stdin,
                           env=guichet.server.env(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        return r.returncode, json.loads(r.stdout)

    key = secrets.token_bytes(32)
    path = Path(guichet.stack.base) / "cli-stdin-key.pskc"
    path.write_bytes(pskcfile.build(tokens_for(guichet, 2), key=key, cipher="aes256-cbc",
                                    mac="hmac-sha256"))
    guichet.secrets.add(key.hex())
    rc, out = run(path, "--key", "-", stdin="")
    assert rc != 0 and out["error"]["code"] == "bad_request", out
    rc, out = run(path, "--key", "-", stdin=key.hex() + "\n")
    assert rc == 0 and (out["imported"], out["rejected"]) == (2, []), out
    password = "correct horse " + secrets.token_hex(8)
    guichet.secrets.add(password)
    path = Path(guichet.stack.base) / "cli-stdin-password.pskc"
    path.write_bytes(pskcfile.build(tokens_for(guichet, 1), password=password))
    rc, out = run(path, "--password", "-", stdin=password + "\n")
    assert rc == 0 and out["imported"] == 1, out
    assert password not in json.dumps(out) and key.hex() not in json.dumps(out)


# ------------------------------------------------------------------ lifecycle

def post(g, s, path, body=None, csrf=True):
    h = {"X-CSRF-Token": s.csrf} if csrf else {}
    return s.post(g.url(path), json=body, headers=h, timeout=30)


def test_customer_view_unlock_and_revoke(guichet, http, a, admin, customer):
    c = customer
    # lock the customer with wrong codes
    for _ in range(5):
        http.verify_otp(c.id, c.pin, wrong_code(c.code()))
    assert http.verify_otp(c.id, c.pin, c.code()).status_code == 423
    r = a.get(guichet.url(f"/v1/admin/customers/{c.id}"), timeout=10)
    assert r.status_code == 200, r.text
    view = r.json()
    assert (view["customer_id"], view["ref"], view["locked"], view["failed_attempts"]) == \
        (c.id, c.ref, True, 5)
    [cred] = view["credentials"]
    assert (cred["kind"], cred["otp_type"], cred["algorithm"], cred["digits"],
            cred["state"], cred["token_serial"]) == ("otpauth", "totp", "SHA1", 6, "active", None)
    assert "pin_hash" not in r.text and "seed" not in r.text and c.secret not in r.text
    # unlock: CSRF first, then for real
    assert_error(post(guichet, a, f"/v1/admin/customers/{c.id}/unlock",
                      {"comment": "called, identity checked"}, csrf=False), 403)
    r = post(guichet, a, f"/v1/admin/customers/{c.id}/unlock",
             {"comment": "called, identity checked"})
    assert r.status_code == 200 and r.json() == {"customer_id": c.id, "locked": False}, r.text
    assert guichet.sql("SELECT failed_attempts, locked_at FROM customers WHERE id = %s",
                       c.id) == [(0, None)]
    [(actor, details)] = audit(guichet, "customer.unlock", c.id)
    assert actor == admin.username and details["was_locked"] is True
    t = wait_fresh_step()
    assert http.verify_otp(c.id, c.pin, totp_at(c.secret, t)).status_code == 200
    # revoke: the next code, inside the window, fails at once
    r = post(guichet, a, f"/v1/admin/credentials/{cred['id']}/revoke",
             {"reason": "phone stolen"})
    assert r.status_code == 200, r.text
    assert r.json() == {"id": cred["id"], "state": "revoked", "token_serial": None}
    r = http.verify_otp(c.id, c.pin, totp_at(c.secret, t + 30))
    assert_error(r, 401, "authentication_failed")
    assert guichet.sql("SELECT outcome FROM authn_audit WHERE customer_id = %s"
                       " ORDER BY id DESC LIMIT 1", c.id) == [("no_credential",)]
    assert guichet.sql("SELECT state, revoke_reason, revoked_by FROM credentials"
                       " WHERE id = %s", cred["id"]) == [("revoked", "phone stolen",
                                                          admin.username)]
    [(actor, details)] = audit(guichet, "credential.revoke", cred["id"])
    assert actor == admin.username and details["customer_id"] == c.id
    view = a.get(guichet.url(f"/v1/admin/customers/{c.id}"), timeout=10).json()
    assert view["credentials"][0]["state"] == "revoked"
    assert view["credentials"][0]["revoked_at"] is not None
    # again: 409; unknown: 404; bad reason: 400
    assert_error(post(guichet, a, f"/v1/admin/credentials/{cred['id']}/revoke",
                      {"reason": "again"}), 409, "wrong_state")
    assert_error(post(guichet, a, "/v1/admin/credentials/crd_nope/revoke",
                      {"reason": "x"}), 404)
    assert_error(post(guichet, a, f"/v1/admin/credentials/{cred['id']}/revoke",
                      {"reason": " "}), 400, "invalid_field")
    assert_error(post(guichet, a, f"/v1/admin/credentials/{cred['id']}/revoke", {}), 400)
    assert_error(a.get(guichet.url("/v1/admin/customers/cus_nope"), timeout=10), 404)
    assert_error(post(guichet, a, "/v1/admin/customers/cus_nope/unlock",
                      {"comment": "x"}), 404)


def claimed_hotp_credential(g, customer_id, token_id, seed, counter):
    """What authn_token_claim_tx leaves (the enrolment's step does it for
    real): a hardware credential sealed under its id, the token active."""
    crd = "crd_" + secrets.token_urlsafe(16)
    env = seal(g.keyfile, seed, f"credential:{crd}")
    g.sql("INSERT INTO credentials (id, customer_id, kind, otp_type, algorithm, digits,"
          " seed_sealed, counter) VALUES (%s, %s, 'hardware', 'hotp', 'SHA1', 6, %s, %s)",
          crd, customer_id, env, counter)
    g.sql("UPDATE hw_tokens SET state = 'active', customer_id = %s, credential_id = %s"
          " WHERE id = %s", customer_id, crd, token_id)
    return crd


def test_hardware_hotp_verify_resync_and_lost(guichet, http, a, customer):
    c = customer
    [tok] = tokens_for(guichet, 1, counter=3)
    imported(post_import(guichet, a, pskcfile.build([tok])), 1)
    token_id = rows(guichet, [tok.serial])[tok.serial][0]
    # the customer's app credential goes; the token stays
    app = guichet.sql_value("SELECT id FROM credentials WHERE customer_id = %s", c.id)
    assert post(guichet, a, f"/v1/admin/credentials/{app}/revoke",
                {"reason": "replaced by a token"}).status_code == 200
    crd = claimed_hotp_credential(guichet, c.id, token_id, tok.secret, 4)
    codes = [hotp(tok.secret, i) for i in range(40)]
    guichet.secrets.update(codes)
    r = http.verify_otp(c.id, c.pin, codes[5])            # inside the look-ahead
    assert r.status_code == 200 and r.json()["credential_id"] == crd, r.text
    assert_error(http.verify_otp(c.id, c.pin, codes[5]), 401)   # replay
    r = http.resync(c.id, codes[30], codes[31])           # far ahead: resync
    assert r.status_code == 200, r.text
    assert guichet.sql_value("SELECT counter FROM credentials WHERE id = %s", crd) == 32
    assert http.verify_otp(c.id, c.pin, codes[32]).status_code == 200
    view = a.get(guichet.url(f"/v1/admin/customers/{c.id}"), timeout=10).json()
    hw = [x for x in view["credentials"] if x["kind"] == "hardware"]
    assert hw[0]["token_serial"] == tok.serial and hw[0]["state"] == "active"
    r = post(guichet, a, f"/v1/admin/credentials/{crd}/revoke", {"reason": "lost"})
    assert r.status_code == 200 and r.json()["token_serial"] == tok.serial, r.text
    assert_error(http.verify_otp(c.id, c.pin, codes[33]), 401)
    assert guichet.sql("SELECT state, customer_id FROM hw_tokens WHERE id = %s",
                       token_id) == [("lost", c.id)]
    listed = a.get(guichet.url("/v1/admin/tokens"), params={"serial": tok.serial},
                   timeout=10).json()["tokens"]
    assert listed[0]["state"] == "lost"


# ------------------------------------------------------------------ size

def test_ten_thousand_tokens_import_in_seconds(guichet, a):
    key = secrets.token_bytes(16)
    p = prefix()
    ts = [Token(serial=f"{p}{i:06d}", secret=secrets.token_bytes(20))
          for i in range(10000)]
    body = pskcfile.build(ts, key=key)
    t0 = time.monotonic()
    r = post_import(guichet, a, body, key=key.hex())
    elapsed = time.monotonic() - t0
    imported(r, 10000)
    assert elapsed < 20, f"10,000 tokens took {elapsed:.1f} s"
    assert guichet.sql_value("SELECT count(*) FROM hw_tokens WHERE serial LIKE %s",
                             p + "%") == 10000
    log = guichet.log_text()
    assert f"{r.json()['import_batch']}: 10000 of 10000 keys written" in log
    print(f"\n10,000 encrypted tokens ({len(body) / 1e6:.1f} MB) imported over HTTP in "
          f"{elapsed:.2f} s ({10000 / elapsed:.0f} tokens/s)")
