# SPDX-License-Identifier: AGPL-3.0-or-later
"""Trust in identities (issue 12): the attacks a security review made on
the identity check, each replayed against the real server and database.

- Account takeover by a duplicate identity: knowing a customer's name and
  birth date must never reach that customer.  Only the document a customer
  enrolled with attaches, with four eyes and a message to the customer
  (tests/api/test_reenrolment.py walks the whole lost-phone flow).
- Names that cannot be transliterated (CJK, Greek) must not collapse into
  one key: two people born on the same day are not each other's duplicate.
- Sanctions screening bypassed by punctuation: the MRZ's names are screened
  too, and declared names whose words differ from the MRZ's go to review.
- What the applicant is told: only reasons about what they typed; screening
  and duplicates are the one neutral `manual_check`, with no other
  enrolment's or customer's id.
- Tokenised identifiers: doc_key and identity_key are HMAC-SHA256 under the
  keyring's token key (with its id), not unkeyed SHA-256; the back-office
  sees document numbers masked.
"""
import datetime
import hashlib
import hmac
import json
import random
import secrets
import shutil
import sys
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mrz  # noqa: E402
from harness import ARTIFACTS, REPO, Guichetd  # noqa: E402
from test_admin import Admin, decide, review_of  # noqa: E402
from test_enrolments import SANCTIONED, applicant, body_for  # noqa: E402
from test_reenrolment import finish  # noqa: E402

APPLICANT_REASONS = {"mrz_format", "mrz_check_digit", "name_mismatch",
                     "birth_date_mismatch", "nationality_mismatch",
                     "document_expired", "underage", "manual_check"}
APPLICANT_CHECKS = {"mrz", "name", "birth_date", "nationality", "expiry", "age"}
# OFAC SDN entry 2674: "ABBAS, Abu", DOB 10 Dec 1948.
ABBAS = {"surname": "ABBAS", "given": "ABU", "birth": datetime.date(1948, 12, 10),
         "entry_id": 2674}


# ------------------------------------------------------------------ helpers

def enrol(guichet, body):
    s = requests.Session()
    r = s.post(guichet.url("/v1/enrolments"), json=body, timeout=30)
    assert r.status_code == 201, r.text
    s.eid = r.json()["id"]
    return s, r


def stored(guichet, eid):
    """The enrolment's identity result as the back-office keeps it."""
    return guichet.sql_value("SELECT identity_result FROM enrolments WHERE id = %s", eid)


def token_keys(keyfile):
    """The token keys of a key file: 'token <id> <64 hex>' lines, current first."""
    keys = []
    for line in open(keyfile):
        parts = line.split()
        if len(parts) == 3 and parts[0] == "token":
            keys.append((parts[1], bytes.fromhex(parts[2])))
    return keys


def doc_token(key, state, number):
    """docs/security-identity.md: HMAC-SHA256(token key, "guichet-doc-v1" 0x00
    SHA-256("STATE|NUMBER"))."""
    inner = hashlib.sha256(f"{state}|{number}".encode()).digest()
    return hmac.new(key, b"guichet-doc-v1\x00" + inner, hashlib.sha256).hexdigest()


def identity_token(key, surname_mrz, given_mrz, birth):
    text = f"m:{surname_mrz}|m:{given_mrz}|{birth}"
    return hmac.new(key, b"guichet-identity-v1\x00" + text.encode(),
                    hashlib.sha256).hexdigest()


def docnum(prefix="D"):
    return (prefix + secrets.token_hex(4).upper())[:9]


def assert_applicant_view(identity, text, own_id):
    """Only what the applicant typed or holds, per API.md: no list, no other
    enrolment or customer."""
    assert set(identity["reasons"]) <= APPLICANT_REASONS, identity
    assert {c["check"] for c in identity["checks"]} <= APPLICANT_CHECKS, identity
    text = text.replace(own_id, "")
    for word in ("sanction", "duplicate", "hits", "entry_id", "enr_", "cus_", "sha256:"):
        assert word not in text, (word, text)


# ------------------------------------------------------------------ takeover

def test_same_name_and_birth_date_never_reach_an_existing_customer(guichet, http):
    """Knowing a customer's name and birth date and typing a made-up passport
    used to take the account over after one approval."""
    a = applicant(email="victim@example.org")
    s1, _ = enrol(guichet, body_for(a))
    victim_phone, victim = finish(guichet, s1, "480713")
    guichet.sql("UPDATE customers SET failed_attempts = 5, locked_at = now() WHERE id = %s",
                victim)
    before = guichet.sql("SELECT pin_hash, failed_attempts, locked_at FROM customers"
                         " WHERE id = %s", victim)
    creds_before = guichet.sql("SELECT id, state FROM credentials WHERE customer_id = %s"
                               " ORDER BY id", victim)

    attacker = dict(a, email="attacker@example.org")
    s2, r = enrol(guichet, body_for(attacker))           # another passport number
    assert r.json()["state"] == "identity_review"
    told = r.json()["identity"]["reasons"]
    result = stored(guichet, s2.eid)
    assert result["reasons"] == ["duplicate_identity"], result
    rev = review_of(guichet, s2.eid)
    assert rev["four_eyes"] is False
    rs = Admin(guichet, "reviewer").login()
    detail = rs.get(guichet.url(f"/v1/admin/reviews/{rev['id']}"), timeout=10).json()
    assert detail.get("attach_customer_id") is None, "an identity match never attaches"
    r = decide(guichet, rs, rev["id"], comment="same name, another person")
    assert r.status_code == 200 and r.json()["enrolment_state"] == "device", r.text
    assert r.json().get("attach_customer_id") is None

    _, newcomer = finish(guichet, s2, "592046")
    assert newcomer != victim, "the account was taken over"
    assert told == ["manual_check"], told
    assert guichet.sql_value("SELECT attach_customer_id FROM reviews WHERE id = %s",
                             rev["id"]) is None
    assert guichet.sql("SELECT pin_hash, failed_attempts, locked_at FROM customers"
                       " WHERE id = %s", victim) == before
    assert guichet.sql("SELECT id, state FROM credentials WHERE customer_id = %s"
                       " ORDER BY id", victim) == creds_before
    assert guichet.sql_value("SELECT count(*) FROM outbox WHERE (recipient = 'victim@example.org'"
                             " OR customer_id = %s) AND kind LIKE '%%reenrolment%%'", victim) == 0
    assert guichet.sql_value("SELECT reenrols_customer_id FROM enrolments WHERE id = %s",
                             s2.eid) is None


def test_first_approval_of_a_same_document_review_attaches_nothing(guichet):
    """One approval of a review that would attach leaves everything as it
    was: the enrolment waits, no customer is named on it, no message."""
    a = applicant(email="owner@example.org")
    number = docnum("OWN")
    guichet.secrets.add(number)
    s1, _ = enrol(guichet, body_for(a, docnum=number))
    _, owner = finish(guichet, s1, "480713")
    s2, r = enrol(guichet, body_for(dict(a, email="claim@example.org"), docnum=number))
    assert r.json()["identity"]["reasons"] == ["manual_check"]
    assert owner not in r.text
    rev = review_of(guichet, s2.eid)
    assert rev["four_eyes"] is True
    admin = Admin(guichet, "admin").login()
    listed = {x["id"]: x for x in admin.get(guichet.url("/v1/admin/reviews?kind=identity"),
                                            timeout=10).json()["reviews"]}
    assert listed[rev["id"]]["attach_customer_id"] == owner
    outbox = guichet.sql_value("SELECT count(*) FROM outbox")
    r = decide(guichet, admin, rev["id"], comment="first look")
    assert r.status_code == 200 and r.json()["state"] == "awaiting_second_approval", r.text
    assert r.json()["attach_customer_id"] == owner
    assert guichet.sql("SELECT state, reenrols_customer_id, customer_id FROM enrolments"
                       " WHERE id = %s", s2.eid) == [("identity_review", None, None)]
    assert guichet.sql_value("SELECT count(*) FROM outbox") == outbox
    # the same person cannot give the second approval
    r = decide(guichet, admin, rev["id"], comment="again")
    assert r.status_code == 409, r.text
    assert guichet.sql_value("SELECT state FROM enrolments WHERE id = %s", s2.eid) \
        == "identity_review"


def cjk_name(n=2):
    return "".join(chr(0x4E00 + random.randrange(0x5000)) for _ in range(n))


def test_untransliterable_names_are_not_each_others_duplicates(guichet):
    """CJK or Greek names used to collapse to an empty key: everyone born on
    the same day with such a name was everyone else's duplicate."""
    birth = mrz.adult_birth(random.randrange(20, 60))
    people = [(cjk_name(), cjk_name()), (cjk_name(), cjk_name()),
              ("Παπαδόπουλος", "Νίκος" + secrets.token_hex(2)),
              ("Παπαδάκης", "Γιώργος" + secrets.token_hex(2)),
              ("Anna " + cjk_name(1), "Maria"), ("Anna " + cjk_name(1), "Maria")]
    keys = []
    for surname, given in people:
        a = applicant(surname=surname, given=given, birth=birth)
        s, r = enrol(guichet, body_for(a, doc_surname=mrz.random_surname("DOC"),
                                       doc_given="X"))
        result = stored(guichet, s.eid)
        assert "duplicate_identity" not in result["reasons"], (surname, given, result)
        keys.append(guichet.sql_value("SELECT identity_key FROM enrolments WHERE id = %s",
                                      s.eid))
    assert len(set(keys)) == len(keys), "two different people share an identity key"
    # the same untransliterable name and birth date is still a duplicate
    surname, given = people[0]
    a = applicant(surname=surname, given=given, birth=birth)
    s, r = enrol(guichet, body_for(a, doc_surname=mrz.random_surname("DOC"), doc_given="X"))
    assert "duplicate_identity" in stored(guichet, s.eid)["reasons"]


# ------------------------------------------------------------------ sanctions

def screened_hits(result):
    c = [c for c in result["checks"] if c["check"] == "sanctions"][0]
    return c, {h["entry_id"]: h for h in c["hits"]}


def test_punctuated_names_do_not_escape_screening(guichet):
    """A.B.B.A.S / A.B.U typed against an MRZ reading ABBAS<<ABU passed the
    name check (letters only) and screening saw only initials."""
    a = applicant(surname="A.B.B.A.S", given="A.B.U", birth=ABBAS["birth"])
    s, r = enrol(guichet, body_for(a, doc_surname=ABBAS["surname"], doc_given=ABBAS["given"]))
    v = r.json()
    assert v["state"] == "identity_review", v
    assert v["identity"]["reasons"] == ["name_mismatch", "manual_check"], v
    result = stored(guichet, s.eid)
    assert "sanctions_match" in result["reasons"] and "name_mismatch" in result["reasons"]
    check, hits = screened_hits(result)
    assert check["result"] == "fail" and hits[ABBAS["entry_id"]]["match"], check
    assert "document" in hits[ABBAS["entry_id"]]["screened"], check
    assert review_of(guichet, s.eid)["four_eyes"] is True


def test_mrz_names_are_screened_even_when_the_declared_ones_are_clean(guichet):
    a = applicant(surname=mrz.random_surname("CLEAN"), given="JOHN", birth=ABBAS["birth"])
    s, r = enrol(guichet, body_for(a, doc_surname=ABBAS["surname"], doc_given=ABBAS["given"]))
    result = stored(guichet, s.eid)
    assert "sanctions_match" in result["reasons"], result
    _, hits = screened_hits(result)
    assert hits[ABBAS["entry_id"]]["screened"] == ["document"]


def test_initials_typed_into_the_mrz_too_are_joined_for_screening(guichet):
    """Both sides spelled as single letters: the words agree with each other,
    so only screening the joined letters finds the listed name."""
    a = applicant(surname="A B B A S", given="A B U", birth=ABBAS["birth"])
    s, r = enrol(guichet, body_for(a, doc_surname="A B B A S", doc_given="A B U"))
    result = stored(guichet, s.eid)
    assert "sanctions_match" in result["reasons"], result
    assert r.json()["identity"]["reasons"] == ["manual_check"]


def test_words_agreeing_with_the_mrz_pass(guichet):
    """The word check does not flag ordinary names: hyphens, apostrophes and
    particles as ICAO writes them."""
    for surname, given, doc_s, doc_g in (("O'Neil", "Jean-Pierre", "ONEIL", "JEAN PIERRE"),
                                         ("Müller", "Anna Maria", "MUELLER", "ANNA MARIA"),
                                         ("de la Cruz", "José", "DE LA CRUZ", "JOSE")):
        a = applicant(surname=surname, given=given)
        s, r = enrol(guichet, body_for(a, doc_surname=doc_s, doc_given=doc_g))
        assert "name_mismatch" not in stored(guichet, s.eid)["reasons"], (a, r.text)


# ------------------------------------------------------------------ the applicant

def test_a_listed_name_is_only_a_manual_check_for_the_applicant(guichet):
    """The applicant used to read "Regulatory screening: Failed" and the
    list's reasons; the back-office keeps them."""
    a = applicant(surname=SANCTIONED["surname"], given=SANCTIONED["given_names"],
                  birth=SANCTIONED["birth"])
    s, r = enrol(guichet, body_for(a))
    v = r.json()
    assert v["identity"] == {"decision": "review", "reasons": ["manual_check"],
                             "checks": v["identity"]["checks"]}
    assert_applicant_view(v["identity"], r.text, s.eid)
    g = s.get(guichet.url(f"/v1/enrolments/{s.eid}"), timeout=10)
    assert g.status_code == 200 and g.json()["identity"] == v["identity"]
    assert_applicant_view(g.json()["identity"], g.text, s.eid)
    assert g.json()["review_hours"] == 24 and g.json()["next"] == "wait_for_review"
    result = stored(guichet, s.eid)
    assert "sanctions_match" in result["reasons"]
    _, hits = screened_hits(result)
    assert hits[SANCTIONED["entry_id"]]["match"]


def test_a_duplicate_never_names_another_enrolment_to_the_applicant(guichet):
    a = applicant()
    number = docnum("DUP")
    _, first = enrol(guichet, body_for(a, docnum=number))
    first_id = first.json()["id"]
    s, r = enrol(guichet, body_for(a, docnum=number))
    assert r.json()["identity"]["reasons"] == ["manual_check"], r.json()
    assert first_id not in r.text
    assert_applicant_view(r.json()["identity"], r.text, s.eid)
    g = s.get(guichet.url(f"/v1/enrolments/{s.eid}"), timeout=10)
    assert first_id not in g.text and g.json()["identity"] == r.json()["identity"]
    dup = [c for c in stored(guichet, s.eid)["checks"] if c["check"] == "duplicate"][0]
    assert first_id in dup["enrolments"], "the back-office keeps the other enrolment"


def test_reasons_about_what_was_typed_are_still_told(guichet):
    a = applicant(surname=SANCTIONED["surname"], given=SANCTIONED["given_names"],
                  birth=SANCTIONED["birth"])
    s, r = enrol(guichet, body_for(a, doc_nat="DEU"))
    assert r.json()["identity"]["reasons"] == ["nationality_mismatch", "manual_check"]
    checks = {c["check"]: c["result"] for c in r.json()["identity"]["checks"]}
    assert checks["nationality"] == "fail" and checks["name"] == "pass"
    # a plain pass says nothing about a manual check
    s, r = enrol(guichet, body_for(applicant()))
    assert r.json()["identity"]["reasons"] == [] and "review_hours" not in r.json()


# ------------------------------------------------------------------ tokens

def test_document_and_identity_keys_are_hmacs_under_the_token_key(guichet):
    """doc_key was SHA-256("FRA|<number>"): a 9-digit number falls to brute
    force in minutes.  Now an HMAC under a key of its own, with its id."""
    a = applicant(given="ANNA MARIA")
    number = docnum("TOK")
    guichet.secrets.add(number)
    s, r = enrol(guichet, body_for(a, docnum=number))
    doc_key, doc_key_id, identity_key, identity_key_id = guichet.sql(
        "SELECT doc_key, doc_key_id, identity_key, identity_key_id FROM enrolments"
        " WHERE id = %s", s.eid)[0]
    assert doc_key != hashlib.sha256(f"FRA|{number}".encode()).hexdigest()
    keys = token_keys(guichet.keyfile)
    assert keys, "the key file holds a token key"
    kid, key = keys[0]
    assert doc_key_id == kid and identity_key_id == kid
    assert doc_key == doc_token(key, "FRA", number)
    assert identity_key == identity_token(key, a["surname"], "ANNA<MARIA", a["birth_date"])
    legacy = hashlib.sha256(f"{a['surname']}|ANNA<MARIA|{a['birth_date']}".encode()).hexdigest()
    assert identity_key != legacy


def test_backoffice_sees_the_document_number_masked(guichet):
    number = docnum("MSK")
    guichet.secrets.add(number)
    a = applicant()
    s, r = enrol(guichet, body_for(a, docnum=number, doc_surname=mrz.random_surname("OTHER")))
    assert number not in r.text
    rev = review_of(guichet, s.eid)
    rs = Admin(guichet, "reviewer").login()
    d = rs.get(guichet.url(f"/v1/admin/reviews/{rev['id']}"), timeout=10)
    m = [c for c in d.json()["identity"]["checks"] if c["check"] == "mrz"][0]
    assert m["document_number"] == "******" + number[-3:]
    assert number not in d.text and number[:6] not in d.text
    assert number not in json.dumps(stored(guichet, s.eid))
    assert number not in guichet.log_text()


def legacy_sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def test_migration_rekeys_the_rows_it_can_and_wraps_document_keys(guichet, tmp_path):
    """Rows written before tokenisation hold unkeyed SHA-256 values.  The
    identity key is recomputed from the applicant data; the document key,
    whose number is not kept, is wrapped: HMAC(token key, old SHA-256)."""
    old = tmp_path / "migrations"
    old.mkdir()
    for f in sorted((REPO / "migrations").glob("000[1-8]_*.sql")):
        shutil.copy(f, old / f.name)
    guichet.cluster.create_database("rekey")
    dsn = guichet.cluster.conninfo("rekey")
    guichet.cli("migrate", env=guichet.env(GUICHET_DATABASE_URL=dsn,
                                           GUICHET_MIGRATIONS_DIR=str(old)))
    number, birth = docnum("LEG"), "1980-03-04"
    guichet.secrets.add(number)
    surname = mrz.random_surname("LEGACY")
    app = {"surname": surname, "given_names": "Anna Maria", "birth_date": birth,
           "nationality": "FRA", "residence_country": "FRA", "email": "old@example.org",
           "phone": "+33612345678"}
    legacy_doc = legacy_sha(f"FRA|{number}")
    legacy_id = legacy_sha(f"{surname}|ANNA<MARIA|{birth}")
    sql = lambda q: guichet.cluster.psql(q, dbname="rekey")  # noqa: E731
    sql("INSERT INTO customers (id, pin_hash) VALUES ('cus_legacy', 'x')")
    sql("INSERT INTO enrolments (id, state, expires_at, applicant, email, doc_key,"
        " identity_key, identity_decision, identity_result, customer_id, completed_at)"
        f" VALUES ('enr_legacy', 'completed', now() + interval '1 day', '{json.dumps(app)}',"
        f" 'old@example.org', '{legacy_doc}', '{legacy_id}', 'pass', '{{}}', 'cus_legacy', now())")
    # in flight, linked to that customer by the old name-and-birth-date rule
    sql("INSERT INTO enrolments (id, state, expires_at, applicant, email, identity_key,"
        f" customer_id) VALUES ('enr_inflight', 'device', now() + interval '1 day',"
        f" '{json.dumps(app)}', 'x@example.org', '{legacy_id}', 'cus_legacy')")

    out = guichet.cli("migrate", env=guichet.env(GUICHET_DATABASE_URL=dsn))
    newer = len(list((REPO / "migrations").glob("*.sql"))) - len(list(old.glob("*.sql")))
    assert out["applied"] == newer and out["rekeyed"] == 2, out
    kid, key = token_keys(guichet.keyfile)[0]
    row = sql("SELECT doc_key, doc_key_id, identity_key, identity_key_id, customer_id"
              " FROM enrolments WHERE id = 'enr_legacy'").split("|")
    wrapped = hmac.new(key, b"guichet-doc-v1\x00" + bytes.fromhex(legacy_doc),
                       hashlib.sha256).hexdigest()
    assert row == [wrapped, kid, identity_token(key, surname, "ANNA<MARIA", birth), kid,
                   "cus_legacy"]
    assert wrapped == doc_token(key, "FRA", number), "a wrapped key matches a new one"
    assert sql("SELECT customer_id IS NULL, identity_key_id FROM enrolments"
               " WHERE id = 'enr_inflight'") == f"t|{kid}"
    assert sql("SELECT count(*) FROM enrolments WHERE doc_key = '{0}' OR identity_key = '{1}'"
               .format(legacy_doc, legacy_id)) == "0"
    # again: nothing to do, and a wrapped key is never wrapped twice
    assert guichet.cli("migrate", env=guichet.env(GUICHET_DATABASE_URL=dsn))["rekeyed"] == 0
    assert sql("SELECT doc_key FROM enrolments WHERE id = 'enr_legacy'") == wrapped

    # a row an older guichetd wrote during a rolling upgrade: serve rekeys
    # it at start
    sql("INSERT INTO enrolments (id, state, expires_at, applicant, email, identity_key)"
        f" VALUES ('enr_rolling', 'device', now() + interval '1 day', '{json.dumps(app)}',"
        f" 'y@example.org', '{legacy_id}')")

    # the customer who enrolled before tokenisation comes back with the same
    # passport: the review proposes to attach to them
    srv = Guichetd(guichet.cluster, guichet.keyfile, ARTIFACTS / "api-guichetd-rekey.log",
                   env=dict(guichet.server.extra_env, GUICHET_DATABASE_URL=dsn))
    try:
        srv.start()
        assert sql("SELECT identity_key_id, identity_key FROM enrolments"
                   " WHERE id = 'enr_rolling'") == \
            f"{kid}|{identity_token(key, surname, 'ANNA<MARIA', birth)}"
        a = dict(app, given_names="ANNA MARIA", email="back@example.org")
        body = body_for(a, docnum=number)
        r = requests.post(srv.base_url + "/v1/enrolments", json=body, timeout=30)
        assert r.status_code == 201 and r.json()["state"] == "identity_review", r.text
        eid = r.json()["id"]
        assert sql(f"SELECT attach_customer_id, four_eyes FROM reviews"
                   f" WHERE enrolment_id = '{eid}'") == "cus_legacy|t"
    finally:
        srv.stop()
