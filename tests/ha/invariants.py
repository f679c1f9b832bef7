# SPDX-License-Identifier: AGPL-3.0-or-later
"""invariants -- what must hold in the database (the current primary's)
after a fault, given what the load's clients were told (load.Recorder).

Each check returns a list of violations (strings); the fault tests print
them all and fail on any.

  otp_twice        no TOTP step or HOTP counter was accepted twice: no two
                   clients were told "accepted" for one code, and the same
                   code sent again now is refused (replay probe)
  not_spent        every code a client was told was accepted is spent in
                   the database (credentials.counter covers it) -- after a
                   failover, on the new primary
  audit            the accepted verifies audited per customer during the load
                   (against a baseline taken before it) are at least
                   those acknowledged and at most those plus the attempts
                   whose answer was lost
  attacked         a customer who only ever got wrong codes was never
                   accepted, and one a client saw locked is still locked
  enrolments       no enrolment stuck; each one a client was told is
                   complete is complete, with its customer and an active
                   credential bound to its phone
  polls            the enrolment page's long poll ended "registered" for every
                   phone that activated, through faults
  transactions     no transaction decided twice (transaction_events), every
                   status matches its one decision, each decision a client
                   was told is the stored one, one transaction per
                   Idempotency-Key, and every transaction a client was
                   told was created exists (after a failover: on the new
                   primary)
  server_errors    no answer was a 500
"""
from collections import Counter


def otp_twice(rec):
    out = []
    counts = Counter((k, n) for k, n, _ in rec.accepted)
    for (k, n), c in counts.items():
        if c > 1:
            out.append(f"otp_twice: {k} code {n} accepted {c} times")
    for k, n, outcomes in rec.double:
        out.append(f"otp_twice: {k} code {n} sent twice at once, both accepted ({outcomes})")
    return out


def not_spent(rec, db):
    out = []
    keys = {k for k, _, _ in rec.accepted}
    if not keys:
        return out
    rows = db("SELECT customer_id || '/' || otp_type, counter FROM credentials"
              " WHERE customer_id = ANY(%s) AND state = 'active'",
              [k.split("/")[0] for k in keys])
    counter = dict(rows)
    for k, n, _ in rec.accepted:
        have = counter.get(k)
        need = n + 1 if k.endswith("/hotp") else n
        if have is None or have < need:
            out.append(f"not_spent: {k} code {n} was accepted but the counter is {have}")
    return out


AUDITED = ("SELECT customer_id, count(*) FROM authn_audit WHERE action = 'verify'"
           " AND outcome = 'accepted' GROUP BY 1")


def audit_baseline(db):
    """Accepted verifies audited so far, per customer (before a load)."""
    return dict(db(AUDITED))


def audit(rec, db, baseline):
    out = []
    acked = Counter(k.split("/")[0] for k, _, _ in rec.accepted)
    unsure = Counter(k.split("/")[0] for k, _ in rec.uncertain)
    customers = sorted(set(acked) | set(unsure))
    if not customers:
        return out
    rows = dict(db("SELECT customer_id, count(*) FROM authn_audit WHERE action = 'verify'"
                   " AND outcome = 'accepted' AND customer_id = ANY(%s) GROUP BY 1",
                   customers))
    for c in customers:
        n = rows.get(c, 0) - baseline.get(c, 0)
        if not acked[c] <= n <= acked[c] + unsure[c]:
            out.append(f"audit: customer {c}: {n} accepted verifies audited, clients were told"
                       f" {acked[c]} (+{unsure[c]} answers lost)")
    return out


def attacked(rec, db, creds):
    out = [f"attacked: customer {c} accepted with a wrong code" for c in rec.attacked_accepted]
    locked = list(rec.locks_seen)
    if locked:
        still = {r[0] for r in db("SELECT id FROM customers WHERE id = ANY(%s)"
                                  " AND locked_until > now()", locked)}
        for c in locked:
            if c not in still:
                out.append(f"attacked: customer {c} was answered 423 locked, and is not locked")
    return out


def enrolments(rec, db, unfinished):
    out = [f"enrolments: {eid} stuck: {why}" for eid, why in rec.stuck]
    for en in unfinished:
        out.append(f"enrolments: {en.e.eid or en.e.idem} could not be taken further"
                   f" (state {en.e.state or 'not started'}; steps {en.e.steps})")
    done = [e for e in rec.enrolments.values() if e.completed_ack]
    if not done:
        return out
    rows = {r[0]: r[1:] for r in db(
        "SELECT e.id, e.state, e.customer_id, c.id IS NOT NULL,"
        "       (SELECT count(*) FROM credentials k WHERE k.customer_id = e.customer_id"
        "           AND k.state = 'active' AND k.device_id = e.device_id)"
        "  FROM enrolments e LEFT JOIN customers c ON c.id = e.customer_id"
        " WHERE e.id = ANY(%s)", [e.eid for e in done])}
    for e in done:
        r = rows.get(e.eid)
        if r is None or r[0] != "completed" or r[1] != e.customer_id or not r[2] or r[3] != 1:
            out.append(f"enrolments: {e.eid} was answered completed ({e.customer_id}) but the"
                       f" database has {r}")
    return out


def polls(rec):
    """The enrolment page's long poll ended on "registered" for every phone
    that activated: through the loss of the instance holding it, if any."""
    return [f"long poll: enrolment {eid} ended {seen.get('status', 'unanswered')}"
            f" ({seen['answers']})"
            for eid, seen in rec.polls if seen.get("status") != "registered"]


def transactions(rec, db):
    out = []
    ids = list(rec.transactions)
    for key, seen in rec.idem.items():
        if len(seen) > 1:
            out.append(f"transactions: Idempotency-Key {key} answered {len(seen)} transactions")
    if not ids:
        return out
    for tid, n in db("SELECT transaction_id, count(*) FROM transaction_events"
                     " WHERE event IN ('approved', 'declined', 'expired', 'failed')"
                     "   AND transaction_id = ANY(%s) GROUP BY 1 HAVING count(*) > 1", ids):
        out.append(f"transactions: {tid} decided {n} times")
    rows = db(
        "SELECT t.id, t.status, (SELECT string_agg(event, ',') FROM transaction_events x"
        "   WHERE x.transaction_id = t.id AND x.event IN ('approved', 'declined',"
        "   'expired', 'failed'))"
        "  FROM transactions t WHERE t.id = ANY(%s)", ids)
    for tid in set(ids) - {r[0] for r in rows}:
        out.append(f"transactions: {tid} was answered created, and is not in the database")
    for tid, status, ev in rows:
        if (status == "pending") != (ev is None) or (ev is not None and ev != status):
            out.append(f"transactions: {tid} status {status} but decision events {ev}")
        tx = rec.transactions[tid]
        if tx.decision and tx.decision != status:
            out.append(f"transactions: {tid} a client was told {tx.decision}, the database"
                       f" says {status}")
    keys = [t.idem for t in rec.transactions.values()]
    for key, n in db("SELECT idempotency_key, count(*) FROM transactions"
                     " WHERE idempotency_key = ANY(%s) GROUP BY 1 HAVING count(*) > 1", keys):
        out.append(f"transactions: {n} rows for Idempotency-Key {key}")
    return out


def replay_probe(client, rec, creds, per_customer=2):
    """Send accepted codes again, now: each must be refused.  TOTP codes
    only while their step is still inside the window (afterwards time alone
    refuses them); at most @per_customer per customer (a replay is audited
    but counts no failure).  @return (violations, probes sent)."""
    import time
    by_key = {c.key: c for c in creds}
    sent = Counter()
    out = []
    now = int(time.time()) // 30
    for k, n, _ in sorted(rec.accepted, key=lambda a: -a[1]):
        c = by_key.get(k)
        if c is None or sent[k] >= per_customer:
            continue
        if c.otp_type == "totp" and n < now - 1:
            continue
        sent[k] += 1
        r, cls, code = client.call("probe", "POST", "/v1/authn/verify",
                                   json={"customer_id": c.customer_id, "pin": c.pin,
                                         "otp": c.code(n)})
        if cls == "ok":
            out.append(f"otp_twice: {k} code {n} accepted again by the replay probe")
        elif cls != "refused":
            out.append(f"replay probe: {k} code {n} answered {cls} {code}")
    return out, sum(sent.values())


def server_errors(rec):
    return [f"server_errors: {k} answered {s}: {body}" for k, s, body in rec.server_errors]


def check_all(rec, db, creds, unfinished, baseline):
    """@return (violations, counts of what was checked)."""
    v = []
    v += otp_twice(rec)
    v += not_spent(rec, db)
    v += audit(rec, db, baseline)
    v += attacked(rec, db, creds)
    v += enrolments(rec, db, unfinished)
    v += polls(rec)
    v += transactions(rec, db)
    v += server_errors(rec)
    checked = {
        "accepted_codes": len(rec.accepted),
        "answers_lost": len(rec.uncertain),
        "customers_locked": len(rec.locks_seen),
        "enrolments_started": len(rec.enrolments),
        "enrolments_completed": sum(1 for e in rec.enrolments.values() if e.completed_ack),
        "long_polls": len(rec.polls),
        "long_polls_through_a_fault": sum(1 for _, s in rec.polls
                                          if set(s["answers"]) - {"pending", "registered"}),
        "transactions": len(rec.transactions),
        "transactions_decided": sum(1 for t in rec.transactions.values() if t.decision),
    }
    return v, checked
