# SPDX-License-Identifier: AGPL-3.0-or-later
"""The applicant's form as people fill it (issue 14, "Applicants"): every
invalid field named in one answer, phone numbers typed the national way,
the document's own data offered back when it differs from what was typed,
and the customer reference made for people.  Each test looks at the answer
and at the rows it changed (or did not)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import assert_error  # noqa: E402
from test_enrolments import applicant, body_for, count, start  # noqa: E402


def stored_phone(guichet, eid):
    return guichet.sql_value("SELECT applicant->>'phone' FROM enrolments WHERE id = %s", eid)


# ------------------------------------------------------------ every field at once

def test_every_invalid_field_in_one_answer(guichet):
    good = body_for(applicant())
    a = dict(good["applicant"], surname="", given_names="", email="not-an-email",
             phone="12", birth_date="1974-13-40", nationality="fr")
    before = (count(guichet), count(guichet, "applicant_sessions"))
    s, r = start(guichet, {"applicant": a, "document": {"mrz": ""}})
    b = assert_error(r, 400, "invalid_field")
    assert b["fields"] == ["applicant.given_names", "applicant.surname",
                           "applicant.birth_date", "applicant.nationality",
                           "applicant.email", "applicant.phone", "document.mrz"], b
    assert b["field"] == "applicant.given_names", "the first keeps the one-field form"
    assert "7 fields" in b["error"]["message"]
    assert (count(guichet), count(guichet, "applicant_sessions")) == before
    assert "Set-Cookie" not in r.headers


def test_one_invalid_field_is_a_list_of_one(guichet):
    good = body_for(applicant())
    s, r = start(guichet, {"applicant": dict(good["applicant"], email="x@y"),
                           "document": good["document"]})
    b = assert_error(r, 400, "invalid_field")
    assert b["fields"] == ["applicant.email"] and b["field"] == "applicant.email"


# ------------------------------------------------------------ phone numbers

def test_national_phone_numbers_are_read_for_the_residence_country(guichet):
    cases = [
        ("FRA", "06 12 34 56 78", "+33612345678"),
        ("FRA", "06.12.34.56.78", "+33612345678"),
        ("FRA", "+33 (0)6 12 34 56 78", "+33612345678"),
        ("FRA", "0033 6 12 34 56 78", "+33612345678"),
        ("DEU", "0151 2345 6789", "+4915123456789"),
        ("ITA", "312 345 6789", "+393123456789"),
        ("HUN", "06 30 123 4567", "+36301234567"),
        ("USA", "(202) 555-0143", "+12025550143"),
        ("USA", "1 202 555 0143", "+12025550143"),
        ("GBR", "07700 900123", "+447700900123"),
        ("CHE", "078 123 45 67", "+41781234567"),
        ("BEL", "+32 470 12 34 56", "+32470123456"),
    ]
    for residence, typed, e164 in cases:
        a = applicant(residence_country=residence, phone=typed)
        s, r = start(guichet, body_for(a))
        assert r.status_code == 201, (residence, typed, r.text)
        assert stored_phone(guichet, r.json()["id"]) == e164, (residence, typed)


def test_phone_that_cannot_be_placed_is_refused(guichet):
    for residence, typed in [("FRA", "06 12"), ("FRA", "06-12-ab-56-78"),
                             ("SRB", "064 123 4567"),   # no national plan known
                             ("FRA", "+33 6 12 34 56 78 90 12 34"),
                             ("FRA", "+0612345678")]:
        before = count(guichet)
        a = applicant(residence_country=residence, phone=typed)
        s, r = start(guichet, body_for(a))
        b = assert_error(r, 400, "invalid_field")
        assert b["fields"] == ["applicant.phone"], (typed, b)
        assert count(guichet) == before


# ------------------------------------------------------------ the MRZ as pasted

def test_mrz_on_one_line_or_in_lower_case_is_read(guichet):
    for how in ("one_line", "lower", "one_line_blank", "lower_td1"):
        a = applicant()
        b = body_for(a, kind="td1" if how == "lower_td1" else "td3")
        m = b["document"]["mrz"]
        if how == "one_line":
            m = m.replace("\n", "")
        elif how == "one_line_blank":
            m = "  " + m.replace("\n", " ") + "\n"
        else:
            m = m.lower()
        s, r = start(guichet, {"applicant": a, "document": {"mrz": m}})
        assert r.status_code == 201, (how, r.text)
        assert r.json()["identity"]["decision"] == "pass", (how, r.json())
        assert guichet.sql_value("SELECT state FROM enrolments WHERE id = %s",
                                 r.json()["id"]) == "device"


def corrupt(mrz_text, line, pos):
    lines = mrz_text.split("\n")
    c = lines[line][pos]
    lines[line] = lines[line][:pos] + ("7" if c != "7" else "3") + lines[line][pos + 1:]
    return "\n".join(lines)


def test_check_digit_failure_names_the_field(guichet):
    # TD3 line 2: document number 0-8 (digit 9), birth 13-18 (19), expiry
    # 21-26 (27), personal number 28-41 (42), composite 43.
    for pos, field in [(9, "document_number"), (19, "birth_date"), (27, "expiry_date"),
                       (42, "optional_data"), (43, "composite")]:
        a = applicant()
        b = body_for(a, personal="ZE184226B")
        b["document"]["mrz"] = corrupt(b["document"]["mrz"], 1, pos)
        s, r = start(guichet, b)
        assert r.status_code == 201, r.text
        v = r.json()
        assert v["state"] == "rejected" and v["identity"]["reasons"] == ["mrz_check_digit"], v
        mrz_check = [c for c in v["identity"]["checks"] if c["check"] == "mrz"][0]
        assert mrz_check["field"] == field, (pos, mrz_check)
        stored = guichet.sql_value("SELECT identity_result FROM enrolments WHERE id = %s", v["id"])
        assert "mrz_check_digit" in stored["reasons"]


# ------------------------------------------------------------ typed data against the document

def test_swapped_day_and_month_is_offered_for_correction(guichet):
    import datetime
    a = applicant(birth=datetime.date(1985, 4, 21))
    b = body_for(a, doc_birth=datetime.date(1985, 4, 12))
    before = (count(guichet), count(guichet, "applicant_sessions"), count(guichet, "reviews"))
    s, r = start(guichet, dict(b, on_mismatch="ask"))
    e = assert_error(r, 422, "policy_refused")
    assert e["reasons"] == ["birth_date_mismatch"], e
    assert e["fields"] == ["applicant.birth_date"]
    assert e["document"]["birth_date"] == "1985-04-12"
    assert e["document"]["surname"] == a["surname"] and e["document"]["nationality"] == "FRA"
    assert (count(guichet), count(guichet, "applicant_sessions"), count(guichet, "reviews")) == before
    assert "Set-Cookie" not in r.headers

    # Corrected: it passes, no review.
    a2 = dict(a, birth_date="1985-04-12")
    s, r = start(guichet, dict(body_for(a2, doc_birth=datetime.date(1985, 4, 12)), on_mismatch="ask"))
    assert r.status_code == 201 and r.json()["state"] == "device", r.text
    assert count(guichet, "reviews") == before[2]


def test_mismatch_kept_after_the_offer_goes_to_review(guichet):
    a = applicant()
    b = body_for(a, doc_surname="OTHERNAME")
    s, r = start(guichet, dict(b, on_mismatch="ask"))
    e = assert_error(r, 422, "policy_refused")
    assert e["reasons"] == ["name_mismatch"] and e["document"]["surname"] == "OTHERNAME"
    assert e["fields"] == ["applicant.surname", "applicant.given_names"]
    s, r = start(guichet, dict(b, on_mismatch="review"))
    assert r.status_code == 201 and r.json()["state"] == "identity_review", r.text
    eid = r.json()["id"]
    assert guichet.sql_value("SELECT count(*) FROM reviews WHERE enrolment_id = %s", eid) == 1


def test_without_on_mismatch_the_old_answer_stays(guichet):
    a = applicant()
    s, r = start(guichet, body_for(a, doc_nat="DEU"))
    assert r.status_code == 201 and r.json()["state"] == "identity_review", r.text


def test_a_refused_document_is_not_offered_for_correction(guichet):
    import datetime
    a = applicant()
    b = body_for(a, doc_surname="OTHERNAME", expiry=datetime.date(2020, 1, 1))
    s, r = start(guichet, dict(b, on_mismatch="ask"))
    assert r.status_code == 201 and r.json()["state"] == "rejected", r.text


def test_on_mismatch_must_be_ask_or_review(guichet):
    before = count(guichet)
    s, r = start(guichet, dict(body_for(applicant()), on_mismatch="maybe"))
    e = assert_error(r, 400, "invalid_field")
    assert e["field"] == "on_mismatch"
    assert count(guichet) == before


# ------------------------------------------------------------ what the page shows around the steps

def test_enrolment_info_defaults(guichet):
    import requests
    r = requests.get(guichet.url("/v1/enrolment-info"), timeout=10)
    assert r.status_code == 200, r.text
    v = r.json()
    assert v["app"] == {"name": "Guichet", "app_store_url": None, "play_store_url": None}
    assert v["contact"] == {"email": None, "phone": None, "hours": None}
    assert v["links"] == {"help": None, "privacy": None, "legal": None}
    assert v["review_hours"] == 24 and isinstance(v["session_idle_s"], int)
    assert r.headers["Cache-Control"] == "no-store"


def test_page_links_are_checked_when_the_configuration_loads(guichet):
    for key, value in [("HELP_URL", "javascript:alert(1)"), ("PRIVACY_URL", "https://x.example/\"><b>"),
                       ("APP_STORE_URL", "ftp://apps.example/x"), ("CONTACT_EMAIL", "not an address"),
                       ("APP_NAME", "")]:
        r = guichet.cli_run("migrate", env=guichet.env(**{f"GUICHET_{key}": value}))
        assert r.returncode != 0, (key, r.stdout)
        assert key.lower() in r.stderr + r.stdout, (key, r.stderr)
        assert value not in (r.stderr + r.stdout) or value == "", "a value is never echoed"
    r = guichet.cli_run("migrate", env=guichet.env(GUICHET_HELP_URL="https://bank.example/help",
                                                   GUICHET_CONTACT_EMAIL="help@bank.example"))
    assert r.returncode == 0, r.stderr


# ------------------------------------------------------------ the customer reference for people

def luhn_ok(digits):
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def test_completion_gives_a_reference_for_people(guichet):
    import re
    from test_admin import Admin
    from test_reenrolment import enrol_to_completion
    from test_devices import challenge
    from phone import Phone
    s, v = enrol_to_completion(guichet, body_for(applicant()), "480713")
    c = challenge(guichet, s)
    p = Phone()
    assert p.activate(c["qr_payload"]).status_code == 201
    url = guichet.url(f"/v1/enrolments/{s.eid}")
    assert s.post(url + "/pin", json={"pin": "480713"}, timeout=10).status_code == 200
    assert s.post(url + "/otp-confirm", json={"otp": p.totp()}, timeout=10).status_code == 200
    r = s.post(url + "/credential", json={"kind": "device"}, timeout=10)
    assert r.status_code == 201, r.text
    done = r.json()
    ref, cus = done["customer_reference"], done["customer_id"]
    assert re.fullmatch(r"[1-9][0-9]{9}", ref) and luhn_ok(ref), ref
    assert re.fullmatch(r"cus_[A-Za-z0-9_-]{22}", cus), "the internal id stays for APIs"
    assert guichet.sql_value("SELECT reference FROM customers WHERE id = %s", cus) == ref
    # the enrolment says it again on a reload
    g = s.get(url, timeout=10).json()
    assert g["state"] == "completed" and g["customer_reference"] == ref
    # the back-office's customer answer carries it
    a = Admin(guichet, role="admin").login()
    view = a.get(guichet.url(f"/v1/admin/customers/{cus}"), timeout=10).json()
    assert view["reference"] == ref and view["customer_id"] == cus


def test_references_are_unique_checked_and_given_to_every_customer(guichet):
    import psycopg2
    from conftest import create_customer
    cus = create_customer(guichet).id         # the CLI path gets one too
    ref = guichet.sql_value("SELECT reference FROM customers WHERE id = %s", cus)
    assert luhn_ok(ref) and len(ref) == 10
    assert guichet.sql_value("SELECT count(*) FROM customers WHERE reference IS NULL") == 0
    assert guichet.sql_value("SELECT count(DISTINCT reference) = count(*) FROM customers")
    # the database refuses a copy and a wrong check digit
    wrong = ref[:9] + str((int(ref[9]) + 1) % 10)
    for bad in (ref, wrong, "0" + ref[1:]):
        try:
            guichet.sql("UPDATE customers SET reference = %s WHERE id = (SELECT id FROM customers"
                        " WHERE id <> %s LIMIT 1)", bad, cus)
        except psycopg2.Error:
            continue
        raise AssertionError(f"reference {bad} was accepted")
