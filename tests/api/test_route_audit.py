# SPDX-License-Identifier: AGPL-3.0-or-later
"""A security audit of the routes added most recently (the Guichet app's
files, what the enrolment page shows, the assurance code from the
applicant, the phone and support staff, review assignment, the audit
export, customer search and the delivery queue), route by route: who may
call (no credentials 401, the wrong staff role 403, another
applicant's session, another customer's phone or an API key refused as
API.md says), what a stranger or an applicant can make grow, what the
answers say about other people (nothing; no answer that tells an existing
id from an unknown one where that would reveal something), and bad input
(wrong types, over-long strings, unknown ids, malformed JSON, the wrong
Content-Type): a clear JSON 4xx and nothing changed in the database.

Every refusal is checked against a target that the same request, allowed,
would change (an open review, a customer with a code, a failed message),
so a missing check fails a test.  One stack (conftest.py) serves the whole
file; staff of each role log in once."""
import json
import sys
import time
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import assert_error, raw_http  # noqa: E402
from test_admin import Admin  # noqa: E402
from test_devices import activated  # noqa: E402
from test_messages import complete, customer_code, start_enrolment  # noqa: E402
from test_review_work import identity_review  # noqa: E402

ROLES = ("reviewer", "advisor", "support", "admin")
JSON = {"Content-Type": "application/json"}


# ------------------------------------------------------------------ fixtures

class Staff:
    """A logged-in staff member: the requests.Session and the account."""

    def __init__(self, g, role):
        self.g = g
        self.admin = Admin(g, role)
        self.username = self.admin.username
        self.s = self.admin.login()

    def call(self, method, path, body=None, csrf=True, **kw):
        h = dict(kw.pop("headers", {}))
        if csrf:
            h["X-CSRF-Token"] = self.s.csrf
        if body is not None:
            kw["json"] = body
        return self.s.request(method, self.g.url(path), headers=h, timeout=30, **kw)


@pytest.fixture(scope="module")
def staff(guichet):
    return {role: Staff(guichet, role) for role in ROLES}


@pytest.fixture(scope="module")
def customers(guichet):
    """Two customers who completed an enrolment with a phone (and an
    e-mail address, so a code change queues a message)."""
    out = []
    for pin in ("715293", "826304"):
        s = start_enrolment(guichet)
        phone, done = complete(guichet, s, pin=pin)
        guichet.secrets.add(done["assurance_code"])
        out.append((done["customer_id"], phone, done["assurance_code"]))
    return out


def audit_count(g, action=None, actor=None):
    return g.sql_value("SELECT count(*) FROM audit_log WHERE (%s::text IS NULL OR action = %s)"
                       " AND (%s::text IS NULL OR actor = %s)", action, action, actor, actor)


def outbox_count(g, customer_id=None):
    return g.sql_value("SELECT count(*) FROM outbox WHERE %s::text IS NULL OR customer_id = %s",
                       customer_id, customer_id)


def contact_row(g, cus):
    return g.sql("SELECT assurance_sealed, assurance_set_at, assurance_set_by"
                 " FROM customer_contacts WHERE customer_id = %s", cus)


def failed_message(g, cus):
    """The welcome message of customer @cus, marked failed for good (the
    main stack delivers nothing, so it waits; a failed one is what staff
    may put back).  @return its API id."""
    oid = g.sql_value("SELECT id FROM outbox WHERE customer_id = %s AND kind = 'welcome'", cus)
    g.sql("UPDATE outbox SET state = 'failed', attempts = 5, failed_at = now(),"
          " last_error = 'planted by test_route_audit' WHERE id = %s", oid)
    return f"msg_{oid}"


def outbox_row(g, mid):
    return g.sql("SELECT state, attempts, failed_at IS NOT NULL FROM outbox WHERE id = %s",
                 int(mid[4:]))[0]


BAD_JSON_BODIES = [
    # (raw body, Content-Type, status, code)
    ("{", "application/json", 400, "malformed_json"),
    ("[]", "application/json", 400, "malformed_json"),
    ('"code"', "application/json", 400, "malformed_json"),
    ('{"code": "ABCDEF", "code": "ABCDEF"}', "application/json", 400, "malformed_json"),
    ('{"code": "ABCDEF"}', "text/plain", 415, "unsupported_media_type"),
    ('{"code": "ABCDEF"}', "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    ('{"code": "' + "A" * 2000 + '"}', "application/json", 413, "body_too_large"),
]


# ------------------------------------------------------------------ GET /app/*

def test_app_files_have_fixed_types_and_nothing_else_is_reachable(guichet):
    for name, ctype in (("api.js", "text/javascript"), ("i18n.js", "text/javascript"),
                        ("payload.js", "text/javascript"), ("scan.js", "text/javascript"),
                        ("scan_worker.js", "text/javascript"), ("store.js", "text/javascript"),
                        ("tt.js", "text/javascript"), ("icon-512.png", "image/png")):
        r = requests.get(guichet.url("/app/" + name), timeout=10)
        assert r.status_code == 200, name
        assert r.headers["Content-Type"].startswith(ctype), (name, r.headers["Content-Type"])
        assert r.headers["X-Content-Type-Options"] == "nosniff"
    # HEAD answers the headers of GET, no body; a query string changes nothing
    r = requests.head(guichet.url("/app/app.js"), timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/javascript")
    assert r.content == b""
    assert requests.get(guichet.url("/app/app.js?f=../../etc/passwd"), timeout=10).text == \
        requests.get(guichet.url("/app/app.js"), timeout=10).text
    # a file that exists but is not served answers exactly as one that does not
    refused = requests.get(guichet.url("/app/package.json"), timeout=10)
    missing = requests.get(guichet.url("/app/nothing-here.json"), timeout=10)
    assert_error(refused, 404, "not_found")
    assert refused.content == missing.content


@pytest.mark.parametrize("target", [
    "/app/../enrol/index.html", "/app/%2e%2e/enrol/index.html", "/app/%2E%2E%2Fenrol%2Findex.html",
    "/app/..%5Cenrol%5Cindex.html", "/app//etc/passwd", "/app/%2Fetc%2Fpasswd",
    "/app/vendor/../app.js", "/app/vendor/..%2F..%2Fenrol%2Findex.html", "/app/vendor",
    "/app/vendor/", "/app/.", "/app/..",
    "/app/" + "a" * 62 + ".js", "/app/app.js/", "/app/APP.JS", "/app/app.js.bak",
])
def test_app_paths_out_of_the_folder_are_json_404(guichet, target):
    """Sent as typed (no client-side normalisation of '..')."""
    r = raw_http(guichet.base_url, f"GET {target} HTTP/1.1\r\nHost: audit\r\nConnection: close")
    assert_error(r, 404, "not_found")
    assert b"<html" not in r.content.lower() and b"root:" not in r.content


def test_a_nul_in_the_url_cuts_nothing_short(guichet, staff):
    """%00 is not the end of a path or a value: "/app/index.html%00.js"
    is not index.html (a cache in front, keyed on the extension, would
    keep an HTML page as a script, or a staff answer as a public file)."""
    adm = staff["admin"]
    cookie = adm.s.cookies["guichet_admin"]
    for target in ("/app/index.html%00.js", "/app/app.js%00", "/app/app.js%00.css",
                   "/app/vendor/jsQR.js%00.png"):
        r = raw_http(guichet.base_url, f"GET {target} HTTP/1.1\r\nHost: audit\r\n"
                     "Connection: close")
        assert_error(r, 404, "not_found")
    for target in ("/v1/admin/outbox%00.js", "/v1/enrolment-info%00.css"):
        r = raw_http(guichet.base_url, f"GET {target} HTTP/1.1\r\nHost: audit\r\n"
                     f"Cookie: guichet_admin={cookie}\r\nConnection: close")
        assert_error(r, 404, "not_found")
    # nor of a filter: "actor=%00" is not "no filter" (the whole log)
    r = adm.s.get(guichet.url("/v1/admin/audit/export?actor=%00"), timeout=10)
    assert r.status_code == 200 and r.text == "id,at,actor,action,target,details,hash\r\n", r.text
    r = adm.s.get(guichet.url("/v1/admin/customers?q=%00"), timeout=10)
    assert r.status_code == 200 and r.json() == {"customers": []}, r.text


# ------------------------------------------------------------------ GET /v1/enrolment-info

def test_enrolment_info_is_public_and_says_only_what_the_bank_publishes(guichet, api_key):
    sessions = guichet.sql_value("SELECT count(*) FROM applicant_sessions")
    plain = requests.get(guichet.url("/v1/enrolment-info"), timeout=10)
    assert plain.status_code == 200 and "Set-Cookie" not in plain.headers
    v = plain.json()
    assert set(v) == {"app", "contact", "links", "review_hours", "session_idle_s"}
    text = plain.text.lower()
    for word in ("postgres", "database", "key", "secret", "smtp", "password", "/var/", "/tmp/"):
        assert word not in text, word
    # credentials of any kind neither help nor hurt
    for h in ({"Authorization": f"Bearer {api_key}"}, {"Cookie": "guichet_admin=forged"},
              {"Authorization": "Bearer nope"}):
        r = requests.get(guichet.url("/v1/enrolment-info"), headers=h, timeout=10)
        assert r.status_code == 200 and r.json() == v
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        r = requests.request(method, guichet.url("/v1/enrolment-info"), json={}, timeout=10)
        assert_error(r, 405, "method_not_allowed")
        assert "GET" in r.headers["Allow"] and method not in r.headers["Allow"]
    assert guichet.sql_value("SELECT count(*) FROM applicant_sessions") == sessions


# ------------------------------------------------------------------ POST /v1/enrolments/{id}/assurance-code

def enrolment_code_state(g, eid):
    return g.sql("SELECT assurance_sealed, updated_at, state FROM enrolments WHERE id = %s", eid)[0]


def test_enrolment_code_only_for_its_own_session_and_404_alike(guichet, api_key, staff):
    mine, other = start_enrolment(guichet), start_enrolment(guichet)
    before = enrolment_code_state(guichet, mine.eid)
    path = f"/v1/enrolments/{mine.eid}/assurance-code"
    body = {"code": "ABCDEF"}
    refusals = [
        requests.post(guichet.url(path), json=body, timeout=10),                  # no session
        other.post(guichet.url(path), json=body, timeout=10),                     # another's
        requests.post(guichet.url(path), json=body, timeout=10,
                      headers={"Authorization": f"Bearer {api_key}"}),            # an API key
        staff["admin"].call("POST", path, body),                                  # staff
        requests.post(guichet.url(path), json=body, timeout=10,
                      cookies={"guichet_session": "x" * 43}),                     # forged
    ]
    unknown = mine.post(guichet.url("/v1/enrolments/enr_doesnotexist000000000/assurance-code"),
                        json=body, timeout=10)
    for r in refusals + [unknown]:
        assert_error(r, 404, "not_found")
        # one answer whether the enrolment exists or not
        assert r.content == unknown.content, r.text
    assert enrolment_code_state(guichet, mine.eid) == before
    assert before[0] is None
    # the owner may, and it is the owner's enrolment that changes
    assert mine.post(guichet.url(path), json=body, timeout=10).status_code == 200
    assert enrolment_code_state(guichet, mine.eid)[0] is not None
    assert enrolment_code_state(guichet, other.eid)[0] is None


def test_enrolment_code_bad_input_changes_nothing(guichet):
    s = start_enrolment(guichet)
    url = guichet.url(f"/v1/enrolments/{s.eid}/assurance-code")
    before = enrolment_code_state(guichet, s.eid)
    for raw, ctype, status, code in BAD_JSON_BODIES:
        r = s.post(url, data=raw.encode(), headers={"Content-Type": ctype}, timeout=10)
        assert_error(r, status, code)
    for body in ({"code": ["ZYXWVU"]}, {"code": {"v": "ZYXWVU"}}, {"code": True},
                 {"code": 4.5}, {"code": "Z" * 17}, {"code": "Z" * 900}, {"Code": "ZYXWVU"},
                 {"code": "ZYX\u200bWVU"}, {"code": "ÀYXWVU"}, {"code": "ZYXWV"}):
        r = s.post(url, json=body, timeout=10)
        e = assert_error(r, 400, "invalid_field")
        assert "ZYXWV" not in r.text, "a code is never echoed"
        assert e.get("field") in ("code", "Code"), e
    # a NUL is refused by the JSON parser itself
    assert_error(s.post(url, json={"code": "ZYXWV\u0000"}, timeout=10), 400, "malformed_json")
    assert_error(s.post(guichet.url(f"/v1/enrolments/{s.eid}x/assurance-code"),
                        json={"code": "ABCDEF"}, timeout=10), 404, "not_found")
    assert_error(s.post(guichet.url(f"/v1/enrolments/{'e' * 65}/assurance-code"),
                        json={"code": "ABCDEF"}, timeout=10), 404, "not_found")
    assert enrolment_code_state(guichet, s.eid) == before


def test_choosing_the_code_again_and_again_grows_nothing(guichet):
    """What an applicant can repeat without limit replaces one value: no
    row, message or audit entry per call."""
    s = start_enrolment(guichet)
    url = guichet.url(f"/v1/enrolments/{s.eid}/assurance-code")
    outbox, audit = outbox_count(guichet), audit_count(guichet)
    for code in ("ABCDEF", "GHJKLM", "NPQRST", "UVWXYZ", "234567") * 4:
        assert s.post(url, json={"code": code}, timeout=10).status_code == 200
    assert guichet.sql_value("SELECT count(*) FROM outbox WHERE enrolment_id = %s"
                             " AND kind <> 'resume_link'", s.eid) == 0
    assert outbox_count(guichet) == outbox and audit_count(guichet) == audit
    assert "234567" not in guichet.log_text()


# ------------------------------------------------------------------ PUT /v1/devices/{id}/assurance-code

def signed_put(g, phone, device_id, raw, ctype="application/json", as_device=None, ts=None):
    path = f"/v1/devices/{device_id}/assurance-code"
    h = phone.signed_headers("PUT", path, raw, ts=ts)
    if as_device is not None:
        h["Guichet-Device"] = as_device
    h["Content-Type"] = ctype
    return requests.put(g.url(path), data=raw, headers=h, timeout=10)


def code_body(code):
    return json.dumps({"code": code}).encode()


def test_device_code_needs_the_phone_itself(guichet, api_key, staff, customers):
    (cus, phone, code), (other_cus, other, other_code) = customers
    path = f"/v1/devices/{phone.device_id}/assurance-code"
    contact, out = contact_row(guichet, cus), outbox_count(guichet, cus)
    unauth = [
        requests.put(guichet.url(path), json={"code": "ABCDEF"}, timeout=10),
        requests.put(guichet.url(path), json={"code": "ABCDEF"}, timeout=10,
                     headers={"Authorization": f"Bearer {api_key}"}),
        staff["admin"].call("PUT", path, {"code": "ABCDEF"}),
        # signed by the other phone but claiming to be this one
        signed_put(guichet, other, phone.device_id, code_body("ABCDEF"), as_device=phone.device_id),
        # signed over another body
        requests.put(guichet.url(path), data=code_body("ABCDEF"), timeout=10,
                     headers=dict(phone.signed_headers("PUT", path, code_body("GHJKLM")), **JSON)),
        # signed for another path
        requests.put(guichet.url(path), data=code_body("ABCDEF"), timeout=10,
                     headers=dict(phone.signed_headers("PUT", path + "x", code_body("ABCDEF")),
                                  **JSON)),
        # outside the clock window
        signed_put(guichet, phone, phone.device_id, code_body("ABCDEF"),
                   ts=str(int(time.time()) - 600)),
    ]
    unknown_device = signed_put(guichet, phone, phone.device_id, code_body("ABCDEF"),
                                as_device="dev_doesnotexist0000000000")
    for r in unauth + [unknown_device]:
        assert_error(r, 401, "unauthorized")
        assert r.content == unknown_device.content, r.text
    # another customer's phone, signing for itself, on this phone's route:
    # 403, the same whether the target device exists or not
    cross = signed_put(guichet, other, phone.device_id, code_body("ABCDEF"))
    cross_unknown = signed_put(guichet, other, "dev_doesnotexist0000000000", code_body("ABCDEF"))
    assert_error(cross, 403, "forbidden")
    assert cross.content == cross_unknown.content
    assert contact_row(guichet, cus) == contact and outbox_count(guichet, cus) == out
    assert customer_code(guichet, cus) == code and customer_code(guichet, other_cus) == other_code
    # a replayed request is refused and changes nothing
    raw = code_body("MNPQRS")
    h = dict(phone.signed_headers("PUT", path, raw), **JSON)
    assert requests.put(guichet.url(path), data=raw, headers=h, timeout=10).status_code == 200
    guichet.secrets.add("MNPQRS")
    changed = contact_row(guichet, cus)
    out = outbox_count(guichet, cus)
    assert_error(requests.put(guichet.url(path), data=raw, headers=h, timeout=10), 401,
                 "unauthorized")
    assert contact_row(guichet, cus) == changed and outbox_count(guichet, cus) == out
    assert customer_code(guichet, other_cus) == other_code


def test_device_code_bad_input_changes_nothing(guichet, customers):
    cus, phone, _ = customers[1]
    contact, out = contact_row(guichet, cus), outbox_count(guichet, cus)
    for raw, ctype, status, code in BAD_JSON_BODIES:
        r = signed_put(guichet, phone, phone.device_id, raw.encode(), ctype=ctype)
        assert_error(r, status, code)
    for body in ({"code": 123456}, {"code": None}, {}, {"code": ["ABCDEF"]}, {"code": "ABCDE"},
                 {"code": "ABCDEFG"}, {"code": "ABCDE0"}, {"code": "A" * 500},
                 {"code": "ABCDEF", "customer_id": customers[0][0]}):
        r = signed_put(guichet, phone, phone.device_id, json.dumps(body).encode())
        assert_error(r, 400, "invalid_field")
    # an empty body with no Content-Type reads as {}: the code is required
    path = f"/v1/devices/{phone.device_id}/assurance-code"
    r = requests.put(guichet.url(path), data=b"", headers=phone.signed_headers("PUT", path, b""),
                     timeout=10)
    assert_error(r, 400, "invalid_field")
    assert contact_row(guichet, cus) == contact and outbox_count(guichet, cus) == out


def test_a_revoked_phone_no_longer_changes_the_code(guichet, staff):
    """The customer reports the phone lost; support revokes its credential.
    Whoever holds the phone must not then choose the code that proves the
    bank's messages genuine (API.md: a revoked phone also stops signing
    payments)."""
    s = start_enrolment(guichet)
    phone, done = complete(guichet, s, pin="937415")
    cus, code = done["customer_id"], done["assurance_code"]
    guichet.secrets.add(code)
    [cred] = guichet.sql("SELECT id FROM credentials WHERE device_id = %s", phone.device_id)
    r = staff["support"].call("POST", f"/v1/admin/credentials/{cred[0]}/revoke",
                              {"reason": "phone lost, customer called"})
    assert r.status_code == 200, r.text
    contact, out = contact_row(guichet, cus), outbox_count(guichet, cus)
    r = signed_put(guichet, phone, phone.device_id, code_body("HJKLMN"))
    assert_error(r, 403, "forbidden")
    assert customer_code(guichet, cus) == code
    assert contact_row(guichet, cus) == contact and outbox_count(guichet, cus) == out


def test_a_phone_of_no_customer_yet_sets_nothing(guichet):
    s, _, phone, _ = activated(guichet)
    r = signed_put(guichet, phone, phone.device_id, code_body("ABCDEF"))
    assert_error(r, 403, "forbidden")
    assert guichet.sql_value("SELECT assurance_sealed FROM enrolments WHERE id = %s",
                             s.eid) is None
    assert guichet.sql_value("SELECT count(*) FROM outbox WHERE enrolment_id = %s"
                             " AND kind <> 'resume_link'", s.eid) == 0


# ------------------------------------------------------------------ role matrix of the back-office routes

def matrix_cases(g, customers):
    """(method, path, body, roles allowed, state reader) for each staff
    route of the audit; the reader returns what a refused call must leave
    as it was."""
    _, _, rid = identity_review(g)
    cus = customers[0][0]
    mid = failed_message(g, customers[1][0])
    return [
        ("POST", f"/v1/admin/reviews/{rid}/assign", {}, {"reviewer", "admin"},
         lambda: (g.sql("SELECT assigned_to, assigned_at FROM reviews WHERE id = %s", rid),
                  audit_count(g, "review.assign"))),
        ("GET", "/v1/admin/audit/export", None, {"reviewer", "admin"},
         lambda: audit_count(g, "audit.export")),
        ("GET", f"/v1/admin/customers?q={cus}", None, {"support", "admin"}, lambda: None),
        ("PUT", f"/v1/admin/customers/{cus}/assurance-code", {"code": "QRSTUV"},
         {"support", "admin"},
         lambda: (contact_row(g, cus), outbox_count(g, cus),
                  audit_count(g, "customer.assurance_code_change"))),
        ("GET", "/v1/admin/outbox?state=failed", None, {"admin"}, lambda: None),
        ("POST", f"/v1/admin/outbox/{mid}/retry", {}, {"admin"},
         lambda: (outbox_row(g, mid), audit_count(g, "message.retry"))),
    ]


def test_each_staff_route_refuses_who_it_must_and_changes_nothing(guichet, staff, customers,
                                                                  api_key):
    cases = matrix_cases(guichet, customers)
    for method, path, body, allowed, state in cases:
        before = state()
        # no session, an API key, a forged cookie, an applicant session
        applicant = start_enrolment(guichet)
        for kw in ({}, {"headers": {"Authorization": f"Bearer {api_key}"}},
                   {"cookies": {"guichet_admin": "f" * 43}}):
            r = requests.request(method, guichet.url(path), json=body, timeout=10, **kw)
            assert_error(r, 401, "unauthorized")
        assert_error(applicant.request(method, guichet.url(path), json=body, timeout=10),
                     401, "unauthorized")
        for role in ROLES:
            if role in allowed:
                continue
            r = staff[role].call(method, path, body)
            assert_error(r, 403, "forbidden")
            assert "your role" in r.json()["error"]["message"], (role, path)
        if method != "GET":
            # the right role without the CSRF header
            r = staff[sorted(allowed)[0]].call(method, path, body, csrf=False)
            assert_error(r, 403, "forbidden")
        assert state() == before, (method, path)
    # the allowed roles do get through (so each refusal above could fail)
    for method, path, body, allowed, state in cases:
        for role in sorted(allowed):
            before = state()
            r = staff[role].call(method, path, body)
            assert r.status_code == 200, (role, method, path, r.text)
            if method != "GET":
                assert state() != before, (role, method, path)
                if path.endswith("/retry"):
                    break              # put back once; a second is a 409
    guichet.secrets.add("QRSTUV")


def test_a_logged_out_session_is_refused_everywhere(guichet, customers):
    a = Admin(guichet, "admin")
    s = a.login()
    h = {"X-CSRF-Token": s.csrf}
    assert s.post(guichet.url("/v1/admin/logout"), headers=h, timeout=10).status_code in (200, 204)
    cus = customers[0][0]
    for method, path in (("GET", "/v1/admin/outbox"), ("GET", "/v1/admin/audit/export"),
                         ("GET", f"/v1/admin/customers?q={cus}"),
                         ("PUT", f"/v1/admin/customers/{cus}/assurance-code"),
                         ("POST", "/v1/admin/outbox/msg_1/retry"),
                         ("POST", "/v1/admin/reviews/rev_x/assign")):
        r = s.request(method, guichet.url(path), json={} if method != "GET" else None,
                      headers=h, timeout=10)
        assert_error(r, 401, "unauthorized")


# ------------------------------------------------------------------ POST /v1/admin/reviews/{id}/assign

def test_assign_bad_input_changes_nothing(guichet, staff):
    _, _, rid = identity_review(guichet)
    rev = staff["reviewer"]
    path = f"/v1/admin/reviews/{rid}/assign"
    state = lambda: (guichet.sql("SELECT assigned_to, assigned_at, state FROM reviews"  # noqa: E731
                                 " WHERE id = %s", rid), audit_count(guichet, "review.assign"),
                     audit_count(guichet, "review.release"))
    before = state()
    for raw, ctype, status, code in BAD_JSON_BODIES:
        r = rev.s.post(guichet.url(path), data=raw.replace("code", "release").encode(),
                       headers={"Content-Type": ctype, "X-CSRF-Token": rev.s.csrf}, timeout=10)
        assert_error(r, status, code)
    for body in ({"release": "true"}, {"release": 1}, {"release": []}, {"to": rev.username},
                 {"assigned_to": "someone-else"}, {"release": False, "x": 1}):
        assert_error(rev.call("POST", path, body), 400, "invalid_field")
    for other in ("rev_doesnotexist00000000", rid + "x", "r" * 64):
        assert_error(rev.call("POST", f"/v1/admin/reviews/{other}/assign", {}), 404, "not_found")
    assert_error(rev.call("POST", f"/v1/admin/reviews/{'r' * 65}/assign", {}), 404, "not_found")
    assert_error(rev.call("PUT", path, {}), 405, "method_not_allowed")
    assert state() == before
    # nobody can be assigned but oneself
    r = rev.call("POST", path, {})
    assert r.status_code == 200 and r.json()["assigned_to"] == rev.username, r.text


# ------------------------------------------------------------------ GET /v1/admin/audit/export

def test_export_bad_filters_are_400_and_not_audited(guichet, staff):
    rev = staff["reviewer"]
    before = audit_count(guichet, "audit.export")
    for params in ({"since": "yesterday"}, {"until": "2024-01-01"}, {"since": "2024-13-45T25:61:61Z"},
                   {"until": "2024-01-01T00:00:00+0100"}, {"since": "x" * 300}):
        r = rev.s.get(guichet.url("/v1/admin/audit/export"), params=params, timeout=10)
        assert_error(r, 400, "bad_request")
        assert not r.headers["Content-Type"].startswith("text/csv")
    assert audit_count(guichet, "audit.export") == before


def test_export_filters_over_long_or_not_utf8_are_400_and_not_audited(guichet, staff):
    """A filter no actor, action or target can match is refused before it
    is written, whole, into the append-only log as the export's details."""
    rev = staff["reviewer"]
    before = audit_count(guichet, "audit.export")
    for params in ({"actor": "x" * 255}, {"action": "a" * 5000}, {"target": "t" * 255}):
        for route in ("/v1/admin/audit/export", "/v1/admin/audit"):
            r = rev.s.get(guichet.url(route), params=params, timeout=10)
            e = assert_error(r, 400, "bad_request")
            assert "254" in e["error"]["message"], e
    # bytes that are not UTF-8: a 400 that names the filters, not the times
    for query in ("actor=%FF", "target=%C3%28", "action=review%E9"):
        for route in ("/v1/admin/audit/export", "/v1/admin/audit"):
            r = rev.s.get(guichet.url(route + "?" + query), timeout=10)
            e = assert_error(r, 400, "bad_request")
            assert "since" not in e["error"]["message"], e
    assert audit_count(guichet, "audit.export") == before
    assert rev.s.get(guichet.url("/v1/admin/audit/export"), params={"actor": "x" * 254},
                     timeout=10).status_code == 200


def test_export_carries_no_assurance_code(guichet, staff, customers):
    sup = staff["support"]
    cus = customers[0][0]
    r = sup.call("PUT", f"/v1/admin/customers/{cus}/assurance-code", {"code": "WXYZ23"})
    assert r.status_code == 200, r.text
    guichet.secrets.add("WXYZ23")
    r = staff["reviewer"].s.get(guichet.url("/v1/admin/audit/export"),
                                params={"target": cus}, timeout=10)
    assert r.status_code == 200 and "customer.assurance_code_change" in r.text, r.text
    assert "WXYZ23" not in r.text and "WXYZ23" not in guichet.log_text()


# ------------------------------------------------------------------ GET /v1/admin/customers

def test_customer_search_bad_queries_are_400(guichet, staff):
    sup = staff["support"]
    for q in ("", "x" * 255):
        assert_error(sup.s.get(guichet.url("/v1/admin/customers"), params={"q": q}, timeout=10),
                     400, "bad_request")
    assert_error(sup.s.get(guichet.url("/v1/admin/customers"), timeout=10), 400, "bad_request")


def test_customer_search_text_that_is_not_utf8_is_400_not_500(guichet, staff):
    """Bytes that are not UTF-8 are the client's mistake: PostgreSQL
    refuses them as text, and that is not an internal error."""
    sup = staff["support"]
    for q in ("%FF", "%C3%28", "anna%E9%40example.org", "%ED%A0%80"):
        r = sup.s.get(guichet.url("/v1/admin/customers?q=" + q), timeout=10)
        assert_error(r, 400, "bad_request")


def test_customer_search_matches_whole_values_only(guichet, staff, customers):
    sup = staff["support"]
    cus = customers[0][0]
    email = guichet.sql_value("SELECT email FROM customer_contacts WHERE customer_id = %s", cus)
    ref = guichet.sql_value("SELECT reference FROM customers WHERE id = %s", cus)

    def search(q):
        r = sup.s.get(guichet.url("/v1/admin/customers"), params={"q": q}, timeout=10)
        assert r.status_code == 200, (q, r.text)
        return r.json()["customers"]

    assert [c["customer_id"] for c in search(cus)] == [cus]
    for q in ("%", "_", "%%", "cus_%", cus[:-1], cus[:-1] + "_", email[:-1], "%" + email[1:],
              email.split("@")[1], ref[:-1], "*", ".*", "' OR '1'='1"):
        assert search(q) == [], q
    # the answer carries no secret
    text = sup.s.get(guichet.url("/v1/admin/customers"), params={"q": cus}, timeout=10).text
    for word in ("pin", "seed", "secret", "assurance", "sealed", "hash"):
        assert word not in text.lower(), word


# ------------------------------------------------------------------ PUT /v1/admin/customers/{id}/assurance-code

def test_staff_code_change_bad_input_changes_nothing(guichet, staff, customers):
    sup = staff["support"]
    cus = customers[1][0]
    path = f"/v1/admin/customers/{cus}/assurance-code"
    state = lambda: (contact_row(guichet, cus), outbox_count(guichet, cus),  # noqa: E731
                     audit_count(guichet, "customer.assurance_code_change"))
    before = state()
    for raw, ctype, status, code in BAD_JSON_BODIES:
        r = sup.s.put(guichet.url(path), data=raw.encode(),
                      headers={"Content-Type": ctype, "X-CSRF-Token": sup.s.csrf}, timeout=10)
        assert_error(r, status, code)
    for body in ({"code": 123456}, {"code": ["ZYXWVU"]}, {"code": "ZYXWV"}, {"code": "ZYXWVUT"},
                 {"code": "ZYXW01"}, {"code": "ZYXWVI"}, {"code": "Z" * 500}, {"code": ""},
                 {"code": "ZYXWVU", "drawn": True}, {"customer_id": customers[0][0]}):
        r = sup.call("PUT", path, body)
        assert_error(r, 400, "invalid_field")
        assert "ZYXW" not in r.text, "a code is never echoed"
    # an unknown customer: 404, and no contact row made for it
    for other in ("cus_doesnotexist000000000", cus + "x"):
        r = sup.call("PUT", f"/v1/admin/customers/{other}/assurance-code", {"code": "ABCDEF"})
        assert_error(r, 404, "not_found")
        assert contact_row(guichet, other) == []
    assert_error(sup.call("PUT", f"/v1/admin/customers/{'c' * 65}/assurance-code",
                          {"code": "ABCDEF"}), 404, "not_found")
    assert_error(sup.call("POST", path, {"code": "ABCDEF"}), 405, "method_not_allowed")
    assert state() == before


# ------------------------------------------------------------------ GET /v1/admin/outbox

def test_outbox_list_bad_parameters_and_no_bearer_links(guichet, staff):
    adm = staff["admin"]
    for params in ({"state": "lost"}, {"state": ""}, {"state": "failed'--"}, {"limit": "0"},
                   {"limit": "201"}, {"limit": "-1"}, {"limit": "1x"}, {"limit": ""},
                   {"limit": "99999999999999999999"}, {"state": "x" * 5000}):
        r = adm.s.get(guichet.url("/v1/admin/outbox"), params=params, timeout=10)
        assert_error(r, 400, "bad_request")
    # a resume link waits in the queue: staff see that it waits, not the link
    s = start_enrolment(guichet)
    r = requests.post(guichet.url(f"/v1/enrolments/{s.eid}/resume-link"), json={}, timeout=10)
    assert r.status_code in (200, 202), r.text
    [(oid, secret)] = guichet.sql("SELECT id, secret FROM outbox WHERE enrolment_id = %s"
                                  " AND kind = 'resume_link'", s.eid)
    assert secret
    guichet.secrets.add(secret)
    r = adm.s.get(guichet.url("/v1/admin/outbox"), params={"state": "pending", "limit": 200},
                  timeout=10)
    assert r.status_code == 200, r.text
    [row] = [m for m in r.json()["messages"] if m["id"] == f"msg_{oid}"]
    assert secret not in r.text and "#resume" not in r.text and "{{secret}}" not in r.text
    assert not {"body", "params", "secret", "subject"} & set(row), row


# ------------------------------------------------------------------ POST /v1/admin/outbox/{id}/retry

def test_retry_bad_input_and_unknown_ids_change_nothing(guichet, staff, customers):
    adm = staff["admin"]
    cus = customers[0][0]
    mid = failed_message(guichet, cus)
    pending = guichet.sql_value("SELECT id FROM outbox WHERE state = 'pending' ORDER BY id LIMIT 1")
    state = lambda: (outbox_row(guichet, mid),  # noqa: E731
                     guichet.sql("SELECT state, attempts FROM outbox WHERE id = %s", pending),
                     audit_count(guichet, "message.retry"), audit_count(guichet, "webhook.retry"))
    before = state()
    path = f"/v1/admin/outbox/{mid}/retry"
    for raw, ctype, status, code in BAD_JSON_BODIES:
        r = adm.s.post(guichet.url(path), data=raw.encode(),
                       headers={"Content-Type": ctype, "X-CSRF-Token": adm.s.csrf}, timeout=10)
        assert_error(r, status, code)
    for body in ({"force": True}, {"id": mid}, {"state": "pending"}):
        assert_error(adm.call("POST", path, body), 400, "invalid_field")
    for other in ("msg_", "msg_x1", "msg_-1", "msg_1.5", "msg_" + "9" * 19, "msg_999999999999999999",
                  "evt_seq_", "evt_seq_999999999999999999", "evt_1", "1", mid + "0" * 12,
                  "MSG_" + mid[4:]):
        assert_error(adm.call("POST", f"/v1/admin/outbox/{other}/retry", {}), 404, "not_found")
    # a message that waits is not put back again
    assert_error(adm.call("POST", f"/v1/admin/outbox/msg_{pending}/retry", {}), 409,
                 "wrong_state")
    assert_error(adm.call("GET", path), 405, "method_not_allowed")
    assert state() == before
    # an empty body with no Content-Type is {}: the retry itself works, once
    r = adm.s.post(guichet.url(path), headers={"X-CSRF-Token": adm.s.csrf}, timeout=10)
    assert r.status_code == 200 and r.json() == {"id": mid, "state": "pending"}, r.text
    assert outbox_row(guichet, mid) == ("pending", 0, False)
    [(actor, details)] = guichet.sql("SELECT actor, details FROM audit_log WHERE"
                                     " action = 'message.retry' AND target = %s", mid)
    assert actor == adm.username and details == {"kind": "welcome", "customer_id": cus}
    assert_error(adm.call("POST", path, {}), 409, "wrong_state")


# ------------------------------------------------------------------ any query string

def test_query_text_that_is_not_utf8_is_400_on_every_route(guichet, staff):
    """Checked once for every route, after authentication: a review search
    or a token serial of bytes that are not UTF-8 once reached SQL and
    came back as a 500."""
    adm = staff["admin"]
    before = guichet.sql_value("SELECT count(*) FROM audit_log")
    for path in ("/v1/admin/reviews?q=%FF", "/v1/admin/tokens?serial=%C3%28",
                 "/v1/admin/reviews?state=open&q=anna%E9", "/v1/admin/outbox?%FF=1"):
        r = adm.s.get(guichet.url(path), timeout=10)
        e = assert_error(r, 400, "bad_request")
        assert "UTF-8" in e["error"]["message"], e
        # a stranger still learns only that it needs to log in
        assert_error(requests.get(guichet.url(path), timeout=10), 401, "unauthorized")
    r = requests.get(guichet.url("/v1/enrolment-info?lang=%FF"), timeout=10)
    assert_error(r, 400, "bad_request")
    assert guichet.sql_value("SELECT count(*) FROM audit_log") == before
    # the same searches in UTF-8 are answered
    assert adm.s.get(guichet.url("/v1/admin/reviews?q=%C3%A9"), timeout=10).status_code == 200
    assert adm.s.get(guichet.url("/v1/admin/tokens?serial=%C3%A9"), timeout=10).status_code == 200
