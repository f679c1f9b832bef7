# SPDX-License-Identifier: AGPL-3.0-or-later
"""What the other modules say through notify/ (issues 12, 13, 15, 16), read
where the customer and the relying party read it: e-mail from a real SMTP
relay and signed webhook events from a real receiver (the `messaging`
stack, tests/api/relays.py), besides the rows that queued them.

- a payment's outcome: the signed webhook event transaction.approved,
  .declined, .failed or .expired for the relying party that created it
  (expired: by the retention pass's sweep), and for approved and declined
  the customer's e-mail with amount and payee, ending with their code;
- a re-enrolment that two staff attach to an existing customer: the
  customer is told at their own address, ending with the code they know,
  and so is the completion's new credential;
- a passkey that becomes a customer's outside the completion (through a
  relying party, or in the enrolment's session once completed) tells
  them; one registered before completion is covered by the welcome;
- a lock says when it ends (customers.locked_until), also for a second
  lock after the first ended, and that staff unlock a permanent one;
- a customer from before notify/ is reached at the address of their latest
  enrolment (migration 0014) and, having no assurance code yet, gets one
  drawn with their first message."""
import json
import re
import shutil
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import ARTIFACTS, REPO, Guichetd  # noqa: E402
from phone import parse_tx_payload  # noqa: E402
from helpers import wrong_code  # noqa: E402
from relays import wait_until  # noqa: E402
from test_admin import Admin, decide, review_of  # noqa: E402
from test_enrolments import applicant, body_for  # noqa: E402
from test_identity_trust import docnum  # noqa: E402
from test_messages import (CODE_LINE, complete, customer_code, keep_code,  # noqa: E402
                           new_email, start_enrolment)
from webauthn import SoftAuthenticator  # noqa: E402


def last_code(m):
    """The assurance code a message ends with (API.md: its last line)."""
    found = CODE_LINE.search(m.text)
    assert found, m.text
    return found.group(1)


def enrol(g, body, lang=None):
    s = requests.Session()
    if lang:
        s.headers["Accept-Language"] = lang
    r = s.post(g.url("/v1/enrolments"), json=body, timeout=30)
    assert r.status_code == 201, r.text
    s.eid, s.email = r.json()["id"], body["applicant"]["email"]
    return s, r.json()


# ------------------------------------------------------------ re-enrolment

def test_reenrolment_is_told_through_notify_with_the_customers_own_code(messaging):
    g, box = messaging, messaging.mailbox
    number = docnum("REN")
    g.secrets.add(number)
    a = applicant(email=new_email())
    s1, v1 = enrol(g, body_for(a, docnum=number), lang="fr")
    assert v1["state"] == "device"
    _, done = complete(g, s1, pin="480713")
    cus, code = done["customer_id"], done["assurance_code"]
    keep_code(g, code)
    box.wait_for(a["email"], "Bienvenue")

    # the same passport again, from another address: four eyes attach it
    newcomer = dict(a, email=new_email())
    s2, v2 = enrol(g, body_for(newcomer, docnum=number))
    assert v2["state"] == "identity_review"
    rev = review_of(g, s2.eid)
    assert rev["four_eyes"] is True
    first, second = Admin(g, role="admin").login(), Admin(g, role="admin").login()
    r = decide(g, first, rev["id"], comment="customer called, lost phone")
    assert r.status_code == 200 and r.json()["state"] == "awaiting_second_approval", r.text
    assert g.sql_value("SELECT count(*) FROM outbox WHERE customer_id = %s"
                       " AND kind = 'identity_reenrolment'", cus) == 0
    r = decide(g, second, rev["id"], comment="same passport, same person")
    assert r.status_code == 200 and r.json()["attach_customer_id"] == cus, r.text

    # the customer, at their own address, in their language, with their code
    m = box.wait_for(a["email"], "Un nouveau moyen de connexion est en cours")[0]
    assert m["Content-Language"] == "fr" and m["To"] == a["email"]
    assert "notre personnel a approuvé" in m.text and number not in m.text
    assert last_code(m) == code
    assert box.to(newcomer["email"], "nouveau moyen") == []
    row = g.sql("SELECT kind, state, lang, recipient, params FROM outbox WHERE customer_id = %s"
                " AND kind = 'identity_reenrolment'", cus)
    assert row == [("identity_reenrolment", "sent", "fr", a["email"], {})]

    # the newcomer chooses a code at the credential step: the customer's own
    # stays, so the message about the new credential ends with the code the
    # customer knows, and the completion shows none
    chosen = "NEWCQD"
    keep_code(g, chosen)
    set_before = g.sql("SELECT assurance_set_by, assurance_set_at FROM customer_contacts"
                       " WHERE customer_id = %s", cus)
    _, done2 = complete(g, s2, pin="592046", code=chosen)
    assert done2["customer_id"] == cus and "assurance_code" not in done2
    assert customer_code(g, cus) == code
    m = box.wait_for(a["email"], "Un nouveau moyen de connexion a été ajouté")[0]
    assert last_code(m) == code and chosen not in m.text
    assert box.to(newcomer["email"], "moyen de connexion") == []
    assert g.sql("SELECT assurance_set_by, assurance_set_at FROM customer_contacts"
                 " WHERE customer_id = %s", cus) == set_before


def test_a_customer_without_a_code_gets_one_drawn_with_the_first_message(messaging):
    """Customers who completed an enrolment before notify/ (migration 0014
    gives them a contact row, no code): the sender draws and stores a code
    before their first message, which ends with it."""
    g, box = messaging, messaging.mailbox
    s1, _ = enrol(g, body_for(applicant(email=new_email()), docnum=docnum("OLD")))
    _, done = complete(g, s1, pin="480713")
    cus = done["customer_id"]
    keep_code(g, done["assurance_code"])
    box.wait_for(s1.email, "Welcome")
    g.sql("UPDATE customer_contacts SET assurance_sealed = NULL, assurance_set_at = NULL,"
          " assurance_set_by = NULL WHERE customer_id = %s", cus)
    g.sql("SELECT notify_queue_customer_mail(%s, 'identity_reenrolment', '{}'::jsonb)", cus)
    m = box.wait_for(s1.email, "A new credential is being set up", timeout=30)[0]
    code = last_code(m)
    keep_code(g, code)
    assert code != done["assurance_code"] and customer_code(g, cus) == code
    assert g.sql_value("SELECT assurance_set_by FROM customer_contacts WHERE customer_id = %s",
                       cus) == "drawn"
    assert len(box.to(s1.email, "A new credential is being set up")) == 1


def test_migration_gives_earlier_customers_their_latest_address(guichet, tmp_path):
    before = tmp_path / "migrations"
    before.mkdir()
    for f in sorted((REPO / "migrations").glob("*.sql")):
        if f.name < "0014":
            shutil.copy(f, before)
    db = "mig_contacts"
    guichet.cluster.create_database(db)
    env = guichet.env(GUICHET_DATABASE_URL=guichet.cluster.conninfo(db))
    guichet.cli("migrate", env=dict(env, GUICHET_MIGRATIONS_DIR=str(before)))
    guichet.cluster.psql(
        "INSERT INTO customers (id, pin_hash) VALUES ('cus_a', 'x'), ('cus_b', 'x');"
        "INSERT INTO enrolments (id, state, expires_at, applicant, email, identity_key,"
        " customer_id, completed_at) VALUES"
        " ('enr_a1', 'completed', now(), '{}', 'old@example.org', 'k1', 'cus_a',"
        "  now() - interval '2 days'),"
        " ('enr_a2', 'completed', now(), '{}', 'new@example.org', 'k2', 'cus_a',"
        "  now() - interval '1 day'),"
        " ('enr_b1', 'rejected', now(), '{}', 'b@example.org', 'k3', NULL, NULL);",
        dbname=db)
    guichet.cli("migrate", env=env)
    rows = guichet.cluster.psql("SELECT customer_id, email, lang,"
                                " assurance_sealed IS NULL FROM customer_contacts"
                                " ORDER BY customer_id", dbname=db)
    assert rows.split("\n") == ["cus_a|new@example.org|en|t"]


# ------------------------------------------------------------ passkeys

def api_session(g, name=None):
    out = g.cli("apikey", "create", "--name", name or f"rp-{time.time_ns()}")
    g.secrets.add(out["key"])
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {out['key']}"
    return s


def test_a_passkey_added_for_a_customer_is_told_with_their_code(messaging):
    g, box = messaging, messaging.mailbox
    s = start_enrolment(g)
    phone, done = complete(g, s, pin="739182")
    cus, code = done["customer_id"], done["assurance_code"]
    keep_code(g, code)
    box.wait_for(s.email, "Welcome")
    rp = api_session(g)
    r = rp.post(g.url("/v1/authn/passkey/registration-options"),
                json={"customer_id": cus, "pin": "739182",
                      "otp": phone.totp(time.time() + 30)}, timeout=30)
    assert r.status_code == 200, r.text
    opts = r.json()
    resp, _ = SoftAuthenticator(g.base_url).register(opts["publicKey"])
    r = rp.post(g.url("/v1/authn/passkey/register"),
                json={"challenge_id": opts["challenge_id"], "credential": resp}, timeout=30)
    assert r.status_code == 201, r.text
    m = box.wait_for(s.email, "A new sign-in method was added")[0]
    assert "a new sign-in method was added to your account: a passkey." in m.text
    assert last_code(m) == code
    assert g.sql("SELECT kind, params FROM outbox WHERE customer_id = %s"
                 " AND kind = 'device_registered'", cus) == [
        ("device_registered", {"credential": "passkey"})]


def test_enrolment_passkeys_the_welcome_covers_then_one_after_completion(messaging):
    g, box = messaging, messaging.mailbox
    s = start_enrolment(g)
    url = g.url(f"/v1/enrolments/{s.eid}")

    def add_passkey():
        r = s.post(url + "/passkey/options", json={}, timeout=30)
        assert r.status_code == 200, r.text
        opts = r.json()
        resp, _ = SoftAuthenticator(g.base_url).register(opts["publicKey"])
        r = s.post(url + "/passkey", json={"challenge_id": opts["challenge_id"],
                                           "credential": resp}, timeout=30)
        assert r.status_code == 201, r.text

    from test_devices import challenge
    from phone import Phone
    p = Phone()
    assert p.activate(challenge(g, s)["qr_payload"]).status_code == 201
    assert s.post(url + "/pin", json={"pin": "480713"}, timeout=10).status_code == 200
    assert s.post(url + "/otp-confirm", json={"otp": p.totp()}, timeout=10).status_code == 200
    add_passkey()                                  # pending until completion
    r = s.post(url + "/credential", json={"kind": "device"}, timeout=10)
    assert r.status_code == 201, r.text
    cus, code = r.json()["customer_id"], r.json()["assurance_code"]
    keep_code(g, code)
    box.wait_for(s.email, "Welcome")
    kinds = lambda: [k for (k,) in g.sql("SELECT kind FROM outbox WHERE customer_id = %s"  # noqa
                                         " ORDER BY id", cus)]
    assert kinds() == ["welcome"]
    add_passkey()                                  # completed: the customer's at once
    m = box.wait_for(s.email, "A new sign-in method was added")[0]
    assert "a passkey" in m.text and last_code(m) == code
    assert kinds() == ["welcome", "device_registered"]


# ------------------------------------------------------------ payments

SHOP = "https://shop.example"
IBAN = "FR7630006000011234567890189"
TS = "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'"


def shop_with_webhook(g):
    """A relying party made in one command with an origin and a webhook to
    the test receiver: a requests session with its key."""
    name = f"shop-{time.time_ns()}"
    out = g.cli("apikey", "create", "--name", name, "--origin", SHOP,
                "--webhook", g.receiver.url(name))
    assert set(out) == {"name", "key", "origins", "webhook_url", "webhook_secret"}, out
    assert out["origins"] == [SHOP]
    g.secrets.update({out["key"], out["webhook_secret"]})
    g.receiver.secrets[name] = out["webhook_secret"]
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {out['key']}"
    s.name = name
    return s


def pay(g, shop, cus, base=None, **over):
    body = {"customer_id": cus, "amount": "125.00", "currency": "EUR",
            "payee_name": "ACME SARL", "payee_iban": IBAN}
    body.update(over)
    r = shop.post((base or g.base_url) + "/v1/transactions", json=body, timeout=30)
    assert r.status_code == 201, r.text
    return r.json()


def pending_item(g, phone, tx_id):
    r = phone.pending(g.base_url)
    assert r.status_code == 200, r.text
    [item] = [x for x in r.json()["transactions"] if x["id"] == tx_id]
    return item


def tx_db(g, tx_id):
    return g.sql(f"SELECT status, method, to_char(decided_at AT TIME ZONE 'UTC', {TS}),"
                 f" to_char(expires_at AT TIME ZONE 'UTC', {TS}) FROM transactions"
                 " WHERE id = %s", tx_id)[0]


def the_event(g, shop, tx_id, type_):
    """The one delivery of @type_ for @tx_id, checked as a relying party
    would: its own HMAC of the exact bytes received, the body's shape."""
    d = wait_until(lambda: [x for x in g.receiver.got(shop.name, type_)
                            if x["event"]["data"]["transaction_id"] == tx_id],
                   what=f"{type_} for {tx_id}")
    assert len(d) == 1, d
    d = d[0]
    assert d["verified"], "the signature does not check"
    ev = json.loads(d["raw"])
    assert set(ev) == {"id", "type", "created_at", "data"} and ev["type"] == type_
    assert re.fullmatch(r"evt_[A-Za-z0-9_-]{22}", ev["id"]), ev["id"]
    return ev["data"]


def test_payment_outcomes_reach_the_shop_signed_and_the_customer_by_mail(messaging):
    g, box = messaging, messaging.mailbox
    shop = shop_with_webhook(g)
    s = start_enrolment(g)
    phone, done = complete(g, s, pin="805316")
    cus, code = done["customer_id"], done["assurance_code"]
    keep_code(g, code)
    box.wait_for(s.email, "Welcome")

    def data_of(tx, status, method):
        st, meth, decided, expires = tx_db(g, tx["id"])
        assert (st, meth) == (status, method)
        return {"transaction_id": tx["id"], "customer_id": cus, "status": status,
                "amount": "125.00", "currency": "EUR", "payee_name": "ACME SARL",
                "decided_at": decided, "expires_at": expires, "method": method}

    # approved by the phone's signature
    t1 = pay(g, shop, cus)
    r = phone.approve(g.base_url, pending_item(g, phone, t1["id"]))
    assert r.status_code == 200, r.text
    assert the_event(g, shop, t1["id"], "transaction.approved") \
        == data_of(t1, "approved", "signature")
    m = box.wait_for(s.email, "Payment approved: 125.00 EUR to ACME SARL")[0]
    assert "You approved a payment of 125.00 EUR to ACME SARL on" in m.text
    assert last_code(m) == code and IBAN not in m.text

    # declined
    t2 = pay(g, shop, cus, payee_name="Boulangerie Dupont")
    assert phone.decline(g.base_url, t2["id"]).status_code == 200
    d = the_event(g, shop, t2["id"], "transaction.declined")
    assert d == dict(data_of(t2, "declined", None), payee_name="Boulangerie Dupont")
    m = box.wait_for(s.email, "Payment declined: 125.00 EUR to Boulangerie Dupont")[0]
    assert "It will not be made." in m.text and last_code(m) == code

    # approved offline: the response code typed by the relying party
    t3 = pay(g, shop, cus)
    item = parse_tx_payload(t3["qr_payload"])
    r = shop.post(g.url(f"/v1/transactions/{t3['id']}/verify"),
                  json={"response": phone.response_code(item)}, timeout=30)
    assert r.status_code == 200, r.text
    assert the_event(g, shop, t3["id"], "transaction.approved") \
        == data_of(t3, "approved", "response_code")

    # failed: five wrong codes; the shop hears, the customer's mail is the lock's
    t4 = pay(g, shop, cus)
    right = phone.response_code(parse_tx_payload(t4["qr_payload"]))
    wrong = "%08d" % ((int(right) + 1) % 10 ** 8)
    for _ in range(5):
        r = shop.post(g.url(f"/v1/transactions/{t4['id']}/verify"),
                      json={"response": wrong}, timeout=30)
        assert r.status_code in (401, 423), r.text
    assert the_event(g, shop, t4["id"], "transaction.failed") \
        == data_of(t4, "failed", None)

    # each outcome once, in order, for this shop only; two mails
    time.sleep(0.5)
    types = [d["event"]["type"] for d in g.receiver.got(shop.name)
             if d["event"]["type"].startswith("transaction.")]
    assert types == ["transaction.approved", "transaction.declined",
                     "transaction.approved", "transaction.failed"]
    assert [k for (k,) in g.sql("SELECT kind FROM outbox WHERE customer_id = %s"
                                " AND kind LIKE 'transaction%%' ORDER BY id", cus)] \
        == ["transaction_approved", "transaction_declined", "transaction_approved"]
    assert len(box.to(s.email, "Payment approved")) == 2


def test_an_expired_payment_is_swept_and_its_shop_told(messaging):
    """Nobody answers: the retention pass of an instance with a short
    tx_ttl_s marks the payment expired (one conditional UPDATE per batch)
    and queues transaction.expired; the customer gets no e-mail."""
    g, box = messaging, messaging.mailbox
    shop = shop_with_webhook(g)
    s = start_enrolment(g)
    _, done = complete(g, s, pin="805316")
    cus = done["customer_id"]
    keep_code(g, done["assurance_code"])
    other = Guichetd(g.cluster, g.keyfile, ARTIFACTS / "messages-expiry-guichetd.log",
                     env=dict(g.server.extra_env, GUICHET_TX_TTL_S="1",
                              GUICHET_PURGE_INTERVAL_S="1"))
    other.start()
    try:
        t = pay(g, shop, cus, base=other.base_url)
        d = the_event(g, shop, t["id"], "transaction.expired")
    finally:
        other.stop()
    st, meth, decided, expires = tx_db(g, t["id"])
    assert (st, meth, decided) == ("expired", None, None)
    assert d == {"transaction_id": t["id"], "customer_id": cus, "status": "expired",
                 "amount": "125.00", "currency": "EUR", "payee_name": "ACME SARL",
                 "decided_at": None, "expires_at": expires, "method": None}
    assert g.sql("SELECT event, actor FROM transaction_events WHERE transaction_id = %s"
                 " ORDER BY id", t["id"])[-1] == ("expired", "system")
    v = shop.get(g.url(f"/v1/transactions/{t['id']}"), timeout=10).json()
    assert v["status"] == "expired"
    assert g.sql_value("SELECT count(*) FROM outbox WHERE customer_id = %s"
                       " AND kind LIKE 'transaction%%'", cus) == 0
    assert len(g.receiver.got(shop.name, "transaction.expired")) == 1


def test_the_purge_command_expires_what_is_due(guichet):
    """`guichetd purge` runs the same pass: it reports the payments it
    expired; a payment not yet due is left alone."""
    from test_transactions import created, enrol_phone, new_shop
    shop = new_shop(guichet, SHOP)
    cus, _ = enrol_phone(guichet)
    t = created(guichet, shop, cus)
    short = guichet.env(GUICHET_TX_TTL_S="1")
    srv = Guichetd(guichet.cluster, guichet.keyfile, ARTIFACTS / "expiry-cli-guichetd.log",
                   env=dict(guichet.server.extra_env, GUICHET_TX_TTL_S="1",
                            GUICHET_PURGE_INTERVAL_S="0"))
    srv.start()
    try:
        due = pay(guichet, shop, cus, base=srv.base_url)
    finally:
        srv.stop()
    time.sleep(1.5)
    out = guichet.cli("purge", env=short)
    # (the stack's own pass, every 60 s, may have been first)
    assert out["ran"] is True and "transactions_expired" in out["purged"], out
    assert tx_db(guichet, due["id"])[0] == "expired"
    assert tx_db(guichet, t["id"])[0] == "pending"


# ------------------------------------------------------------ lockout

def locked_until(g, cus):
    return g.sql_value(f"SELECT to_char(locked_until AT TIME ZONE 'UTC', {TS})"
                       " FROM customers WHERE id = %s", cus)


def lock_by_wrong_codes(g, rp, cus, pin, phone):
    for i in range(6):
        r = rp.post(g.url("/v1/authn/verify"), timeout=30,
                    json={"customer_id": cus, "pin": pin,
                          "otp": wrong_code(phone.totp(), phone.totp(time.time() + 30),
                                            phone.totp(time.time() - 30))})
        assert r.status_code == (423 if i >= 5 else 401), (i, r.text)


def test_each_lock_says_when_it_ends_and_a_permanent_one_says_call(messaging):
    g, box, rx = messaging, messaging.mailbox, messaging.receiver
    name = f"rp-locks-{time.time_ns()}"
    out = g.cli("apikey", "create", "--name", name, "--webhook", rx.url(name))
    g.secrets.update({out["key"], out["webhook_secret"]})
    rx.secrets[name] = out["webhook_secret"]
    rp = requests.Session()
    rp.headers["Authorization"] = f"Bearer {out['key']}"
    s = start_enrolment(g)
    phone, done = complete(g, s, pin="613904")
    cus, code = done["customer_id"], done["assurance_code"]
    keep_code(g, code)

    def lock_events(n):
        """The first @n customer.locked events for cus, once there are @n."""
        return wait_until(lambda: (lambda e: e if len(e) >= n else None)(
            [d["event"]["data"] for d in rx.got(name, "customer.locked")
             if d["verified"] and d["event"]["data"]["customer_id"] == cus]),
            what=f"{n} lock events")

    # first lock: lockout_base_s (15 minutes)
    lock_by_wrong_codes(g, rp, cus, "613904", phone)
    first = locked_until(g, cus)
    m = box.wait_for(s.email, "Your access is locked")[0]
    assert f"It unlocks by itself on {first[:10]} at {first[11:16]} UTC." in m.text
    assert last_code(m) == code
    assert lock_events(1)[0]["unlocks_at"] == first

    # the lock ends (its time passes); locked_at stays as it was, yet the
    # next lock -- twice as long -- is told too
    g.sql("UPDATE customers SET locked_until = now() - interval '1 second' WHERE id = %s", cus)
    lock_by_wrong_codes(g, rp, cus, "613904", phone)
    second = locked_until(g, cus)
    assert second > first
    assert g.sql_value("SELECT round(extract(epoch FROM locked_until - locked_at))"
                       " FROM customers WHERE id = %s", cus) == 1800
    m = box.wait_for(s.email, "Your access is locked", n=2)[1]
    assert f"It unlocks by itself on {second[:10]} at {second[11:16]} UTC." in m.text
    assert lock_events(2)[1]["unlocks_at"] == second

    # a permanent lock (lockout_permanent = 1 writes infinity): no end to tell
    assert g.cli("customer", "unlock", "--customer", cus)
    g.sql("UPDATE customers SET locked_at = now(), locked_until = 'infinity',"
          " lockouts = lockouts + 1 WHERE id = %s", cus)
    m = box.wait_for(s.email, "Your access is locked", n=3)[2]
    assert "Call your bank to unlock it." in m.text and "unlocks by itself" not in m.text
    events = lock_events(3)
    assert events[2]["unlocks_at"] is None and len(events) == 3
    assert g.sql_value("SELECT count(*) FROM outbox WHERE customer_id = %s"
                       " AND kind = 'account_locked'", cus) == 3
