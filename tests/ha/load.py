# SPDX-License-Identifier: AGPL-3.0-or-later
"""load -- a steady mixed load through the cluster's HAProxy, written down
request by request, for the fault tests (tests/ha/test_faults.py).

What runs, each in threads of its own, until told to stop:

  verify        PIN + OTP on customers made beforehand: valid TOTP codes
                (each step of the ±1 window once, oldest first), valid HOTP
                codes (hardware tokens enrolled through the API), wrong
                codes, and now and then the same valid code twice at once
                (two connections, so usually two instances).  Some customers
                only ever get wrong codes and lock.
  enrolment     a new applicant all the way: identity, QR challenge, the
                phone's activation, PIN, first OTP, the phone as credential.
  transaction   a relying party's payment (Idempotency-Key), the payer's
                phone approving (signed, ECDSA over T) or declining.

Clients behave as a careful bank's do.  A request that was never sent
(connection refused, a TLS handshake that failed) is sent again, whatever
it is.  A request that may have reached a server which then died (reset,
502, 503, timeout) is sent again only when that is safe: GETs, the
transaction create (same Idempotency-Key), the approval (a decided
transaction answers 409 and its status says what happened), the
enrolment steps (the enrolment's state says where it stands); a verify
is sent once more with the same code, which must be refused if the first
one was accepted.  Every attempt and what each client was finally told
is recorded; invariants.py compares that with the database.
"""
import base64
import hashlib
import json
import random
import secrets
import threading
import time
from dataclasses import dataclass, field

import pyotp
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

import mrz
from helpers import hotp, random_pin, wrong_code
from phone import Phone, parse_tx_payload, unb64u

STEP = 30
IBAN = "FR7630006000011234567890189"
SHOP = "https://shop.example"
NOT_SENT = {"conn_refused", "connect_timeout", "tls_handshake"}
# answers that say the service (not the request) failed
FAULTS = {"db_unavailable", "lb_unavailable", "bad_gateway", "gateway_timeout",
          "conn_refused", "connect_timeout", "tls_handshake", "conn_reset",
          "timeout", "unavailable_other"}


# ------------------------------------------------------------------ recording

@dataclass
class Attempt:
    kind: str           # verify, enrol_start, ..., tx_create, tx_approve, probe
    t0: float           # monotonic
    t1: float
    cls: str            # ok, refused, db_unavailable, bad_gateway, ... (classify)
    status: int = 0
    code: str = ""      # the error code of a JSON error body


class Recorder:
    """Every HTTP attempt, and the events the invariants need."""

    def __init__(self):
        self.lock = threading.Lock()
        self.attempts = []
        self.in_flight = {}          # id -> (kind, t0)
        self.accepted = []           # (credential key, step or counter, t_ack)
        self.uncertain = []          # (credential key, step or counter)
        self.double = []             # (credential key, step, outcomes of the pair)
        self.locks_seen = {}         # customer -> first time 423 was answered
        self.attacked_accepted = []  # customer ids (must stay empty)
        self.enrolments = {}         # eid -> Enrolment
        self.stuck = []              # (eid, why)
        self.polls = []              # (eid, {"answers", "status"}) of activated enrolments
        self.transactions = {}       # tx id -> Tx
        self.idem = {}               # idempotency key -> set of tx ids answered
        self.server_errors = []      # (kind, status, body) of any 500
        self.retries = {}            # kind -> attempts sent after a failed one
        self._next = 0

    def begin(self, kind):
        with self.lock:
            self._next += 1
            self.in_flight[self._next] = (kind, time.monotonic())
            return self._next

    def end(self, token, kind, t0, cls, status=0, code=""):
        a = Attempt(kind, t0, time.monotonic(), cls, status, code)
        with self.lock:
            self.in_flight.pop(token, None)
            self.attempts.append(a)
        return a

    def retried(self, kind):
        with self.lock:
            self.retries[kind] = self.retries.get(kind, 0) + 1

    def add(self, name, item):
        with self.lock:
            getattr(self, name).append(item)

    def in_flight_at(self, t):
        """Attempts that had started and not ended at monotonic time @t."""
        with self.lock:
            n = [a.kind for a in self.attempts if a.t0 <= t < a.t1]
            n += [k for k, t0 in self.in_flight.values() if t0 <= t]
        out = {}
        for k in n:
            out[k] = out.get(k, 0) + 1
        return out

    def figures(self, t_fault):
        """What the clients saw around a fault at monotonic @t_fault."""
        with self.lock:
            atts = sorted(self.attempts, key=lambda a: a.t0)
        errors = {}
        for a in atts:
            if a.cls in FAULTS or a.cls in ("server_error", "unexpected"):
                errors[a.cls] = errors.get(a.cls, 0) + 1
        after = [a for a in atts if a.t1 >= t_fault]
        bad = [a for a in after if a.cls in FAULTS]
        first_ok = next((a for a in atts if a.t0 >= t_fault and a.cls in ("ok", "refused")),
                        None)
        # the longest time around the fault in which no request was served
        done = sorted(a.t1 for a in atts if a.cls in ("ok", "refused") and a.t1 >= t_fault - 1)
        gap = max((b - a for a, b in zip(done, done[1:])), default=None)
        last_bad = max((a.t1 for a in bad), default=t_fault)
        by_kind = {}
        for a in atts:
            d = by_kind.setdefault(a.kind, {})
            cls = f"refused {a.status} {a.code}".strip() if a.cls == "refused" else a.cls
            d[cls] = d.get(cls, 0) + 1
        return {
            "requests": len(atts),
            "in_flight_at_fault": self.in_flight_at(t_fault),
            "errors_by_kind": dict(sorted(errors.items())),
            "seconds_to_first_answer": round(first_ok.t1 - t_fault, 2) if first_ok else None,
            "first_answer": (f"{first_ok.kind} {first_ok.status} {first_ok.code}".strip()
                             if first_ok else None),
            "seconds_to_last_error": round(last_bad - t_fault, 2),
            "longest_gap_without_answer_s": round(gap, 2) if gap is not None else None,
            "requests_retried": sum(self.retries.values()),
            "retried_by_kind": dict(sorted(self.retries.items())),
            "by_request": by_kind,
        }


def classify_response(r):
    """(class, error code) of an answer."""
    s = r.status_code
    code = ""
    if s >= 400:
        try:
            code = r.json()["error"]["code"]
        except (ValueError, KeyError, TypeError):
            code = ""
    if 200 <= s < 300:
        return "ok", code
    if s == 503:
        return {"database_unavailable": "db_unavailable",
                "service_unavailable": "lb_unavailable"}.get(code, "unavailable_other"), code
    if s == 502:
        return "bad_gateway", code
    if s == 504:
        return "gateway_timeout", code
    if s >= 500:
        return "server_error", code
    if s == 429:
        return "rate_limited", code
    return "refused", code


def classify_exception(e):
    text = repr(e)
    if isinstance(e, requests.exceptions.ConnectTimeout):
        return "connect_timeout"
    if isinstance(e, requests.exceptions.SSLError):
        return "tls_handshake"
    if isinstance(e, requests.exceptions.ReadTimeout):
        return "timeout"
    if "Connection refused" in text or "NewConnectionError" in text:
        return "conn_refused"
    return "conn_reset"


def session(cluster):
    """A session that trusts the cluster's test CA and nothing from the
    environment (REQUESTS_CA_BUNDLE would override a session's verify)."""
    s = requests.Session()
    s.trust_env = False
    s.verify = str(cluster.ca)
    return s


class Client:
    """One client's keep-alive HTTPS session to HAProxy."""

    def __init__(self, cluster, rec, api_key=None):
        self.base = cluster.url
        self.rec = rec
        self.s = session(cluster)
        if api_key:
            self.s.headers["Authorization"] = f"Bearer {api_key}"

    def call(self, kind, method, path, timeout=30, unsent_for=20.0, **kw):
        """Send; again while it was not sent (at most @unsent_for s).
        @return (response or None, class, error code)."""
        deadline = time.monotonic() + unsent_for
        url = path if path.startswith("http") else self.base + path
        failed = self.__dict__.setdefault("failed", {})
        while True:
            if failed.get(kind):
                self.rec.retried(kind)      # sent again after an attempt that failed
            tok = self.rec.begin(kind)
            t0 = time.monotonic()
            try:
                r = self.s.request(method, url, timeout=timeout, **kw)
            except requests.RequestException as e:
                cls = classify_exception(e)
                self.rec.end(tok, kind, t0, cls)
                failed[kind] = True
                if cls in NOT_SENT and time.monotonic() < deadline:
                    time.sleep(0.2)
                    continue
                return None, cls, ""
            cls, code = classify_response(r)
            self.rec.end(tok, kind, t0, cls, r.status_code, code)
            failed[kind] = cls in FAULTS
            if cls == "server_error":
                self.rec.add("server_errors", (kind, r.status_code, r.text[:300]))
            return r, cls, code


# ------------------------------------------------------------------ credentials

@dataclass
class Cred:
    """A customer and the one credential the load verifies with."""
    customer_id: str
    pin: str
    otp_type: str               # totp | hotp
    seed: bytes
    digest: str = "sha1"
    period: int = 30
    last_step: int = 0          # TOTP: highest step this client saw spent
    next_counter: int = 0       # HOTP: next counter to use
    attacked: bool = False      # only ever gets wrong codes
    fails: int = 0              # wrong codes since the last acceptance
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def key(self):
        return f"{self.customer_id}/{self.otp_type}"

    def code(self, n):
        if self.otp_type == "hotp":
            return hotp(self.seed, n)
        secret = base64.b32encode(self.seed).decode().rstrip("=")
        return pyotp.TOTP(secret, digest=getattr(hashlib, self.digest),
                          interval=self.period).at(n * self.period)

    def next_valid(self):
        """(n, code) of the next unspent valid code, or None."""
        if self.otp_type == "hotp":
            return self.next_counter, self.code(self.next_counter)
        now = int(time.time()) // self.period
        n = max(self.last_step + 1, now - 1)
        if n > now + 1:
            return None
        return n, self.code(n)

    def spent(self, n):
        if self.otp_type == "hotp":
            self.next_counter = max(self.next_counter, n + 1)
        else:
            self.last_step = max(self.last_step, n)

    def wrong(self):
        if self.otp_type == "hotp":
            valid = {hotp(self.seed, self.next_counter + i) for i in range(-1, 12)}
        else:
            now = int(time.time()) // self.period
            valid = {self.code(now + i) for i in range(-2, 3)}
        return wrong_code(*valid)


def verify_once(client, c, code):
    r, cls, err = client.call("verify", "POST", "/v1/authn/verify",
                              json={"customer_id": c.customer_id, "pin": c.pin, "otp": code})
    return r, cls, err


def verify_valid(client, rec, c, dup=False):
    """Send c's next valid code (twice at once with @dup); record what was
    accepted.  The caller holds c.lock."""
    nv = c.next_valid()
    if nv is None:
        return
    n, code = nv
    if dup:
        other = Client.__new__(Client)
        other.base, other.rec = client.base, client.rec
        other.s = client.dup_session
        res = [None, None]

        def send(i, cl):
            res[i] = verify_once(cl, c, code)
        ts = [threading.Thread(target=send, args=(0, client)),
              threading.Thread(target=send, args=(1, other))]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        oks = sum(1 for r in res if r[1] == "ok")
        for r in res:
            if r[1] == "ok":
                rec.add("accepted", (c.key, n, time.monotonic()))
            elif r[1] in FAULTS:
                rec.add("uncertain", (c.key, n))
        if oks > 1:
            rec.add("double", (c.key, n, [r[1] for r in res]))
        c.spent(n)
        c.fails = 0 if oks else c.fails
        return
    r, cls, err = verify_once(client, c, code)
    if cls in FAULTS:
        # It may have been accepted before the answer was lost: the same
        # code once more must then be refused, never accepted twice.
        rec.add("uncertain", (c.key, n))
        time.sleep(0.3)
        r, cls, err = verify_once(client, c, code)
        if cls in FAULTS:
            rec.add("uncertain", (c.key, n))
    if cls == "ok":
        rec.add("accepted", (c.key, n, time.monotonic()))
        c.fails = 0
    c.spent(n)


def verify_wrong(client, rec, c):
    r, cls, err = verify_once(client, c, c.wrong())
    if cls == "ok":
        rec.add("attacked_accepted", c.customer_id)
    elif cls == "refused" and r.status_code == 423:
        rec.locks_seen.setdefault(c.customer_id, time.monotonic())
    if cls != "ok":
        c.fails += 1


def verify_worker(cluster, rec, api_key, creds, stop, pace):
    client = Client(cluster, rec, api_key)
    client.dup_session = session(cluster)
    client.dup_session.headers["Authorization"] = f"Bearer {api_key}"
    rnd = random.Random(secrets.randbits(64))
    while not stop.is_set():
        c = rnd.choice(creds)
        with c.lock:
            x = rnd.random()
            if c.attacked:
                verify_wrong(client, rec, c)
            elif x < 0.2 and c.fails == 0:
                verify_wrong(client, rec, c)
            elif x < 0.3:
                verify_valid(client, rec, c, dup=True)
            else:
                verify_valid(client, rec, c)
        stop.wait(pace)


# ------------------------------------------------------------------ enrolments

class LoadPhone(Phone):
    """The API tests' phone, finishing an activation from an answer the
    load's own client received."""

    def finish(self, answer):
        self.device_id = answer["device_id"]
        server = ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), unb64u(answer["server_ecdh_public_key"]))
        shared = self.ecdh.exchange(ec.ECDH(), server)
        self.seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=self._secret,
                         info=b"guichet-otp-seed-v1\x00" + self.device_id.encode()
                         ).derive(shared)


def applicant_body():
    birth = mrz.adult_birth()
    surname = mrz.random_surname("HA")
    a = {"given_names": "ANNA MARIA", "surname": surname, "birth_date": birth.isoformat(),
         "nationality": "FRA", "residence_country": "FRA", "email": "anna@example.org",
         "phone": "+33612345678"}
    return {"applicant": a,
            "document": {"mrz": mrz.td3(surname, "ANNA MARIA", birth, mrz.future())}}


@dataclass
class Enrolment:
    idem: str
    body: dict
    eid: str = ""
    state: str = ""
    pin: str = ""
    customer_id: str = ""
    completed_ack: float = 0.0      # when a client was told "completed"
    steps: list = field(default_factory=list)


class Enroller:
    """Drives one enrolment; each step again from the enrolment's own state
    after an unclear answer.  run() @return True once completed."""

    def __init__(self, cluster, rec, db, hardware=None):
        self.cluster = cluster
        self.rec = rec
        self.db = db                # for the e-mail: the outbox (see resume())
        self.hardware = hardware    # (serial, seed): a token as the credential
        self.client = Client(cluster, rec)
        self.phone = LoadPhone()
        self.e = Enrolment(idem="idem-" + secrets.token_hex(12), body=applicant_body(),
                           pin=random_pin(6))
        self.payload = None

    def url(self, tail=""):
        return f"/v1/enrolments/{self.e.eid}{tail}"

    def view(self):
        r, cls, _ = self.client.call("enrol_get", "GET", self.url())
        if cls == "ok":
            v = r.json()
            self.e.state = v["state"]
            if v.get("customer_id"):
                self.e.customer_id = v["customer_id"]
            return v
        return None

    def start(self):
        r, cls, _ = self.client.call("enrol_start", "POST", "/v1/enrolments", json=self.e.body,
                                     headers={"Idempotency-Key": self.e.idem})
        if cls != "ok":
            return False
        self.e.eid = r.json()["id"]
        self.e.state = r.json()["state"]
        self.rec.enrolments[self.e.eid] = self.e
        if r.headers.get("Idempotent-Replayed") == "true" \
                and not self.client.s.cookies.get("guichet_applicant"):
            self.e.steps.append("start replayed without a session: resume link")
            return self.resume()
        return True

    def resume(self):
        """The documented way back after a lost first answer: a resume link
        to the applicant's e-mail (read from the outbox, as the mail
        server would deliver it)."""
        r, cls, _ = self.client.call("enrol_resume_link", "POST", self.url("/resume-link"),
                                     json={})
        if cls != "ok":
            return False
        token = self.db(
            "SELECT secret FROM outbox WHERE enrolment_id = %s AND sent_at IS NULL"
            " AND secret IS NOT NULL ORDER BY id DESC LIMIT 1", self.e.eid)
        if not token:
            return False
        r, cls, _ = self.client.call("enrol_resume", "POST", self.url("/resume"),
                                     json={"token": token[0][0]})
        return cls == "ok"

    def challenge(self):
        r, cls, _ = self.client.call("enrol_challenge", "POST", self.url("/device-challenge"),
                                     json={})
        if cls == "ok":
            self.payload = r.json()["qr_payload"]
        return cls == "ok"

    def browser_poll(self):
        """What the enrolment page does meanwhile: long-poll the challenge's
        status (?wait=10), asking again after an answer that says the
        service failed (web/enrol/device.js: 0, 502, 503, 504 are
        transient), until it is no longer pending.  @return (thread, stop
        event, {"answers": [...], "status": final status})."""
        stop = threading.Event()
        seen = {"answers": []}
        poller = Client(self.cluster, self.rec)
        poller.s.cookies.update(self.client.s.cookies)

        def loop():
            deadline = time.monotonic() + 45
            while not stop.is_set() and time.monotonic() < deadline:
                r, cls, code = poller.call("enrol_poll", "GET",
                                           self.url("/device-challenge?wait=10"),
                                           timeout=20, unsent_for=0)
                status = r.json().get("status") if cls == "ok" else None
                seen["answers"].append(status or cls)
                if status and status != "pending":
                    seen["status"] = status
                    return
                if cls in FAULTS or cls == "rate_limited":
                    stop.wait(0.5)
                elif cls != "ok":
                    seen["status"] = f"{cls} {r.status_code} {code}"
                    return
        t = threading.Thread(target=loop, name="poll")
        t.start()
        return t, stop, seen

    def activate(self):
        base, body = self.phone.activation_body(self.payload)
        path = "/v1/devices/activate"
        for attempt in range(2):
            r, cls, code = self.client.call("enrol_activate", "POST", base + path, json=body)
            if cls == "ok":
                self.phone.finish(r.json())
                return True
            if cls not in FAULTS:
                break
            # the answer may be lost after the binding committed: the very
            # same request again (docs/api.md, "Device activation")
            time.sleep(0.3)
            _, body = self.phone.activation_body(self.payload)
        v = self.view()
        if v is not None and v["state"] != "device":
            self.rec.add("stuck", (self.e.eid, f"activation: state {v['state']} but the phone"
                                               f" never got the answer ({cls} {code})"))
            raise StuckError()
        return False

    def pin(self):
        r, cls, _ = self.client.call("enrol_pin", "POST", self.url("/pin"),
                                     json={"pin": self.e.pin})
        return cls == "ok"

    def confirm(self):
        r, cls, _ = self.client.call("enrol_confirm", "POST", self.url("/otp-confirm"),
                                     json={"otp": self.phone.totp()})
        return cls == "ok"

    def credential(self):
        body = {"kind": "device"}
        if self.hardware:
            body = {"kind": "hardware", "serial": self.hardware[0],
                    "otp": hotp(self.hardware[1], 0)}
        r, cls, _ = self.client.call("enrol_credential", "POST", self.url("/credential"),
                                     json=body)
        if cls == "ok":
            self.e.customer_id = r.json()["customer_id"]
            self.e.state = "completed"
            self.e.completed_ack = time.monotonic()
        return cls == "ok"

    def run(self, deadline):
        """Go as far as possible before @deadline (monotonic)."""
        try:
            return self._run(deadline)
        except StuckError:
            return False

    def _run(self, deadline):
        e = self.e
        while time.monotonic() < deadline:
            if not e.eid:
                if not self.start():
                    time.sleep(0.5)
                continue
            if e.state in ("", "unknown"):
                if self.view() is None:
                    time.sleep(0.5)
                continue
            if e.state == "device":
                if not self.payload and not self.challenge():
                    self.view()
                    time.sleep(0.3)
                    continue
                poll, stop, seen = self.browser_poll()
                time.sleep(random.uniform(0.2, 1.0))    # the applicant finds their phone
                ok = self.activate()
                if not ok:
                    stop.set()
                poll.join(50)
                if ok:
                    self.rec.add("polls", (e.eid, seen))
                if ok:
                    e.state = "pin_otp"
                    e.pin_set = False
                else:
                    self.payload = None
                    if self.view() is None:
                        time.sleep(0.5)
                continue
            if e.state == "pin_otp":
                if self.phone.seed is None:
                    self.rec.add("stuck", (e.eid, "pin_otp without the phone's seed"))
                    return False
                if not getattr(e, "pin_set", False):
                    e.pin_set = self.pin()
                    if not e.pin_set:
                        self.view()
                        time.sleep(0.3)
                    continue
                if self.confirm():
                    e.state = "credential"
                else:
                    self.view()
                    time.sleep(0.3)
                continue
            if e.state == "credential":
                if not self.credential():
                    self.view()
                    time.sleep(0.3)
                continue
            if e.state == "completed":
                if not e.completed_ack:
                    e.completed_ack = time.monotonic()
                return True
            # identity_review, device_review, rejected, expired: not in this load
            self.rec.add("stuck", (e.eid, f"unexpected state {e.state}"))
            return False
        return False


class StuckError(Exception):
    pass


def enrol_worker(cluster, rec, db, stop, pace, done):
    while not stop.is_set():
        en = Enroller(cluster, rec, db)
        en.run(time.monotonic() + 60)
        done.append(en)
        stop.wait(pace)


# ------------------------------------------------------------------ transactions

@dataclass
class Tx:
    id: str
    customer_id: str
    idem: str
    decision: str = ""          # approved | declined, as a client was told
    decided_ack: float = 0.0
    outcomes: list = field(default_factory=list)


def tx_body(customer_id):
    return {"customer_id": customer_id, "amount": f"{random.randint(1, 99999)}.{random.randint(0, 99):02d}",
            "currency": "EUR", "payee_name": "ACME SARL", "payee_iban": IBAN}


def tx_worker(cluster, rec, api_key, payers, stop, pace):
    rp = Client(cluster, rec, api_key)
    dev = Client(cluster, rec)
    rnd = random.Random(secrets.randbits(64))
    while not stop.is_set():
        # A phone signs at most one request a second (a signed message is
        # accepted once, and its timestamp must stay within two minutes of
        # the server's clock): take the payer whose phone signed least
        # recently, and wait for the next second if even it signed in this one.
        cid, phone = min(rnd.sample(payers, len(payers)), key=lambda p: p[1]._last_ts)
        if phone._last_ts >= int(time.time()):
            stop.wait(1.0 - time.time() % 1.0)
            continue
        key = "tx-" + secrets.token_hex(12)
        body = tx_body(cid)
        ids = rec.idem.setdefault(key, set())
        r = None
        for _ in range(40):          # same key and body: one transaction
            r, cls, _ = rp.call("tx_create", "POST", "/v1/transactions", json=body,
                                headers={"Idempotency-Key": key})
            if cls == "ok":
                ids.add(r.json()["id"])
                break
            if cls not in FAULTS:
                r = None
                break
            r = None
            time.sleep(0.3)
        if r is None:
            stop.wait(pace)
            continue
        created = r.json()
        tx = Tx(created["id"], cid, key)
        rec.transactions[tx.id] = tx
        t = parse_tx_payload(created["qr_payload"])
        want = "declined" if rnd.random() < 0.2 else "approved"
        for _ in range(40):
            if want == "approved":
                data = json.dumps({"signature": phone.sign_tx(t)}).encode()
                path = f"/v1/transactions/{tx.id}/approve"
            else:
                data = b""
                path = f"/v1/transactions/{tx.id}/decline"
            h = phone.signed_headers("POST", path, data)
            if data:
                h["Content-Type"] = "application/json"
            r, cls, code = dev.call("tx_" + want[:-1], "POST", path, data=data, headers=h)
            tx.outcomes.append(cls if cls != "refused" else f"{r.status_code}")
            if cls == "ok":
                tx.decision = r.json()["status"]
                tx.decided_ack = time.monotonic()
                break
            if cls == "refused" and r.status_code == 409:
                # decided already -- by our own earlier attempt whose answer
                # was lost; the status says how
                g, gcls, _ = rp.call("tx_get", "GET", f"/v1/transactions/{tx.id}")
                if gcls == "ok" and g.json()["status"] != "pending":
                    tx.decision = g.json()["status"]
                    tx.decided_ack = time.monotonic()
                break
            if cls not in FAULTS:
                break
            time.sleep(0.3)
        stop.wait(pace)


# ------------------------------------------------------------------ the mix

class Load:
    """Start with start(), stop with stop(); figures and records in .rec."""

    def __init__(self, cluster, api_key, creds, payers, db, verify_threads=4, enrol_threads=1,
                 tx_threads=1, pace=0.05):
        self.cluster = cluster
        self.rec = Recorder()
        self.stop_event = threading.Event()
        self.enrollers = []
        self.threads = []
        per = max(1, len(creds) // verify_threads)
        for i in range(verify_threads):
            mine = creds[i * per:(i + 1) * per] if i < verify_threads - 1 else creds[i * per:]
            self.threads.append(threading.Thread(
                target=verify_worker, name=f"verify-{i}",
                args=(cluster, self.rec, api_key, mine, self.stop_event, pace)))
        for i in range(enrol_threads):
            self.threads.append(threading.Thread(
                target=enrol_worker, name=f"enrol-{i}",
                args=(cluster, self.rec, db, self.stop_event, pace, self.enrollers)))
        for i in range(tx_threads if payers else 0):
            self.threads.append(threading.Thread(
                target=tx_worker, name=f"tx-{i}",
                args=(cluster, self.rec, api_key, payers, self.stop_event, pace)))

    def start(self):
        for t in self.threads:
            t.daemon = True
            t.start()

    def stop(self, timeout=90):
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout)
        return not any(t.is_alive() for t in self.threads)

