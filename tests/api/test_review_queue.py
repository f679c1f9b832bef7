# SPDX-License-Identifier: AGPL-3.0-or-later
"""The open review queue pages past 200 reviews and shows the oldest first
(issue 12, "Retention"): a flood of flagged enrolments must not hide the
review that has waited longest, nor any review at all.

The queue's rows are planted with SQL (250 identity reviews older than any
other in the session), listed page by page over HTTP, and removed
afterwards."""
import secrets
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import assert_error  # noqa: E402
from test_admin import Admin  # noqa: E402

N = 250


@pytest.fixture(scope="module")
def rs(guichet):
    return Admin(guichet, "reviewer").login()


@pytest.fixture
def planted(guichet):
    """N open identity reviews, created one second apart in 2001 (before
    anything else in the database).  @return their ids, oldest first."""
    tag = secrets.token_hex(4)
    guichet.sql(
        "INSERT INTO enrolments (id, state, expires_at, applicant, email, identity_key,"
        " identity_decision)"
        " SELECT 'enr_q' || %s || g, 'identity_review', now() + interval '1 day',"
        "  jsonb_build_object('surname', 'QUEUE' || g, 'given_names', 'ANNA'),"
        "  'anna@example.org', 'k' || %s || g, 'review'"
        " FROM generate_series(1, %s) g", tag, tag, N)
    guichet.sql(
        "INSERT INTO reviews (id, kind, enrolment_id, reasons, four_eyes, created_at)"
        " SELECT 'rev_q' || %s || g, 'identity', 'enr_q' || %s || g,"
        "  '[\"name_mismatch\"]', false,"
        "  timestamptz '2001-01-01 00:00:00Z' + g * interval '1 second'"
        " FROM generate_series(1, %s) g", tag, tag, N)
    ids = [f"rev_q{tag}{g}" for g in range(1, N + 1)]
    yield ids
    guichet.sql("DELETE FROM reviews WHERE id LIKE %s", f"rev_q{tag}%")
    guichet.sql("DELETE FROM enrolments WHERE id LIKE %s", f"enr_q{tag}%")


def page(guichet, rs, **q):
    r = rs.get(guichet.url("/v1/admin/reviews"), params=q, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def test_the_queue_pages_past_200_oldest_first(guichet, rs, planted):
    total = guichet.sql_value("SELECT count(*) FROM reviews WHERE state IN"
                              " ('open', 'awaiting_second_approval')")
    first = page(guichet, rs)                               # state=open, 100 a page
    assert first["total"] == total >= N
    assert [x["id"] for x in first["reviews"]] == planted[:100]
    assert first["next"]
    # every review, once each, oldest first, however many pages
    seen, after = list(first["reviews"]), first["next"]
    while after:
        p = page(guichet, rs, after=after, limit=200)
        assert len(p["reviews"]) <= 200
        seen += p["reviews"]
        after = p["next"]
    ids = [x["id"] for x in seen]
    assert len(ids) == len(set(ids)) == total
    assert ids[:N] == planted
    created = [x["created_at"] for x in seen]
    assert created == sorted(created)
    # a review that arrives while paging is not skipped: it is the newest
    mid = page(guichet, rs, limit=50)
    guichet.sql("UPDATE reviews SET created_at = now() WHERE id = %s", planted[0])
    rest, after = [], mid["next"]
    while after:
        p = page(guichet, rs, after=after, limit=200)
        rest += [x["id"] for x in p["reviews"]]
        after = p["next"]
    assert rest[-1] == planted[0]
    assert guichet.sql_value("SELECT state FROM reviews WHERE id = %s", planted[0]) == "open"


def test_closed_reviews_stay_newest_first(guichet, rs, planted):
    guichet.sql("UPDATE reviews SET state = 'rejected', decided_at = now()"
                " WHERE id = ANY (%s)", planted[:5])
    seen, after = [], None
    while True:
        p = page(guichet, rs, state="rejected", limit=7, **({"after": after} if after else {}))
        seen += p["reviews"]
        after = p["next"]
        if not after:
            break
    created = [x["created_at"] for x in seen]
    assert created == sorted(created, reverse=True)
    assert [x["id"] for x in seen][-5:] == planted[:5][::-1]     # the oldest come last
    assert len(seen) == guichet.sql_value("SELECT count(*) FROM reviews WHERE state = 'rejected'")


def test_bad_paging_is_400(guichet, rs, planted):
    before = guichet.sql_value("SELECT count(*) FROM reviews WHERE state = 'open'")
    for q in ({"limit": "0"}, {"limit": "201"}, {"limit": "ten"}, {"limit": "-1"},
              {"after": "x"}, {"after": "123"}, {"after": ".rev_x"}, {"after": "12.rev x"},
              {"after": "1" * 25 + ".rev"}, {"after": "1.'; DROP TABLE reviews; --"}):
        r = rs.get(guichet.url("/v1/admin/reviews"), params=q, timeout=10)
        assert_error(r, 400, "bad_request")
    assert guichet.sql_value("SELECT count(*) FROM reviews WHERE state = 'open'") == before
