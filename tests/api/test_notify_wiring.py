# SPDX-License-Identifier: AGPL-3.0-or-later
"""What the other modules say through notify/ (issues 12, 13, 15, 16), read
where the customer and the relying party read it: e-mail from a real SMTP
relay and signed webhook events from a real receiver (the `messaging`
stack, tests/api/relays.py), besides the rows that queued them.

- a re-enrolment that two staff attach to an existing customer: the
  customer is told at their own address, ending with the code they know,
  and so is the completion's new credential;
- a passkey that becomes a customer's outside the completion (through a
  relying party, or in the enrolment's session once completed) tells
  them; one registered before completion is covered by the welcome;
- a customer from before notify/ is reached at the address of their latest
  enrolment (migration 0014) and, having no assurance code yet, gets one
  drawn with their first message."""
import shutil
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import REPO  # noqa: E402
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
