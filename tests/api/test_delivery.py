# SPDX-License-Identifier: AGPL-3.0-or-later
"""Delivery when things go wrong (issue 15): the relay down for a while,
a message refused for good, a relay that keeps saying "later", staff
putting a failed message back, /metrics, two guichetd instances draining
one outbox, and guichetd killed with SIGKILL in the middle of a batch --
every message arrives, a duplicate carries the same Message-ID.  Last, no
secret in the messaging stack's log or in a message it should not be in."""
import json
import re
import signal
import sys
import time
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import ARTIFACTS, Guichetd  # noqa: E402
from helpers import assert_error  # noqa: E402
from relays import wait_until  # noqa: E402
from test_admin import Admin, post  # noqa: E402
from test_messages import (CODE_LINE, complete, keep_code, new_email, outbox,  # noqa: E402
                           start_enrolment)


def resume_link(g, s):
    r = requests.post(g.url(f"/v1/enrolments/{s.eid}/resume-link"), json={}, timeout=10)
    assert r.status_code == 202, r.text
    return wait_until(lambda: outbox(g, enrolment_id=s.eid, kind="resume_link"),
                      what="the queued link")[-1][0]


def row_of(g, oid):
    r = g.sql("SELECT state, attempts, last_error, sent_at, failed_at, params, body,"
              " message_id::text, secret FROM outbox WHERE id = %s", oid)[0]
    return dict(zip(("state", "attempts", "last_error", "sent_at", "failed_at", "params",
                     "body", "message_id", "secret"), r))


def metric(g, name, channel):
    text = requests.get(g.url("/metrics"), timeout=10).text
    m = re.search(rf'^{name}{{channel="{channel}"}} (\d+)$', text, re.M)
    assert m, f"{name} missing from /metrics"
    return int(m.group(1))


def test_the_relay_down_for_a_while_then_back(messaging):
    g, box = messaging, messaging.mailbox
    s = start_enrolment(g)
    box.stop()
    try:
        oid = resume_link(g, s)
        r = wait_until(lambda: (lambda x: x if x["attempts"] >= 2 else None)(row_of(g, oid)),
                       what="two failed attempts")
        assert r["state"] == "pending" and r["sent_at"] is None
        assert "smtp" in r["last_error"] and r["secret"] is not None
        assert metric(g, "guichet_outbox_pending", "email") >= 1
        assert metric(g, "guichet_outbox_oldest_pending_seconds", "email") >= 0
    finally:
        box.start()
    m = box.wait_for(s.email, "Continue your account opening")
    assert len(m) == 1
    r = wait_until(lambda: (lambda x: x if x["state"] == "sent" else None)(row_of(g, oid)),
                   what="sent")
    assert r["attempts"] >= 3 and r["last_error"] is None and r["secret"] is None
    assert m[0]["Message-ID"] == f"<{r['message_id']}@bank.example>"


def test_refused_for_good_then_put_back_by_staff(messaging):
    g, box = messaging, messaging.mailbox
    box.refuse_rcpt = lambda a: a.startswith("refused-")
    try:
        s = start_enrolment(g, email="refused-" + new_email())
        link_row = resume_link(g, s)
        _, done = complete(g, s, pin="257194")
        keep_code(g, done["assurance_code"])
        cus = done["customer_id"]
        welcome = wait_until(lambda: outbox(g, customer_id=cus, kind="welcome"))[0][0]
        for oid in (link_row, welcome):
            r = wait_until(lambda: (lambda x: x if x["state"] == "failed" else None)(
                row_of(g, oid)), what="failed at once")
            assert r["attempts"] == 1 and "550" in r["last_error"] and r["failed_at"]
        # the link in a failed row is forgotten too
        assert row_of(g, link_row)["secret"] is None
        assert "{{secret}}" in row_of(g, link_row)["params"]["link"]
        assert metric(g, "guichet_outbox_failed", "email") >= 2

        admin = Admin(g, role="admin")
        a = admin.login()
        listing = a.get(g.url("/v1/admin/outbox?state=failed"), timeout=10)
        assert listing.status_code == 200, listing.text
        mine = {m["id"]: m for m in listing.json()["messages"]}
        assert {f"msg_{link_row}", f"msg_{welcome}"} <= set(mine)
        assert mine[f"msg_{welcome}"]["recipient"] == s.email
        assert "550" in mine[f"msg_{welcome}"]["last_error"]
        assert "#resume" not in listing.text and done["assurance_code"] not in listing.text
        # a link that was forgotten cannot go again; the welcome can
        assert_error(post(g, a, f"/v1/admin/outbox/msg_{link_row}/retry"), 409, "wrong_state")
        box.refuse_rcpt = None
        r = post(g, a, f"/v1/admin/outbox/msg_{welcome}/retry")
        assert r.status_code == 200 and r.json() == {"id": f"msg_{welcome}", "state": "pending"}
        m = box.wait_for(s.email, "Welcome")[0]
        assert CODE_LINE.search(m.text).group(1) == done["assurance_code"]
        assert wait_until(lambda: row_of(g, welcome)["state"] == "sent")
        assert g.sql_value("SELECT actor FROM audit_log WHERE action = 'message.retry'"
                           " AND target = %s", f"msg_{welcome}") == admin.username
        # bad input changes nothing
        for bad, code in (("msg_x", 404), ("msg_999999999", 404), ("evt_seq_", 404),
                          (f"msg_{welcome}", 409)):
            assert_error(post(g, a, f"/v1/admin/outbox/{bad}/retry"), code)
        assert_error(a.get(g.url("/v1/admin/outbox?state=lost"), timeout=10), 400)
        assert_error(a.get(g.url("/v1/admin/outbox?limit=0"), timeout=10), 400)
        rev = Admin(g, role="reviewer").login()
        assert_error(rev.get(g.url("/v1/admin/outbox"), timeout=10), 403)
    finally:
        box.refuse_rcpt = None


def test_a_relay_that_keeps_saying_later_ends_failed(messaging):
    g, box = messaging, messaging.mailbox
    s = start_enrolment(g)
    box.answer_data = "451 4.3.0 try again later"
    try:
        oid = resume_link(g, s)
        r = wait_until(lambda: (lambda x: x if x["state"] == "failed" else None)(
            row_of(g, oid)), timeout=30, what="failed after the attempts")
    finally:
        box.answer_data = None
    assert r["attempts"] == 5 and "451" in r["last_error"]
    assert box.to(s.email) == []


def test_two_instances_drain_one_outbox_each_message_once(messaging):
    g, box = messaging, messaging.mailbox
    s = start_enrolment(g)
    _, done = complete(g, s, pin="368205")
    cus = done["customer_id"]
    keep_code(g, done["assurance_code"])
    box.wait_for(s.email, "Welcome")
    other = Guichetd(g.cluster, g.keyfile, ARTIFACTS / "messages-b-guichetd.log",
                     env=g.server.extra_env)
    other.start()
    try:
        # the function every domain transaction calls to write to a customer
        for _ in range(30):
            g.sql("SELECT notify_queue_customer_mail(%s, 'assurance_code_changed', %s::jsonb)",
                  cus, json.dumps({"by": "staff"}))
        ids = {r[0] for r in g.sql("SELECT message_id::text FROM outbox WHERE customer_id = %s"
                                   " AND kind = 'assurance_code_changed'", cus)}
        assert len(ids) == 30
        wait_until(lambda: len(box.to(s.email, "security code was changed")) >= 30,
                   timeout=60, what="30 messages")
    finally:
        other.stop()
    got = [m["Message-ID"] for m in box.to(s.email, "security code was changed")]
    assert sorted(got) == sorted(f"<{i}@bank.example>" for i in ids), "each exactly once"


def test_sigkill_mid_batch_every_message_arrives_duplicates_keep_their_id(messaging):
    g, box = messaging, messaging.mailbox
    s = start_enrolment(g)
    _, done = complete(g, s, pin="149063")
    cus = done["customer_id"]
    keep_code(g, done["assurance_code"])
    box.wait_for(s.email, "Welcome")
    box.delay = 0.25
    try:
        for _ in range(8):
            g.sql("SELECT notify_queue_customer_mail(%s, 'identity_reenrolment', '{}'::jsonb)",
                  cus)
        box.wait_for(s.email, "being set up for your account", n=2, timeout=30)
        g.server.proc.send_signal(signal.SIGKILL)
        g.server.proc.wait(10)
        g.server.stop()
    finally:
        box.delay = 0
    g.server.start()
    ids = {r[0] for r in g.sql("SELECT message_id::text FROM outbox WHERE customer_id = %s"
                               " AND kind = 'identity_reenrolment'", cus)}
    wait_until(lambda: {m["Message-ID"] for m in box.to(s.email, "being set up for your account")}
               >= {f"<{i}@bank.example>" for i in ids}, timeout=60, what="all 8")
    wait_until(lambda: g.sql_value("SELECT count(*) FROM outbox WHERE customer_id = %s"
                                   " AND kind = 'identity_reenrolment' AND state = 'sent'",
                                   cus) == 8, what="all marked sent")
    got = box.to(s.email, "being set up for your account")
    assert len(got) > 8, "the batch in flight was not committed: some went twice"
    by_id = {}
    for m in got:
        by_id.setdefault(m["Message-ID"], []).append(m)
    assert set(by_id) == {f"<{i}@bank.example>" for i in ids}
    for dups in by_id.values():
        assert len({d.text for d in dups}) == 1, "a duplicate is the same message"


@pytest.mark.last
def test_no_secret_in_the_messaging_log_or_where_it_does_not_belong(messaging):
    g, box = messaging, messaging.mailbox
    log = g.log_text()
    other = ARTIFACTS / "messages-b-guichetd.log"
    if other.exists():
        log += other.read_text(errors="replace")
    def holds(text, secret):
        """@secret in @text; a secret of digits only (a PIN, an OTP) as a
        number of its own, not inside a longer run of digits such as the
        time-based numbers in the tests' e-mail addresses."""
        if secret.isdigit():
            return re.search(rf"(?<!\d){secret}(?!\d)", text) is not None
        return secret in text

    leaked = [x for x in g.secrets if x and len(x) >= 6 and holds(log, x)]
    assert not leaked, f"secrets in the log: {sorted(leaked)[:5]}"
    assert box.all(), "no message to look at"
    for m in box.all():
        raw = m.raw.decode(errors="replace")
        for secret in g.secrets - g.codes:          # PINs, seeds, OTPs, keys
            if len(secret) >= 6:
                assert not holds(raw, secret) and not holds(m.text, secret), m["Subject"]
        for code in g.codes:   # only as the last line of its customer's messages
            if code in m.text:
                found = CODE_LINE.search(m.text)
                assert found and found.group(1) == code, (m["Subject"], code)
