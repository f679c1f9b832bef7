# SPDX-License-Identifier: AGPL-3.0-or-later
"""Transaction authorisation with dynamic linking (issue 13), against the
real guichetd and PostgreSQL, with the independent Python phone
(phone.py): a relying party creates a payment, the customer's phone lists
it, shows amount and payee and signs T -- or computes the offline response
code -- and each decision happens once.  Every test checks the answers and
the rows (transactions, transaction_events, customers, authn_audit)."""
import base64
import hashlib
import json
import secrets
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import ARTIFACTS, CliError, Guichetd  # noqa: E402
from helpers import assert_error  # noqa: E402
from phone import Phone, parse_tx_payload, tx_code, tx_message, unb64u  # noqa: E402
from test_admin import Admin  # noqa: E402
from test_devices import activated  # noqa: E402

SHOP = "https://shop.example"
IBAN = "FR7630006000011234567890189"
PIN = "480713"


# ------------------------------------------------------------------ helpers

def new_shop(guichet, *origins):
    name = "shop-" + secrets.token_hex(4)
    args = ["apikey", "create", "--name", name]
    for o in origins:
        args += ["--origin", o]
    out = guichet.cli(*args)
    guichet.secrets.add(out["key"])
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {out['key']}"
    s.name, s.key, s.origins = name, out["key"], out.get("origins", [])
    return s


@pytest.fixture(scope="module")
def shop(guichet):
    return new_shop(guichet, SHOP, "http://127.0.0.1:9")


def enrol_phone(guichet):
    """A customer whose credential is an activated phone, through the real
    enrolment API.  @return (customer_id, Phone); the phone knows the
    customer's assurance code (p.assurance_code), drawn at completion."""
    s, c, p, a = activated(guichet)
    url = guichet.url(f"/v1/enrolments/{s.eid}")
    assert s.post(url + "/pin", json={"pin": PIN}, timeout=10).status_code == 200
    r = s.post(url + "/otp-confirm", json={"otp": p.totp()}, timeout=10)
    assert r.status_code == 200, r.text
    r = s.post(url + "/credential", json={"kind": "device"}, timeout=10)
    assert r.status_code == 201, r.text
    p.assurance_code = r.json()["assurance_code"]
    guichet.secrets.add(p.assurance_code)
    return r.json()["customer_id"], p


@pytest.fixture
def payer(guichet):
    return enrol_phone(guichet)


def body(customer_id, **over):
    b = {"customer_id": customer_id, "amount": "125.00", "currency": "EUR",
         "payee_name": "ACME SARL", "payee_iban": IBAN,
         "return_url": SHOP + "/done?order=42"}
    b.update(over)
    return {k: v for k, v in b.items() if v is not ...}


def create(guichet, shop, customer_id, headers=None, **over):
    return shop.post(guichet.url("/v1/transactions"), json=body(customer_id, **over),
                     headers=headers or {}, timeout=30)


def created(guichet, shop, customer_id, **over):
    r = create(guichet, shop, customer_id, **over)
    assert r.status_code == 201, r.text
    return r.json()


def row(guichet, tx_id):
    rows = guichet.sql(
        "SELECT status, method, device_id, approved_t, signature, device_public_key,"
        " response_failures, decided_at IS NOT NULL, amount, payee_name"
        " FROM transactions WHERE id = %s", tx_id)
    if not rows:
        return None
    keys = ("status", "method", "device_id", "approved_t", "signature", "public_key",
            "failures", "decided", "amount", "payee_name")
    return dict(zip(keys, rows[0]))


def events(guichet, tx_id):
    return [r[0] for r in guichet.sql(
        "SELECT event FROM transaction_events WHERE transaction_id = %s ORDER BY id", tx_id)]


def tx_count(guichet):
    return guichet.sql_value("SELECT count(*) FROM transactions")


def verify_code(guichet, shop, tx_id, code):
    guichet.secrets.add(code)
    return shop.post(guichet.url(f"/v1/transactions/{tx_id}/verify"),
                     json={"response": code}, timeout=30)


def wrong(code):
    return "%08d" % ((int(code) + 1) % 10 ** 8)


# ------------------------------------------------------------------ the phone

def test_the_python_phone_reproduces_the_vector():
    seed = bytes.fromhex("960db2141599b9e176cec0c480ed5e994d244ca16c1ff5753d637a5c06989408")
    tx = {"id": "tx_test_0001", "amount": "125.00", "currency": "EUR",
          "payee_name": "ACME SARL", "payee_iban": IBAN, "nonce": "n0nce"}
    assert tx_code(seed, tx) == "09148292"


# ------------------------------------------------------------------ create

def test_create_then_the_phone_lists_shows_and_approves(guichet, shop, payer):
    cus, p = payer
    r = create(guichet, shop, cus)
    assert r.status_code == 201, r.text
    t = r.json()
    assert set(t) == {"id", "status", "qr_payload", "qr_svg", "approval_url", "expires_at"}
    assert t["status"] == "pending" and t["id"].startswith("tx_")
    assert t["qr_svg"] == f"/v1/transactions/{t['id']}/qr.svg"
    u = urlsplit(t["approval_url"])
    assert t["approval_url"].startswith(guichet.base_url + "/approve/#")
    assert len(u.fragment) == 43 and u.query == ""
    guichet.secrets.add(u.fragment)
    q = parse_tx_payload(t["qr_payload"])
    assert q["id"] == t["id"] and q["amount"] == "125.00" and q["currency"] == "EUR"
    assert q["payee_name"] == "ACME SARL" and q["payee_iban"] == IBAN
    assert len(unb64u(q["nonce"])) == 16
    assert "%20" in t["qr_payload"]          # the space of the payee, percent-encoded
    db = row(guichet, t["id"])
    assert db["status"] == "pending" and db["method"] is None and not db["decided"]
    assert events(guichet, t["id"]) == ["created"]
    link_hash = guichet.sql_value("SELECT encode(link_hash, 'hex') FROM transactions"
                                  " WHERE id = %s", t["id"])
    assert link_hash == hashlib.sha256(u.fragment.encode()).hexdigest()

    # the relying party reads it
    v = shop.get(guichet.url(f"/v1/transactions/{t['id']}"), timeout=10).json()
    assert v["status"] == "pending" and v["amount"] == "125.00" and "decided_at" not in v

    # the phone's list shows what it will sign
    r = p.pending(guichet.base_url)
    assert r.status_code == 200, r.text
    [item] = [x for x in r.json()["transactions"] if x["id"] == t["id"]]
    assert {k: item[k] for k in ("amount", "currency", "payee_name", "payee_iban", "nonce")} \
        == {k: q[k] for k in ("amount", "currency", "payee_name", "payee_iban", "nonce")}
    assert item["relying_party"] == shop.name and item["expires_at"] == t["expires_at"]
    # with the customer's assurance code, for the phone to show beside them
    # (API.md); not part of T
    assert item["assurance_code"] == p.assurance_code

    r = p.approve(guichet.base_url, item)
    assert r.status_code == 200 and r.json() == {"id": t["id"], "status": "approved"}, r.text
    db = row(guichet, t["id"])
    assert db["status"] == "approved" and db["method"] == "signature" and db["decided"]
    assert db["device_id"] == p.device_id
    assert db["approved_t"].encode() == tx_message(item)
    assert len(bytes(db["public_key"])) == 65 and bytes(db["signature"])[0] == 0x30
    assert events(guichet, t["id"]) == ["created", "approved"]
    v = shop.get(guichet.url(f"/v1/transactions/{t['id']}"), timeout=10).json()
    assert v["status"] == "approved" and v["method"] == "signature" and v["decided_at"]
    # decided: no longer in the list
    assert t["id"] not in [x["id"] for x in p.pending(guichet.base_url).json()["transactions"]]


def test_a_payment_without_the_customers_code_says_not_to_approve(guichet, shop, payer):
    """A customer whose code cannot be read (none stored, or a row that does
    not open) gets their pending list without one: the phone then warns
    (ga_tx_display), rather than the list failing."""
    cus, p = payer
    t = created(guichet, shop, cus)
    guichet.sql("UPDATE customer_contacts SET assurance_sealed = NULL WHERE customer_id = %s",
                cus)
    item = [x for x in p.pending(guichet.base_url).json()["transactions"]
            if x["id"] == t["id"]][0]
    assert "assurance_code" not in item
    assert p.decline(guichet.base_url, t["id"]).status_code == 200


def test_qr_svg_decodes_to_the_payload(guichet, shop, payer, tmp_path):
    t = created(guichet, shop, payer[0], payee_name="Café Müller & Söhne+Co")
    r = shop.get(guichet.url(t["qr_svg"]), timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/svg+xml"
    png = tmp_path / "tx.png"
    subprocess.run(["rsvg-convert", "-o", str(png)], input=r.content, check=True)
    out = subprocess.run(["zbarimg", "--raw", "-q", str(png)], check=True,
                         stdout=subprocess.PIPE).stdout.decode().strip()
    assert out == t["qr_payload"]
    assert parse_tx_payload(out)["payee_name"] == "Café Müller & Söhne+Co"


BAD_FIELDS = [
    ({"amount": "125"}, ["amount_format"]),
    ({"amount": "125.0"}, ["amount_format"]),
    ({"amount": "0.00"}, ["amount_format"]),
    ({"amount": "-5.00"}, ["amount_format"]),
    ({"amount": "1.250", "currency": "BHD"}, []),
    ({"amount": "1.25", "currency": "BHD"}, ["amount_format"]),
    ({"amount": "125", "currency": "JPY"}, []),
    ({"amount": "125.00", "currency": "JPY"}, ["amount_format"]),
    ({"amount": "1234567890123456"}, ["amount_format"]),
    ({"currency": "eur"}, ["currency_unknown"]),
    ({"currency": "XAU"}, ["currency_unknown"]),
    ({"payee_iban": "FR7630006000011234567890188"}, ["iban_invalid"]),
    ({"payee_iban": "FR76 3000 6000 0112 3456 7890 189"}, ["iban_invalid"]),
    ({"payee_iban": "fr7630006000011234567890189"}, ["iban_invalid"]),
    ({"payee_name": "ACME \u202eLRAS"}, ["payee_name_invalid"]),
    ({"payee_name": "AC\u200bME"}, ["payee_name_invalid"]),
    ({"payee_name": "A" * 71}, ["payee_name_invalid"]),
    ({"payee_name": "ACME\nSARL"}, ["payee_name_invalid"]),
    ({"payee_name": ""}, ["payee_name_invalid"]),
    ({"return_url": "javascript:alert(1)"}, ["return_url_invalid"]),
    ({"return_url": SHOP + "@evil.example/"}, ["return_url_invalid"]),
    ({"return_url": SHOP + "/done#x"}, ["return_url_invalid"]),
    ({"amount": "1,00", "currency": "EURO", "payee_iban": "FR76", "payee_name": " X"},
     ["amount_format", "currency_unknown", "iban_invalid", "payee_name_invalid"]),
]


@pytest.mark.parametrize("over,reasons", BAD_FIELDS,
                         ids=[json.dumps(o, ensure_ascii=True)[:60] for o, _ in BAD_FIELDS])
def test_field_checks(guichet, shop, over, reasons, request):
    cus = request.getfixturevalue("shared_payer")[0]
    before = tx_count(guichet)
    r = create(guichet, shop, cus, **over)
    if not reasons:
        assert r.status_code == 201, r.text
        assert tx_count(guichet) == before + 1
        return
    b = assert_error(r, 422, "policy_refused")
    assert b["reasons"] == reasons
    assert tx_count(guichet) == before


@pytest.fixture(scope="module")
def shared_payer(guichet):
    return enrol_phone(guichet)


def test_malformed_bodies_are_400(guichet, shop, shared_payer):
    cus = shared_payer[0]
    before = tx_count(guichet)
    for bad, field in ((body(cus, amount=125), "amount"), (body(cus, extra=1), "extra"),
                       ({k: v for k, v in body(cus).items() if k != "customer_id"},
                        "customer_id"),
                       (body(cus, payee_name="A" * 401), "payee_name"),
                       (body(cus, return_url=7), "return_url")):
        b = assert_error(shop.post(guichet.url("/v1/transactions"), json=bad, timeout=10),
                         400, "invalid_field")
        assert b["field"] == field
    assert_error(shop.post(guichet.url("/v1/transactions"), data="{", timeout=10,
                           headers={"Content-Type": "application/json"}), 400, "malformed_json")
    assert_error(requests.post(guichet.url("/v1/transactions"), json=body(cus), timeout=10),
                 401, "unauthorized")
    assert tx_count(guichet) == before


def test_unknown_customer_and_no_capable_device(guichet, shop, new_customer):
    before = tx_count(guichet)
    assert_error(create(guichet, shop, "cus_nobody"), 404, "not_found")
    # an otpauth app cannot show the amount and the payee
    c = new_customer()
    b = assert_error(create(guichet, shop, c.id), 422, "no_capable_device")
    assert b["reasons"] == ["no_capable_device"]
    assert tx_count(guichet) == before


def test_return_url_must_be_on_a_registered_origin(guichet, shop, shared_payer):
    cus = shared_payer[0]
    before = tx_count(guichet)
    for url in ("https://evil.example/done", "https://shop.example.evil.example/",
                "http://shop.example/done", "https://shop.example:8443/done"):
        b = assert_error(create(guichet, shop, cus, return_url=url), 422, "policy_refused")
        assert b["reasons"] == ["return_url_not_allowed"], url
    assert tx_count(guichet) == before
    # the registered origin, in any case and with its default port
    t = created(guichet, shop, cus, return_url="HTTPS://Shop.Example:443/back")
    assert t["id"]
    t = created(guichet, shop, cus, return_url=...)        # none at all is fine
    assert guichet.sql_value("SELECT return_url FROM transactions WHERE id = %s", t["id"]) is None
    # a key without origins cannot send payers anywhere
    bare = new_shop(guichet)
    b = assert_error(create(guichet, bare, cus), 422, "policy_refused")
    assert b["reasons"] == ["return_url_not_allowed"]


def test_apikey_origins_are_checked_and_normalised(guichet):
    s = new_shop(guichet, "HTTPS://Pay.Example:443/", "http://localhost:3000")
    assert s.origins == ["https://pay.example", "http://localhost:3000"]
    assert guichet.sql_value("SELECT origins FROM api_keys WHERE name = %s", s.name) \
        == ["https://pay.example", "http://localhost:3000"]
    for bad in ("http://shop.example", "https://shop.example/path", "ftp://x", "https://a@b"):
        name = "bad-" + secrets.token_hex(4)
        with pytest.raises(CliError) as e:
            guichet.cli("apikey", "create", "--name", name, "--origin", bad)
        assert e.value.json["error"]["code"] == "invalid_field", bad
        assert guichet.sql_value("SELECT count(*) FROM api_keys WHERE name = %s", name) == 0


def test_idempotency_key_replays_the_first_answer(guichet, shop, shared_payer):
    cus = shared_payer[0]
    key = {"Idempotency-Key": "order-" + secrets.token_hex(8)}
    before = tx_count(guichet)
    r1 = create(guichet, shop, cus, headers=key)
    r2 = create(guichet, shop, cus, headers=key)
    assert r1.status_code == r2.status_code == 201, (r1.text, r2.text)
    assert r2.json() == r1.json() and r2.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in r1.headers
    assert tx_count(guichet) == before + 1
    assert events(guichet, r1.json()["id"]) == ["created"]
    # the same key with another body
    assert_error(create(guichet, shop, cus, headers=key, amount="125.01"), 409, "conflict")
    # another relying party's key of the same name is its own
    other = new_shop(guichet, SHOP)
    r3 = create(guichet, other, cus, headers=key)
    assert r3.status_code == 201 and r3.json()["id"] != r1.json()["id"]
    assert_error(create(guichet, shop, cus, headers={"Idempotency-Key": "short"}),
                 400, "bad_request")
    assert tx_count(guichet) == before + 2


def test_parallel_creates_with_one_idempotency_key_make_one(guichet, shop, shared_payer):
    cus = shared_payer[0]
    key = {"Idempotency-Key": "par-" + secrets.token_hex(8)}
    before = tx_count(guichet)
    with ThreadPoolExecutor(8) as pool:
        rs = list(pool.map(lambda _: create(guichet, shop, cus, headers=key), range(8)))
    assert [r.status_code for r in rs] == [201] * 8, [r.text for r in rs]
    assert len({r.json()["id"] for r in rs}) == 1
    assert tx_count(guichet) == before + 1


def test_only_the_creating_key_sees_a_transaction(guichet, shop, shared_payer):
    t = created(guichet, shop, shared_payer[0])
    other = new_shop(guichet, SHOP)
    for path in (f"/v1/transactions/{t['id']}", f"/v1/transactions/{t['id']}/evidence",
                 f"/v1/transactions/{t['id']}/qr.svg"):
        assert_error(other.get(guichet.url(path), timeout=10), 404, "not_found")
    assert_error(verify_code(guichet, other, t["id"], "12345678"), 404, "not_found")
    assert_error(shop.get(guichet.url("/v1/transactions/tx_nonexistent"), timeout=10),
                 404, "not_found")
    assert row(guichet, t["id"])["failures"] == 0


# ------------------------------------------------------------------ the phone

def test_pending_list_long_poll_wakes_on_create(guichet, shop):
    cus, p = enrol_phone(guichet)
    r = p.pending(guichet.base_url)
    assert r.status_code == 200 and r.json() == {"transactions": []}
    got = {}

    def wait():
        t0 = time.monotonic()
        got["r"] = p.pending(guichet.base_url, wait=20)
        got["s"] = time.monotonic() - t0

    th = threading.Thread(target=wait)
    th.start()
    time.sleep(1.0)
    t = created(guichet, shop, cus)
    th.join(30)
    assert got["r"].status_code == 200, got["r"].text
    assert [x["id"] for x in got["r"].json()["transactions"]] == [t["id"]]
    assert got["s"] < 6, f"woke after {got['s']:.1f}s"
    # an empty list waits its time out
    p2 = enrol_phone(guichet)[1]
    t0 = time.monotonic()
    r = p2.pending(guichet.base_url, wait=2)
    assert r.json() == {"transactions": []} and 1.8 < time.monotonic() - t0 < 5
    assert_error(p2.pending(guichet.base_url, wait=26), 400, "bad_request")
    # a phone lists only its own customer's
    path = f"/v1/devices/{p.device_id}/transactions"
    assert_error(requests.get(guichet.url(path) + "?status=pending", timeout=10,
                              headers=p2.signed_headers("GET", path)), 403, "forbidden")
    h = p2.signed_headers("GET", path)
    h["Guichet-Device"] = p.device_id          # posing as the other phone
    assert_error(requests.get(guichet.url(path), headers=h, timeout=10), 401, "unauthorized")
    own = f"/v1/devices/{p2.device_id}/transactions"
    assert_error(p2.request(guichet.base_url, "GET", own, query="?status=approved"),
                 400, "bad_request")


def test_decline(guichet, shop, payer):
    cus, p = payer
    t = created(guichet, shop, cus)
    r = p.decline(guichet.base_url, t["id"])
    assert r.status_code == 200 and r.json() == {"id": t["id"], "status": "declined"}, r.text
    db = row(guichet, t["id"])
    assert db["status"] == "declined" and db["method"] is None and db["device_id"] == p.device_id
    assert events(guichet, t["id"]) == ["created", "declined"]
    # decided once: neither approve nor decline again
    tx = parse_tx_payload(t["qr_payload"])
    assert_error(p.approve(guichet.base_url, tx), 409, "wrong_state")
    assert_error(p.decline(guichet.base_url, t["id"]), 409, "wrong_state")
    assert row(guichet, t["id"])["status"] == "declined"


def test_tampered_amount_or_payee_fails_the_signature(guichet, shop, payer):
    cus, p = payer
    t = created(guichet, shop, cus)
    tx = parse_tx_payload(t["qr_payload"])
    for field, value in (("amount", "125.01"), ("payee_name", "ACME SARM"),
                         ("payee_iban", "FR7630006000011234567890180"), ("nonce", "x" * 22)):
        forged = dict(tx, **{field: value})
        b = assert_error(p.approve(guichet.base_url, tx, signature=p.sign_tx(forged)),
                         401, "proof_invalid")
        assert "signature" in b["error"]["message"]
    # another phone's key over the right T
    stranger = Phone()
    assert_error(p.approve(guichet.base_url, tx, signature=stranger.sign_tx(tx)),
                 401, "proof_invalid")
    assert_error(p.approve(guichet.base_url, tx, signature="AAAA"), 401, "proof_invalid")
    db = row(guichet, t["id"])
    assert db["status"] == "pending" and db["signature"] is None
    assert events(guichet, t["id"]) == ["created"] + ["signature_invalid"] * 6
    # not counted toward the lockout: the phone is authenticated, nothing was guessed
    assert guichet.sql_value("SELECT failed_attempts FROM customers WHERE id = %s", cus) == 0
    assert p.approve(guichet.base_url, tx).status_code == 200


def test_replayed_approval(guichet, shop, payer):
    cus, p = payer
    t = created(guichet, shop, cus)
    tx = parse_tx_payload(t["qr_payload"])
    sig = p.sign_tx(tx)
    path = f"/v1/transactions/{t['id']}/approve"
    data = json.dumps({"signature": sig}).encode()
    h = dict(p.signed_headers("POST", path, data), **{"Content-Type": "application/json"})
    r = requests.post(guichet.url(path), data=data, headers=h, timeout=10)
    assert r.status_code == 200, r.text
    # the same request again: its signature was seen
    assert_error(requests.post(guichet.url(path), data=data, headers=h, timeout=10),
                 401, "unauthorized")
    # signed afresh, the same approval: decided already
    assert_error(p.approve(guichet.base_url, tx, signature=sig), 409, "wrong_state")
    assert events(guichet, t["id"]) == ["created", "approved"]


def test_another_customers_phone_is_refused(guichet, shop, payer):
    cus, p = payer
    t = created(guichet, shop, cus)
    tx = parse_tx_payload(t["qr_payload"])
    _, other = enrol_phone(guichet)
    assert_error(other.approve(guichet.base_url, tx), 403, "forbidden")
    assert_error(other.decline(guichet.base_url, t["id"]), 403, "forbidden")
    assert t["id"] not in [x["id"] for x in other.pending(guichet.base_url).json()["transactions"]]
    assert_error(other.approve(guichet.base_url, dict(tx, id="tx_" + "A" * 22)), 404, "not_found")
    assert row(guichet, t["id"])["status"] == "pending"
    assert events(guichet, t["id"]) == ["created"]


def test_sixteen_parallel_approvals_one_wins(guichet, shop, payer):
    cus, p = payer
    t = created(guichet, shop, cus)
    tx = parse_tx_payload(t["qr_payload"])
    with ThreadPoolExecutor(16) as pool:
        rs = list(pool.map(lambda _: p.approve(guichet.base_url, tx), range(16)))
    codes = sorted(r.status_code for r in rs)
    assert codes == [200] + [409] * 15, [r.text for r in rs]
    assert events(guichet, t["id"]).count("approved") == 1
    assert row(guichet, t["id"])["status"] == "approved"


def test_revoked_phone_cannot_list_or_approve(guichet, shop):
    cus, p = enrol_phone(guichet)
    t = created(guichet, shop, cus)
    cred = guichet.sql_value("SELECT id FROM credentials WHERE device_id = %s", p.device_id)
    assert cred, "the phone's credential names its phone"
    s = Admin(guichet, "admin").login()
    r = s.post(guichet.url(f"/v1/admin/credentials/{cred}/revoke"), json={"reason": "lost"},
               headers={"X-CSRF-Token": s.csrf}, timeout=10)
    assert r.status_code == 200, r.text
    assert_error(p.pending(guichet.base_url), 403, "forbidden")
    assert_error(p.approve(guichet.base_url, parse_tx_payload(t["qr_payload"])), 403, "forbidden")
    assert_error(create(guichet, shop, cus), 422, "no_capable_device")
    assert row(guichet, t["id"])["status"] == "pending"


# ------------------------------------------------------------------ expiry

def test_expiry_is_410_and_reads_expired(guichet, shop, payer):
    cus, p = payer
    short = Guichetd(guichet.cluster, guichet.keyfile, ARTIFACTS / "api-guichetd-tx-ttl.log",
                     env=dict(guichet.server.extra_env, GUICHET_TX_TTL_S="2"))
    short.start()
    try:
        r = shop.post(short.base_url + "/v1/transactions", json=body(cus), timeout=10)
        assert r.status_code == 201, r.text
        t = r.json()
    finally:
        short.stop()
    tx = parse_tx_payload(t["qr_payload"])
    code = p.response_code(tx)
    time.sleep(2.5)
    assert shop.get(guichet.url(f"/v1/transactions/{t['id']}"), timeout=10).json()["status"] \
        == "expired"
    assert t["id"] not in [x["id"] for x in p.pending(guichet.base_url).json()["transactions"]]
    assert row(guichet, t["id"])["status"] == "pending"      # read-only so far
    assert_error(p.approve(guichet.base_url, tx), 410, "expired")
    assert row(guichet, t["id"])["status"] == "expired"      # marked by the attempt
    assert_error(verify_code(guichet, shop, t["id"], code), 410, "expired")
    assert_error(p.decline(guichet.base_url, t["id"]), 410, "expired")
    assert events(guichet, t["id"]) == ["created", "expired"]


# ------------------------------------------------------------------ offline code

def test_offline_response_code_approves(guichet, shop, payer):
    cus, p = payer
    t = created(guichet, shop, cus)
    tx = parse_tx_payload(t["qr_payload"])
    code = p.response_code(tx)
    # the code of another amount or payee does not fit this transaction
    for forged in (dict(tx, amount="125.01"), dict(tx, payee_name="ACME SARM")):
        r = verify_code(guichet, shop, t["id"], p.response_code(forged))
        assert_error(r, 401, "authentication_failed")
    r = verify_code(guichet, shop, t["id"], code)
    assert r.status_code == 200 and r.json() == {"id": t["id"], "status": "approved"}, r.text
    db = row(guichet, t["id"])
    assert db["status"] == "approved" and db["method"] == "response_code"
    assert db["device_id"] == p.device_id and db["signature"] is None
    assert db["approved_t"].encode() == tx_message(tx) and db["failures"] == 2
    assert events(guichet, t["id"]) == ["created", "response_invalid", "response_invalid",
                                        "approved"]
    # a right code resets nothing (it proves the phone, not the PIN)
    assert guichet.sql_value("SELECT failed_attempts FROM customers WHERE id = %s", cus) == 2
    assert_error(verify_code(guichet, shop, t["id"], code), 409, "wrong_state")
    for bad in ("1234567", "123456789", "abcdefgh", "1234 678"):
        assert_error(verify_code(guichet, shop, t["id"], bad), 400, "invalid_field")


def test_sixteen_parallel_verifies_one_wins(guichet, shop, payer):
    cus, p = payer
    t = created(guichet, shop, cus)
    code = p.response_code(parse_tx_payload(t["qr_payload"]))
    with ThreadPoolExecutor(16) as pool:
        rs = list(pool.map(lambda _: verify_code(guichet, shop, t["id"], code), range(16)))
    assert sorted(r.status_code for r in rs) == [200] + [409] * 15, [r.text for r in rs]
    assert events(guichet, t["id"]) == ["created", "approved"]


def test_five_wrong_codes_fail_the_transaction_and_count_toward_the_lockout(
        guichet, shop, payer, http):
    cus, p = payer
    t = created(guichet, shop, cus)
    code = p.response_code(parse_tx_payload(t["qr_payload"]))
    left = []
    for i in range(5):
        r = verify_code(guichet, shop, t["id"], wrong(code))
        assert_error(r, 401, "authentication_failed")
        left.append(r.json()["attempts_remaining"])
    assert left == [4, 3, 2, 1, 0]
    db = row(guichet, t["id"])
    assert db["status"] == "failed" and db["failures"] == 5 and db["decided"]
    assert db["method"] is None
    assert events(guichet, t["id"]) == ["created"] + ["response_invalid"] * 5 + ["failed"]
    failed, locked = guichet.sql("SELECT failed_attempts, locked_at IS NOT NULL"
                                 " FROM customers WHERE id = %s", cus)[0]
    assert (failed, locked) == (5, True)
    audit = guichet.sql("SELECT outcome, attempts_remaining, relying_party FROM authn_audit"
                        " WHERE customer_id = %s AND action = 'tx_response' ORDER BY id", cus)
    assert audit == [("response_invalid", n, shop.name) for n in (4, 3, 2, 1, 0)]
    # failed is final, even for the right code; the customer is locked
    assert_error(verify_code(guichet, shop, t["id"], code), 409, "wrong_state")
    assert_error(http.verify_otp(cus, PIN, p.totp()), 423, "locked")
    t2 = created(guichet, shop, cus)
    code2 = p.response_code(parse_tx_payload(t2["qr_payload"]))
    assert_error(verify_code(guichet, shop, t2["id"], code2), 423, "locked")
    assert events(guichet, t2["id"]) == ["created", "locked"]
    assert row(guichet, t2["id"])["status"] == "pending"
    # the phone's signature is another factor: nothing to guess, not locked
    assert p.approve(guichet.base_url, parse_tx_payload(t2["qr_payload"])).status_code == 200


def test_earlier_failures_leave_fewer_codes(guichet, shop, payer, http):
    cus, p = payer
    for _ in range(3):
        assert_error(http.verify_otp(cus, PIN, "000000"), 401, "authentication_failed")
    t = created(guichet, shop, cus)
    code = p.response_code(parse_tx_payload(t["qr_payload"]))
    r = verify_code(guichet, shop, t["id"], wrong(code))
    assert_error(r, 401, "authentication_failed")
    assert r.json()["attempts_remaining"] == 1
    r = verify_code(guichet, shop, t["id"], wrong(code))
    assert r.json()["attempts_remaining"] == 0
    db = row(guichet, t["id"])
    assert db["status"] == "failed" and db["failures"] == 2


def test_parallel_wrong_codes_count_at_most_five(guichet, shop, payer):
    cus, p = payer
    t = created(guichet, shop, cus)
    code = p.response_code(parse_tx_payload(t["qr_payload"]))
    with ThreadPoolExecutor(16) as pool:
        rs = list(pool.map(lambda i: verify_code(guichet, shop, t["id"],
                                                 "%08d" % ((int(code) + 1 + i) % 10 ** 8)),
                           range(16)))
    codes = sorted(r.status_code for r in rs)
    assert codes.count(401) == 5 and set(codes) <= {401, 409, 423}, codes
    assert row(guichet, t["id"])["failures"] == 5
    assert guichet.sql_value("SELECT failed_attempts FROM customers WHERE id = %s", cus) == 5


# ------------------------------------------------------------------ evidence

def openssl_verify(tmp_path, ev, t_bytes=None):
    (tmp_path / "key.pem").write_text(ev["device_public_key_pem"])
    (tmp_path / "sig.der").write_bytes(unb64u(ev["signature"]))
    (tmp_path / "t.txt").write_bytes(t_bytes if t_bytes is not None
                                     else ev["transaction"].encode())
    return subprocess.run(["openssl", "dgst", "-sha256", "-verify", str(tmp_path / "key.pem"),
                           "-signature", str(tmp_path / "sig.der"), str(tmp_path / "t.txt")],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_evidence_verifies_with_openssl_alone(guichet, shop, payer, tmp_path):
    cus, p = payer
    t = created(guichet, shop, cus, payee_name="Ελληνικά Τρόφιμα ΑΕ")
    url = guichet.url(f"/v1/transactions/{t['id']}/evidence")
    assert_error(shop.get(url, timeout=10), 409, "wrong_state")
    tx = parse_tx_payload(t["qr_payload"])
    assert p.approve(guichet.base_url, tx).status_code == 200
    r = shop.get(url, timeout=10)
    assert r.status_code == 200, r.text
    ev = r.json()
    assert ev["id"] == t["id"] and ev["method"] == "signature"
    assert ev["transaction"].encode() == tx_message(tx)
    assert ev["device_id"] == p.device_id and ev["approved_at"].endswith("Z")
    assert ev["device_public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----\n")
    out = openssl_verify(tmp_path, ev)
    assert out.returncode == 0 and "Verified OK" in out.stdout, out.stdout
    # one character of T changed: openssl says no
    out = openssl_verify(tmp_path, ev, ev["transaction"].replace("125.00", "125.01").encode())
    assert out.returncode == 1 and "Verification failure" in out.stdout, out.stdout
    # the operator's CLI gives the same
    assert guichet.cli("tx", "evidence", t["id"]) == ev
    with pytest.raises(CliError) as e:
        guichet.cli("tx", "evidence", "tx_" + "B" * 22)
    assert e.value.json["error"]["code"] == "not_found"


def test_evidence_of_an_offline_code(guichet, shop, payer):
    cus, p = payer
    t = created(guichet, shop, cus)
    tx = parse_tx_payload(t["qr_payload"])
    assert verify_code(guichet, shop, t["id"], p.response_code(tx)).status_code == 200
    ev = shop.get(guichet.url(f"/v1/transactions/{t['id']}/evidence"), timeout=10).json()
    assert ev["method"] == "response_code" and ev["transaction"].encode() == tx_message(tx)
    assert "signature" not in ev and "device_public_key_pem" not in ev


# ------------------------------------------------------------------ approval page

def link_of(t):
    return urlsplit(t["approval_url"]).fragment


def test_approval_page_api_by_the_links_secret(guichet, shop, payer):
    cus, p = payer
    t = created(guichet, shop, cus, return_url=SHOP + "/done?order=7")
    tok = link_of(t)
    guichet.secrets.add(tok)
    h = {"Guichet-Approval": tok}
    r = requests.get(guichet.url("/v1/approval"), headers=h, timeout=10)
    assert r.status_code == 200, r.text
    v = r.json()
    assert v["id"] == t["id"] and v["status"] == "pending" and v["relying_party"] == shop.name
    assert v["qr_payload"] == t["qr_payload"] and v["amount"] == "125.00"
    assert 0 < v["seconds_left"] <= 300 and "return_to" not in v
    svg = requests.get(guichet.url("/v1/approval/qr.svg"), headers=h, timeout=10)
    assert svg.status_code == 200 and svg.headers["Content-Type"] == "image/svg+xml"
    # without the secret, or with another, nothing
    for bad in ({}, {"Guichet-Approval": tok[:-1] + ("A" if tok[-1] != "A" else "B")},
                {"Guichet-Approval": t["id"]}):
        assert_error(requests.get(guichet.url("/v1/approval"), headers=bad, timeout=10),
                     404, "not_found")
        assert_error(requests.post(guichet.url("/v1/approval/verify"), headers=bad,
                                   json={"response": "12345678"}, timeout=10), 404, "not_found")
    # the page's long poll wakes when the phone answers
    got = {}

    def wait():
        got["r"] = requests.get(guichet.url("/v1/approval?wait=20"), headers=h, timeout=30)

    th = threading.Thread(target=wait)
    th.start()
    time.sleep(1.0)
    t0 = time.monotonic()
    code = p.response_code(parse_tx_payload(t["qr_payload"]))
    r = requests.post(guichet.url("/v1/approval/verify"), headers=h, timeout=10,
                      json={"response": wrong(code)})
    assert_error(r, 401, "authentication_failed")
    assert r.json()["attempts_remaining"] == 4
    r = requests.post(guichet.url("/v1/approval/verify"), headers=h, timeout=10,
                      json={"response": code})
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text
    th.join(30)
    assert time.monotonic() - t0 < 6
    v = got["r"].json()
    assert v["status"] == "approved" and v["method"] == "response_code"
    assert v["return_to"] == SHOP + "/done?order=7&transaction=" + t["id"]
    actors = guichet.sql("SELECT event, actor FROM transaction_events WHERE transaction_id = %s"
                         " ORDER BY id", t["id"])
    assert actors == [("created", "rp:" + shop.name), ("response_invalid", "payer"),
                      ("approved", "payer")]


def test_approval_page_is_served_with_its_csp(guichet):
    r = requests.get(guichet.url("/approve/"), timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert requests.get(guichet.url("/approve/app.js"), timeout=10).status_code == 200


# ------------------------------------------------------------------ operations

def test_metrics_count_transactions_by_outcome_and_method(guichet, shop, payer):
    def value(outcome, method):
        text = requests.get(guichet.url("/metrics"), timeout=10).text
        line = f'guichet_transactions_total{{outcome="{outcome}",method="{method}"}} '
        return int(next(x for x in text.splitlines() if x.startswith(line)).split()[-1])

    before = {k: value(*k) for k in (("created", "none"), ("approved", "signature"),
                                      ("declined", "signature"),
                                      ("response_invalid", "response_code"))}
    cus, p = payer
    t1, t2 = created(guichet, shop, cus), created(guichet, shop, cus)
    tx1 = parse_tx_payload(t1["qr_payload"])
    verify_code(guichet, shop, t1["id"], wrong(p.response_code(tx1)))
    assert p.approve(guichet.base_url, tx1).status_code == 200
    assert p.decline(guichet.base_url, t2["id"]).status_code == 200
    assert value("created", "none") == before[("created", "none")] + 2
    assert value("approved", "signature") == before[("approved", "signature")] + 1
    assert value("declined", "signature") == before[("declined", "signature")] + 1
    assert value("response_invalid", "response_code") \
        == before[("response_invalid", "response_code")] + 1


def test_backoffice_customer_view_lists_transactions(guichet, shop, payer):
    cus, p = payer
    t1, t2 = created(guichet, shop, cus), created(guichet, shop, cus, amount="9.99")
    assert p.approve(guichet.base_url, parse_tx_payload(t1["qr_payload"])).status_code == 200
    s = Admin(guichet, "admin").login()
    r = s.get(guichet.url(f"/v1/admin/customers/{cus}"), timeout=10)
    assert r.status_code == 200, r.text
    txs = {x["id"]: x for x in r.json()["transactions"]}
    assert txs[t1["id"]]["status"] == "approved" and txs[t1["id"]]["method"] == "signature"
    assert txs[t2["id"]]["status"] == "pending" and txs[t2["id"]].get("method") is None
    assert txs[t2["id"]]["amount"] == "9.99" and txs[t2["id"]]["relying_party"] == shop.name


def test_every_table_and_column_has_a_comment(guichet):
    missing = guichet.sql(
        "SELECT c.relname, a.attname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid"
        " WHERE c.relname IN ('transactions', 'transaction_events') AND a.attnum > 0"
        " AND NOT a.attisdropped AND col_description(c.oid, a.attnum) IS NULL")
    assert missing == []
    assert guichet.sql("SELECT relname FROM pg_class WHERE relname IN"
                       " ('transactions', 'transaction_events')"
                       " AND obj_description(oid, 'pg_class') IS NULL") == []


def test_decided_rows_and_signed_data_cannot_change(guichet, shop, payer):
    import psycopg2
    cus, p = payer
    t = created(guichet, shop, cus)
    with pytest.raises(psycopg2.Error):
        guichet.sql("UPDATE transactions SET amount = '999.00' WHERE id = %s", t["id"])
    assert p.decline(guichet.base_url, t["id"]).status_code == 200
    with pytest.raises(psycopg2.Error):
        guichet.sql("UPDATE transactions SET status = 'approved', method = 'signature'"
                    " WHERE id = %s", t["id"])
    assert row(guichet, t["id"])["status"] == "declined"


# ------------------------------------------------------------------ the reference phone

CLI = Path(__file__).resolve().parents[2] / "build" / "authenticator" / "guichet-authenticator"


def c_phone(state, *args, stdin=""):
    out = subprocess.run([str(CLI), "--state", str(state), "--pin", "2468", *args],
                         input=stdin, capture_output=True, text=True, timeout=60)
    return out.returncode, json.loads(out.stdout), out.stderr


def test_reference_authenticator_shows_then_signs(guichet, shop, tmp_path):
    from test_devices import challenge, passed_enrolment
    state = tmp_path / "phone.state"
    s = passed_enrolment(guichet)
    rc, a, _ = c_phone(state, "activate", challenge(guichet, s)["qr_payload"])
    assert rc == 0 and a["status"] == "active", a
    url = guichet.url(f"/v1/enrolments/{s.eid}")
    assert s.post(url + "/pin", json={"pin": PIN}, timeout=10).status_code == 200
    rc, code, _ = c_phone(state, "code")
    assert s.post(url + "/otp-confirm", json={"otp": code["otp"]}, timeout=10).status_code == 200
    r = s.post(url + "/credential", json={"kind": "device"}, timeout=10)
    cus, code = r.json()["customer_id"], r.json()["assurance_code"]
    guichet.secrets.add(code)

    rc, out, _ = c_phone(state, "tx", "pending")
    assert rc == 0 and out == {"transactions": []}
    t = created(guichet, shop, cus, payee_name="Boulangerie Dupont")
    rc, out, err = c_phone(state, "tx", "pending", "--wait", "5")
    assert [x["id"] for x in out["transactions"]] == [t["id"]]
    # the customer's security code with the payment, as the phone shows it
    [item] = out["transactions"]
    assert item["assurance_code"] == code
    shown = (f"Pay 125.00 EUR to Boulangerie Dupont ({IBAN}). Your security code: {code}"
             " \u2014 if it is missing or wrong, do not approve.")
    assert item["display"] == shown and shown in err
    # shown before asked; "no" sends nothing
    rc, out, err = c_phone(state, "tx", "approve", t["id"], stdin="n\n")
    assert rc == 1 and out["error"]["code"] == "not_confirmed"
    assert "125.00 EUR" in err and "Boulangerie Dupont" in err
    assert "FR76 3000 6000 0112 3456 7890 189" in err
    assert f"Your security code: {code} \u2014 if it is missing or wrong, do not approve" in err
    assert row(guichet, t["id"])["status"] == "pending"
    rc, out, err = c_phone(state, "tx", "approve", t["id"], stdin="y\n")
    assert rc == 0 and out["status"] == "approved", out
    assert out["shown"]["payee_name"] == "Boulangerie Dupont"
    assert out["shown"]["assurance_code"] == code
    assert row(guichet, t["id"])["method"] == "signature"

    # offline: the code from the scanned payload, typed by the relying party
    t2 = created(guichet, shop, cus)
    rc, out, err = c_phone(state, "tx", "code", t2["qr_payload"], "--yes")
    assert rc == 0 and len(out["response_code"]) == 8 and "ACME SARL" in err
    assert verify_code(guichet, shop, t2["id"], out["response_code"]).status_code == 200
    assert row(guichet, t2["id"])["method"] == "response_code"

    t3 = created(guichet, shop, cus)
    rc, out, _ = c_phone(state, "tx", "decline", t3["id"], "--yes")
    assert rc == 0 and out["status"] == "declined"
    assert row(guichet, t3["id"])["status"] == "declined"
    rc, out, _ = c_phone(state, "tx", "approve", t3["id"], "--yes")
    assert rc == 1 and out["error"]["code"] == "not_pending"
    # a QR whose payee hides a bidi override is refused by the phone itself
    bad = t2["qr_payload"].replace("ACME%20SARL", "ACME%E2%80%AE%20SARL")
    rc, out, _ = c_phone(state, "tx", "code", bad, "--yes")
    assert rc == 1 and out["error"]["code"] == "payload_invalid"
