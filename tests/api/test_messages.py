# SPDX-License-Identifier: AGPL-3.0-or-later
"""E-mail (issue 15): what guichetd sends through a real SMTP relay
(aiosmtpd on loopback, tests/api/relays.py), in the applicant's language,
with the headers a mail system expects, the customer's assurance code at
the end of every message to a customer, and the delivery state in the
database: sent only once the relay took it, retried while the relay is
down, failed after the configured attempts, and a bearer link forgotten
once sent."""
import re
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import assert_error, unseal  # noqa: E402
from phone import Phone  # noqa: E402
from relays import wait_until  # noqa: E402
from test_admin import Admin, decide, identity_review, post, review_of  # noqa: E402
from test_devices import challenge  # noqa: E402
from test_enrolments import applicant, body_for  # noqa: E402

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LINE = re.compile(r"Your security code: ([A-Z2-9]{6})\n?$")


def new_email():
    return f"a{int(time.time() * 1e6)}@example.org"


def start_enrolment(g, lang=None, **app):
    a = applicant(email=app.pop("email", None) or new_email(), **app)
    s = requests.Session()
    if lang:
        s.headers["Accept-Language"] = lang
    r = s.post(g.url("/v1/enrolments"), json=body_for(a), timeout=30)
    assert r.status_code == 201, r.text
    s.eid, s.email = r.json()["id"], a["email"]
    return s


def complete(g, s, pin="480713", code=None):
    """Drive enrolment @s to completion with a phone; @return (phone, answer)."""
    url = g.url(f"/v1/enrolments/{s.eid}")
    if code is not None:
        r = s.post(url + "/assurance-code", json={"code": code}, timeout=10)
        assert r.status_code == 200, r.text
    c = challenge(g, s)
    p = Phone()
    assert p.activate(c["qr_payload"]).status_code == 201
    assert s.post(url + "/pin", json={"pin": pin}, timeout=10).status_code == 200
    assert s.post(url + "/otp-confirm", json={"otp": p.totp()}, timeout=10).status_code == 200
    r = s.post(url + "/credential", json={"kind": "device"}, timeout=10)
    assert r.status_code == 201, r.text
    g.secrets.update({pin, p.seed.hex()})
    return p, r.json()


def keep_code(g, code):
    """An assurance code a test saw: never in a log, and in a message only
    as the last line of its own customer's."""
    g.secrets.add(code)
    g.codes.add(code)


def outbox(g, **where):
    cond = " AND ".join(f"{k} = %s" for k in where)
    return g.sql("SELECT id, kind, state, attempts, params, body, sent_at, message_id::text,"
                 " last_error, secret, lang FROM outbox WHERE " + cond + " ORDER BY id",
                 *where.values())


def customer_code(g, cus):
    env = bytes(g.sql_value("SELECT assurance_sealed FROM customer_contacts"
                            " WHERE customer_id = %s", cus))
    return unseal(g.keyfile, env, f"assurance:customer:{cus}").decode()


# ------------------------------------------------------------ applicants

def test_resume_link_is_sent_in_french_with_headers_and_then_forgotten(messaging):
    g, box = messaging, messaging.mailbox
    s = start_enrolment(g, lang="fr-FR,fr;q=0.9,en;q=0.5")
    assert g.sql_value("SELECT lang FROM enrolments WHERE id = %s", s.eid) == "fr"
    r = requests.post(g.url(f"/v1/enrolments/{s.eid}/resume-link"), json={}, timeout=10)
    assert r.status_code == 202, r.text
    m = box.wait_for(s.email, "Poursuivez")[0]

    # headers a mail system expects, and the row's stable Message-ID
    row = wait_until(lambda: [x for x in outbox(g, enrolment_id=s.eid) if x[2] == "sent"],
                     what="the row marked sent")[0]
    assert m["Message-ID"] == f"<{row[7]}@bank.example>"
    assert m["From"] == "guichet@bank.example" and m["To"] == s.email
    assert m["Auto-Submitted"] == "auto-generated"
    assert m["Content-Language"] == "fr" and m["Date"]
    assert m.msg.get_content_type() == "multipart/alternative"
    assert m.mail_from == "guichet@bank.example" and m.rcpt_tos == [s.email]

    # the French text carries a link that works once; the HTML has it too
    assert "ouvrez ce lien dans l'heure" in m.text
    link = re.search(r"(http://\S+/#resume=(enr_[\w-]+)\.([\w-]+))", m.text)
    assert link and link.group(2) == s.eid, m.text
    assert f'<a href="{link.group(1)}">' in m.html and 'lang="fr"' in m.html
    assert "Your security code" not in m.text     # not a customer yet
    fresh = requests.Session()
    r = fresh.post(g.url(f"/v1/enrolments/{s.eid}/resume"), json={"token": link.group(3)},
                   timeout=10)
    assert r.status_code == 200, r.text

    # sent once the relay took it; the link's token (its secret column,
    # never in params) is gone from the database
    _, kind, state, attempts, params, body, sent_at, _, err, secret, lang = row
    assert (kind, state, attempts, lang, secret) == ("resume_link", "sent", 1, "fr", None)
    assert params["link"].endswith(f"#resume={s.eid}.{{{{secret}}}}"), params
    assert body == "" and sent_at is not None and err is None
    assert g.sql_value("SELECT count(*) FROM outbox o WHERE to_jsonb(o)::text LIKE %s",
                       f"%{link.group(3)}%") == 0


def test_english_is_the_default_and_an_unknown_enrolment_sends_nothing(messaging):
    g, box = messaging, messaging.mailbox
    s = start_enrolment(g, lang="de-DE")
    assert g.sql_value("SELECT lang FROM enrolments WHERE id = %s", s.eid) == "en"
    before = g.sql_value("SELECT count(*) FROM outbox")
    r = requests.post(g.url("/v1/enrolments/enr_nobody0000000000000000/resume-link"),
                      json={}, timeout=10)
    assert r.status_code == 202
    assert g.sql_value("SELECT count(*) FROM outbox") == before
    requests.post(g.url(f"/v1/enrolments/{s.eid}/resume-link"), json={}, timeout=10)
    m = box.wait_for(s.email, "Continue your account opening")[0]
    assert m["Content-Language"] == "en" and "within one hour" in m.text


def test_review_outcomes_tell_the_applicant_without_a_reason(messaging):
    g, box = messaging, messaging.mailbox
    admin = Admin(g, role="admin")
    a = admin.login()
    # approved: a link to continue, which starts a session
    s1, eid1 = identity_review(g, email=new_email())
    r = decide(g, a, review_of(g, eid1)["id"], comment="passport checked by phone")
    assert r.status_code == 200, r.text
    email1 = g.sql_value("SELECT email FROM enrolments WHERE id = %s", eid1)
    m = box.wait_for(email1, "can continue")[0]
    token = re.search(r"#resume=" + eid1 + r"\.([\w-]+)", m.text).group(1)
    fresh = requests.Session()
    r = fresh.post(g.url(f"/v1/enrolments/{eid1}/resume"), json={"token": token}, timeout=10)
    assert r.status_code == 200 and r.json()["state"] == "device", r.text
    row = outbox(g, enrolment_id=eid1, kind="review_approved")[0]
    assert row[2] == "sent" and row[9] is None and token not in str(row)

    # rejected: neutral words, no reason, no link, nothing about lists
    s2, eid2 = identity_review(g, email=new_email())
    r = decide(g, a, review_of(g, eid2)["id"], decision="reject",
               comment="name does not match the sanctions entry SDN-1234")
    assert r.status_code == 200, r.text
    email2 = g.sql_value("SELECT email FROM enrolments WHERE id = %s", eid2)
    m = box.wait_for(email2, "Your account opening")[0]
    assert "cannot continue your account opening online" in m.text
    for word in ("sanction", "SDN", "mismatch", "reason", "#resume", "http"):
        assert word.lower() not in m.text.lower(), word
    assert outbox(g, enrolment_id=eid2)[-1][1:3] == ("review_rejected", "sent")


# ------------------------------------------------------------ the code

def test_chosen_code_is_sealed_carried_once_and_ends_the_welcome(messaging):
    g, box = messaging, messaging.mailbox
    s = start_enrolment(g)
    url = g.url(f"/v1/enrolments/{s.eid}/assurance-code")
    # sealed to the enrolment, never in clear, replaced when chosen again
    assert s.post(url, json={"code": "ABCDEF"}, timeout=10).status_code == 200
    r = s.post(url, json={"code": "k7f2q9"}, timeout=10)
    assert r.status_code == 200 and r.json() == {"assurance_code_set": True}, r.text
    env = bytes(g.sql_value("SELECT assurance_sealed FROM enrolments WHERE id = %s", s.eid))
    assert b"K7F2Q9" not in env
    assert unseal(g.keyfile, env, f"assurance:enrolment:{s.eid}") == b"K7F2Q9"
    keep_code(g, "K7F2Q9")

    phone, done = complete(g, s)
    cus = done["customer_id"]
    assert done["assurance_code"] == "K7F2Q9"
    # moved to the customer, bound to them, gone from the enrolment
    assert customer_code(g, cus) == "K7F2Q9"
    assert g.sql_value("SELECT assurance_sealed FROM enrolments WHERE id = %s", s.eid) is None
    c = g.sql("SELECT email, lang, assurance_set_by FROM customer_contacts"
              " WHERE customer_id = %s", cus)[0]
    assert c == (s.email, "en", "applicant")
    # the enrolment view never shows it
    assert "K7F2Q9" not in s.get(g.url(f"/v1/enrolments/{s.eid}"), timeout=10).text

    m = box.wait_for(s.email, "Welcome")[0]
    assert CODE_LINE.search(m.text).group(1) == "K7F2Q9", m.text
    assert cus in m.text and "the codes of the Guichet app on your phone" in m.text
    assert "<strong>Your security code: K7F2Q9</strong>" in m.html
    assert "480713" not in m.text and phone.seed.hex() not in m.text
    row = outbox(g, customer_id=cus, kind="welcome")[0]
    assert row[2] == "sent" and "K7F2Q9" not in str(row)


def test_a_code_is_drawn_when_none_was_chosen(messaging):
    g, box = messaging, messaging.mailbox
    s = start_enrolment(g, lang="fr")
    _, done = complete(g, s, pin="593071")
    code = done["assurance_code"]
    keep_code(g, code)
    assert len(code) == 6 and set(code) <= set(ALPHABET), code
    cus = done["customer_id"]
    assert customer_code(g, cus) == code
    assert g.sql_value("SELECT assurance_set_by FROM customer_contacts WHERE customer_id = %s",
                       cus) == "drawn"
    m = box.wait_for(s.email, "Bienvenue")[0]
    assert m.text.rstrip("\n").endswith(f"Your security code: {code}")
    assert "Votre compte est ouvert" in m.text and m["Content-Language"] == "fr"


def test_bad_codes_are_400_and_change_nothing(messaging):
    g = messaging
    s = start_enrolment(g)
    url = g.url(f"/v1/enrolments/{s.eid}/assurance-code")
    for bad in ("K7F2Q", "K7F2Q90", "K7F2Q0", "K7F2QO", "K7F2Q1", "K7F2QI", "K7 2Q9",
                "ÉÉÉÉÉÉ", ""):
        r = s.post(url, json={"code": bad}, timeout=10)
        assert_error(r, 400, "invalid_field")
        assert r.json()["field"] == "code"
        assert not bad or bad not in r.json()["error"]["message"]
    for body in ({"code": 123456}, {}, {"code": "K7F2Q9", "extra": 1}, {"code": None}):
        assert_error(s.post(url, json=body, timeout=10), 400, "invalid_field")
    assert_error(s.post(url, data="{", headers={"Content-Type": "application/json"},
                        timeout=10), 400, "malformed_json")
    # another browser, without the session, cannot set it
    assert_error(requests.post(url, json={"code": "K7F2Q9"}, timeout=10), 404, "not_found")
    assert g.sql_value("SELECT assurance_sealed FROM enrolments WHERE id = %s", s.eid) is None
    # after completion it is the customer's, changed elsewhere
    _, done = complete(g, s, pin="604182")
    keep_code(g, done["assurance_code"])
    assert_error(s.post(url, json={"code": "K7F2Q9"}, timeout=10), 409, "wrong_state")
    assert customer_code(g, done["customer_id"]) == done["assurance_code"]


def signed_put(g, phone, device_id, body):
    raw = body if isinstance(body, bytes) else __import__("json").dumps(body).encode()
    path = f"/v1/devices/{device_id}/assurance-code"
    h = phone.signed_headers("PUT", path, raw)
    h["Content-Type"] = "application/json"
    return requests.put(g.url(path), data=raw, headers=h, timeout=10)


def test_the_phone_changes_the_code_and_the_customer_is_told(messaging):
    g, box = messaging, messaging.mailbox
    s = start_enrolment(g)
    phone, done = complete(g, s, pin="715293")
    cus, old = done["customer_id"], done["assurance_code"]
    keep_code(g, old)
    keep_code(g, "MNP234")
    r = signed_put(g, phone, phone.device_id, {"code": "mnp234"})
    assert r.status_code == 200, r.text
    assert r.json() == {"device_id": phone.device_id, "assurance_code_set": True}
    assert customer_code(g, cus) == "MNP234"
    assert g.sql_value("SELECT assurance_set_by FROM customer_contacts WHERE customer_id = %s",
                       cus) == "device"
    m = box.wait_for(s.email, "security code was changed")[0]
    assert "from your phone" in m.text and CODE_LINE.search(m.text).group(1) == "MNP234"

    # unsigned, signed by another phone, replayed or malformed: refused, unchanged
    assert_error(requests.put(g.url(f"/v1/devices/{phone.device_id}/assurance-code"),
                              json={"code": "ABCDEF"}, timeout=10), 401, "unauthorized")
    other, _ = complete(g, start_enrolment(g), pin="826304")
    assert_error(signed_put(g, other, phone.device_id, {"code": "ABCDEF"}), 403, "forbidden")
    assert_error(signed_put(g, phone, phone.device_id, {"code": "ABCDE0"}), 400,
                 "invalid_field")
    assert_error(signed_put(g, phone, phone.device_id, b"[]"), 400)
    assert customer_code(g, cus) == "MNP234"


def test_staff_change_the_code_audited_without_it(messaging):
    g, box = messaging, messaging.mailbox
    s = start_enrolment(g)
    _, done = complete(g, s, pin="937415")
    cus = done["customer_id"]
    keep_code(g, done["assurance_code"])
    admin = Admin(g, role="admin")
    a = admin.login()
    path = f"/v1/admin/customers/{cus}/assurance-code"
    h = {"X-CSRF-Token": a.csrf}
    # the customer, on the phone to support, dictates a new one
    r = a.put(g.url(path), json={"code": "QRS789"}, headers=h, timeout=10)
    assert r.status_code == 200 and "QRS789" not in r.text, r.text
    keep_code(g, "QRS789")
    assert customer_code(g, cus) == "QRS789"
    m = box.wait_for(s.email, "security code was changed")[0]
    assert "support staff" in m.text and CODE_LINE.search(m.text).group(1) == "QRS789"
    # or staff draw one that only the customer sees, in that message
    r = a.put(g.url(path), json={}, headers=h, timeout=10)
    assert r.status_code == 200, r.text
    drawn = customer_code(g, cus)
    keep_code(g, drawn)
    assert drawn != "QRS789" and drawn not in r.text
    box.wait_for(s.email, "security code was changed", n=2)
    audit = g.sql("SELECT actor, details::text FROM audit_log WHERE target = %s"
                  " AND action = 'customer.assurance_code_change' ORDER BY id", cus)
    assert [x[0] for x in audit] == [admin.username] * 2
    assert all("QRS789" not in x[1] and drawn not in x[1] for x in audit)
    # the customer view: contact and state of the code, never the code
    v = a.get(g.url(f"/v1/admin/customers/{cus}"), timeout=10)
    assert v.status_code == 200, v.text
    contact = v.json()["contact"]
    assert contact["email"] == s.email and contact["assurance_code_set"] is True
    assert contact["assurance_code_set_by"] == "staff"
    assert {"welcome", "assurance_code_changed"} <= {x["kind"] for x in contact["messages"]}
    assert drawn not in v.text and "QRS789" not in v.text
    # bad input, unknown customer, no CSRF, reviewer role: refused, unchanged
    assert_error(a.put(g.url(path), json={"code": "QRS78"}, headers=h, timeout=10), 400)
    assert_error(a.put(g.url("/v1/admin/customers/cus_nobody/assurance-code"),
                       json={"code": "QRS789"}, headers=h, timeout=10), 404)
    assert_error(a.put(g.url(path), json={"code": "QRS789"}, timeout=10), 403)
    rev = Admin(g, role="reviewer").login()
    assert_error(rev.put(g.url(path), json={"code": "QRS789"},
                         headers={"X-CSRF-Token": rev.csrf}, timeout=10), 403)
    assert customer_code(g, cus) == drawn


def test_the_reference_authenticator_changes_the_code(messaging, tmp_path):
    from test_reference_authenticator import PIN, phone as ref
    g, box = messaging, messaging.mailbox
    s = start_enrolment(g)
    state = tmp_path / "phone.state"
    rc, a = ref(state, "activate", challenge(g, s)["qr_payload"])
    assert rc == 0 and a["status"] == "active", a
    url = g.url(f"/v1/enrolments/{s.eid}")
    assert s.post(url + "/pin", json={"pin": PIN}, timeout=10).status_code == 200
    rc, code = ref(state, "code")
    assert s.post(url + "/otp-confirm", json={"otp": code["otp"]}, timeout=10).status_code == 200
    r = s.post(url + "/credential", json={"kind": "device"}, timeout=10)
    assert r.status_code == 201, r.text
    cus = r.json()["customer_id"]
    keep_code(g, r.json()["assurance_code"])
    rc, out = ref(state, "assurance-code", "23ABCD")
    assert rc == 0 and out == {"device_id": a["device_id"], "assurance_code_set": True}, out
    keep_code(g, "23ABCD")
    assert customer_code(g, cus) == "23ABCD"
    m = box.wait_for(s.email, "security code was changed")[0]
    assert CODE_LINE.search(m.text).group(1) == "23ABCD"
    rc, out = ref(state, "assurance-code", "23ABC0")
    assert rc == 1 and out["error"]["code"] == "invalid_field", out
    assert customer_code(g, cus) == "23ABCD"
