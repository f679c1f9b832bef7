# SPDX-License-Identifier: AGPL-3.0-or-later
"""Webhooks (issue 15): a relying party's endpoint made with the CLI, the
events a revocation and a lockout send (with the customer's e-mail), the
signature checked by a receiver with its own HMAC code (tests/api/relays.py),
a non-2xx answer retried with the same event id, and events delivered in
order per key, never two at once, by two guichetd instances sharing one
database."""
import json
import sys
import time
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import ARTIFACTS, CliError, Guichetd  # noqa: E402
from helpers import assert_error, unseal, wrong_code  # noqa: E402
from relays import wait_until  # noqa: E402
from test_admin import Admin, post  # noqa: E402
from test_messages import CODE_LINE, complete, keep_code, start_enrolment  # noqa: E402


def make_key(g, name, url=None):
    out = g.cli("apikey", "create", "--name", name, "--webhook",
                url or g.receiver.url(name))
    g.secrets.update({out["key"], out["webhook_secret"]})
    g.receiver.secrets[name] = out["webhook_secret"]
    return out


def events(g, name, type_=None):
    q = ("SELECT e.seq, e.id, e.type, e.state, e.attempts, e.last_status, e.data"
         " FROM webhook_events e JOIN api_keys k ON k.id = e.api_key_id WHERE k.name = %s")
    rows = g.sql(q + (" AND e.type = %s" if type_ else "") + " ORDER BY e.seq",
                 *((name, type_) if type_ else (name,)))
    return [dict(zip(("seq", "id", "type", "state", "attempts", "last_status", "data"), r))
            for r in rows]


def key_id(g, name):
    return g.sql_value("SELECT id FROM api_keys WHERE name = %s", name)


# ------------------------------------------------------------ the CLI

@pytest.mark.parametrize("url", [
    "http://hooks.example.org/guichet",        # http off loopback
    "ftp://127.0.0.1/hook",
    "https://user:secret@hooks.example.org/h",  # credentials in the URL
    "hooks.example.org/guichet",
    "https://",
])
def test_apikey_create_refuses_a_bad_webhook_url_and_makes_no_key(messaging, url):
    g = messaging
    before = g.sql_value("SELECT count(*) FROM api_keys")
    with pytest.raises(CliError) as e:
        g.cli("apikey", "create", "--name", f"bad-{time.time_ns()}", "--webhook", url)
    assert e.value.json["error"]["code"] == "invalid_field", e.value.stdout
    assert "secret" not in e.value.stdout
    assert g.sql_value("SELECT count(*) FROM api_keys") == before


def test_webhook_secret_shown_once_sealed_and_replaced(messaging):
    g = messaging
    name = f"rp-cli-{time.time_ns()}"
    out = g.cli("apikey", "create", "--name", name, "--webhook",
                "https://hooks.example.org/guichet")
    g.secrets.update({out["key"], out["webhook_secret"]})
    assert set(out) == {"name", "key", "webhook_url", "webhook_secret"}
    assert out["webhook_secret"].startswith("whsec_") and len(out["webhook_secret"]) == 49
    kid = key_id(g, name)
    url, env = g.sql("SELECT url, secret_sealed FROM webhook_endpoints WHERE api_key_id = %s",
                     kid)[0]
    assert url == "https://hooks.example.org/guichet"
    assert out["webhook_secret"].encode() not in bytes(env)
    assert unseal(g.keyfile, env, f"webhook:{kid}").decode() == out["webhook_secret"]
    # a new URL comes with a new secret; the old one no longer opens anything
    again = g.cli("apikey", "webhook", "--name", name, "--url", g.receiver.url(name))
    g.secrets.add(again["webhook_secret"])
    assert again["webhook_secret"] != out["webhook_secret"]
    env = g.sql_value("SELECT secret_sealed FROM webhook_endpoints WHERE api_key_id = %s", kid)
    assert unseal(g.keyfile, env, f"webhook:{kid}").decode() == again["webhook_secret"]
    # removed: no endpoint, and events no longer fan out to it
    assert g.cli("apikey", "webhook", "--name", name, "--remove") == {"name": name,
                                                                       "webhook": False}
    assert g.sql_value("SELECT count(*) FROM webhook_endpoints WHERE api_key_id = %s", kid) == 0
    for args, code in ((("--name", name, "--remove"), "not_found"),
                       (("--name", "nobody-here", "--url", "https://x.example/h"),
                        "not_found"),
                       (("--name", name, "--url", "http://x.example/h"), "invalid_field"),
                       (("--name", name), "bad_request")):
        with pytest.raises(CliError) as e:
            g.cli("apikey", "webhook", *args)
        assert e.value.json["error"]["code"] == code, (args, e.value.stdout)


# ------------------------------------------------------------ events

def test_revocation_sends_the_signed_event_and_the_customer_mail(messaging):
    g, rx, box = messaging, messaging.receiver, messaging.mailbox
    name = f"rp-revoke-{time.time_ns()}"
    make_key(g, name)
    s = start_enrolment(g)
    _, done = complete(g, s, pin="380516")
    cus, code = done["customer_id"], done["assurance_code"]
    keep_code(g, code)
    cred = g.sql_value("SELECT id FROM credentials WHERE customer_id = %s", cus)
    a = Admin(g, role="admin").login()
    r = post(g, a, f"/v1/admin/credentials/{cred}/revoke", {"reason": "phone stolen"})
    assert r.status_code == 200, r.text

    d = rx.wait_for(name, "credential.revoked")[0]
    assert d["verified"] and d["content_type"] == "application/json"
    ev = d["event"]
    assert list(ev) == ["id", "type", "created_at", "data"], ev
    assert ev["data"] == {"customer_id": cus, "credential_id": cred}
    assert ev["id"].startswith("evt_") and ev["created_at"].endswith("Z")
    assert "phone stolen" not in d["raw"].decode() and code not in d["raw"].decode()
    row = wait_until(lambda: [e for e in events(g, name, "credential.revoked")
                              if e["state"] == "delivered"], what="delivered")[0]
    assert row["id"] == ev["id"] and row["attempts"] == 1 and row["last_status"] == 200

    m = box.wait_for(s.email, "removed from your account")[0]
    assert "a phone or an authenticator app" in m.text
    assert CODE_LINE.search(m.text).group(1) == code


def test_lockout_sends_one_mail_and_one_event(messaging):
    g, rx, box = messaging, messaging.receiver, messaging.mailbox
    name = f"rp-lock-{time.time_ns()}"
    key = make_key(g, name)["key"]
    s = start_enrolment(g, lang="fr")
    phone, done = complete(g, s, pin="491627")
    cus, code = done["customer_id"], done["assurance_code"]
    keep_code(g, code)
    h = {"Authorization": f"Bearer {key}"}
    for i in range(7):
        r = requests.post(g.url("/v1/authn/verify"), headers=h, timeout=30,
                          json={"customer_id": cus, "pin": "491627",
                                "otp": wrong_code(phone.totp(), phone.totp(time.time() + 30),
                                                  phone.totp(time.time() - 30))})
        assert r.status_code == (423 if i >= 5 else 401), (i, r.text)
    d = rx.wait_for(name, "customer.locked")[0]
    assert d["verified"] and d["event"]["data"]["customer_id"] == cus
    # a temporary lock (lockout_base_s, 15 minutes): when it ends
    until = g.sql_value("SELECT to_char(locked_until AT TIME ZONE 'UTC',"
                        " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM customers WHERE id = %s", cus)
    assert d["event"]["data"]["unlocks_at"] == until
    m = box.wait_for(s.email, "Votre accès est bloqué")[0]
    day, hour = until[:10].split("-"), until[11:16]
    assert (f"Elle se débloquera d'elle-même le {day[2]}/{day[1]}/{day[0]} à {hour} UTC."
            in m.text), m.text
    assert CODE_LINE.search(m.text).group(1) == code
    time.sleep(1)       # nothing more comes for the attempts after the lock
    assert len(box.to(s.email, "Votre accès est bloqué")) == 1
    assert len(events(g, name, "customer.locked")) >= 1
    assert [e["data"]["customer_id"] for e in events(g, name, "customer.locked")].count(cus) == 1
    assert g.sql_value("SELECT count(*) FROM outbox WHERE customer_id = %s"
                       " AND kind = 'account_locked'", cus) == 1


def test_a_non_2xx_answer_is_retried_with_the_same_id(messaging):
    g, rx = messaging, messaging.receiver
    name = f"rp-retry-{time.time_ns()}"
    make_key(g, name)
    rx.plan[name] = [500, 503]
    kid = key_id(g, name)
    # the function the domain's transactions call (migration 0014)
    g.sql("SELECT notify_queue_event('customer.locked', %s, %s::jsonb)", kid,
          json.dumps({"customer_id": "cus_retry", "locked_at": "2026-01-01T00:00:00Z"}))
    wait_until(lambda: events(g, name)[0]["state"] == "delivered", what="delivered")
    got = [d for d in rx.deliveries if d["name"] == name]
    assert [d["status"] for d in got] == [500, 503, 200]
    assert len({d["event"]["id"] for d in got}) == 1 and all(d["verified"] for d in got)
    assert len({d["raw"] for d in got}) == 1, "the body is the same bytes every time"
    e = events(g, name)[0]
    assert (e["attempts"], e["last_status"]) == (3, 200)


def test_events_in_order_per_key_by_two_instances_never_two_at_once(messaging):
    g, rx = messaging, messaging.receiver
    names = [f"rp-order-{i}-{time.time_ns()}" for i in range(2)]
    for n in names:
        make_key(g, n)
    other = Guichetd(g.cluster, g.keyfile, ARTIFACTS / "messages-b-guichetd.log",
                     env=g.server.extra_env)
    other.start()
    try:
        rx.delay = 0.03
        overlaps = rx.overlaps
        for i in range(12):
            for n in names:
                g.sql("SELECT notify_queue_event('customer.locked', %s, %s::jsonb)",
                      key_id(g, n), json.dumps({"customer_id": f"cus_{i:03d}"}))
        wait_until(lambda: all(e["state"] == "delivered" for n in names
                               for e in events(g, n)), timeout=60, what="all delivered")
    finally:
        rx.delay = 0
        other.stop()
    assert rx.overlaps == overlaps, "two deliveries for one key at once"
    for n in names:
        rows = events(g, n)
        got = [d["event"]["id"] for d in rx.got(n)]
        assert got == [e["id"] for e in rows], "each once, in the order queued"
        assert [d["event"]["data"]["customer_id"] for d in rx.got(n)] == \
            [f"cus_{i:03d}" for i in range(12)]


def test_a_secret_moved_to_another_key_does_not_open_and_nothing_is_sent(messaging):
    g, rx = messaging, messaging.receiver
    a, b = (f"rp-moved-{i}-{time.time_ns()}" for i in range(2))
    make_key(g, a)
    make_key(g, b)
    # someone with database access copies a's sealed secret onto b's row
    g.sql("UPDATE webhook_endpoints SET secret_sealed = (SELECT secret_sealed FROM"
          " webhook_endpoints WHERE api_key_id = %s) WHERE api_key_id = %s",
          key_id(g, a), key_id(g, b))
    g.sql("SELECT notify_queue_event('customer.locked', %s, '{\"customer_id\": \"cus_m\"}')",
          key_id(g, b))
    e = wait_until(lambda: (lambda x: x if x and x[0]["attempts"] >= 2 else None)(
        events(g, b)), what="two failed attempts")[0]
    assert e["state"] in ("pending", "failed") and e["last_status"] is None
    assert g.sql_value("SELECT last_error FROM webhook_events WHERE seq = %s",
                       e["seq"]) == "the webhook secret does not open"
    assert rx.got(b, ok_only=False) == [], "nothing was sent unsigned or signed wrongly"
