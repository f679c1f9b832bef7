# SPDX-License-Identifier: AGPL-3.0-or-later
"""relays -- a real SMTP server (Debian's python3-aiosmtpd) and a real
webhook receiver for the message tests, both on loopback.

Mailbox keeps every message the relay accepted, raw and parsed, and can be
stopped and started again on the same port (the relay down for a while),
slowed down (to kill guichetd mid-delivery) or made to refuse.

Receiver is an HTTP server that checks Guichet-Signature with its own
HMAC code, written from API.md (not from guichetd's), records every
delivery, can answer non-2xx for a while, and notes when two deliveries
for one key overlap."""
import email
import email.policy
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

from harness import free_port


def wait_until(pred, timeout=20, step=0.05, what="condition"):
    """Poll @pred until it returns a true value; @return that value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(step)


class Mail:
    def __init__(self, envelope):
        self.raw = envelope.content if isinstance(envelope.content, bytes) \
            else envelope.content.encode()
        self.mail_from = envelope.mail_from
        self.rcpt_tos = list(envelope.rcpt_tos)
        self.at = time.time()
        self._msg = None

    @property
    def msg(self):
        """Parsed when first asked (not in the relay's loop: the bench)."""
        if self._msg is None:
            self._msg = email.message_from_bytes(self.raw, policy=email.policy.default)
        return self._msg

    def __getitem__(self, header):
        return self.msg[header]

    @property
    def text(self):
        return self.msg.get_body(("plain",)).get_content()

    @property
    def html(self):
        return self.msg.get_body(("html",)).get_content()


class _Handler:
    def __init__(self, box):
        self.box = box

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.box.refuse_rcpt and self.box.refuse_rcpt(address):
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.box.delay:
            time.sleep(self.box.delay)     # one message at a time, slowly
        if self.box.answer_data:
            return self.box.answer_data
        with self.box.lock:
            self.box.messages.append(Mail(envelope))
        return "250 2.0.0 accepted"


class Mailbox:
    """A local SMTP relay on 127.0.0.1:@port."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.url = f"smtp://127.0.0.1:{self.port}"
        self.messages = []
        self.lock = threading.Lock()
        self.delay = 0
        self.answer_data = None        # e.g. "451 4.3.0 try later"
        self.refuse_rcpt = None        # address -> bool
        self._ctl = None

    def start(self):
        self._ctl = Controller(_Handler(self), hostname="127.0.0.1", port=self.port,
                               ready_timeout=10)
        self._ctl.start()
        return self

    def stop(self):
        if self._ctl is not None:
            self._ctl.stop()
            self._ctl = None

    def all(self):
        with self.lock:
            return list(self.messages)

    def to(self, rcpt, subject_has=None):
        return [m for m in self.all() if rcpt in m.rcpt_tos
                and (subject_has is None or subject_has in m["Subject"])]

    def wait_for(self, rcpt, subject_has=None, n=1, timeout=20):
        return wait_until(lambda: (lambda ms: ms if len(ms) >= n else None)(
            self.to(rcpt, subject_has)), timeout=timeout,
            what=f"{n} message(s) to {rcpt} ({subject_has})")


# ------------------------------------------------------------------ webhooks

def check_signature(secret, header, body, tolerance=300):
    """Verify 'Guichet-Signature: t=<unix>,v1=<hex>' as a relying party
    would: HMAC-SHA256 over "<t>." + body with the whole secret as key, in
    constant time, and a timestamp within @tolerance seconds."""
    parts = dict(p.split("=", 1) for p in header.split(","))
    t = int(parts["t"])
    want = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, parts["v1"]) and abs(time.time() - t) <= tolerance


class Receiver:
    """Webhook receiver at http://127.0.0.1:@port/hook/<name>."""

    def __init__(self):
        self.port = free_port()
        self.secrets = {}              # name -> webhook secret
        self.deliveries = []           # dicts: name, event, verified, status, at
        self.plan = {}                 # name -> list of statuses to answer first
        self.delay = 0
        self.lock = threading.Lock()
        self.in_flight = {}
        self.overlaps = 0
        self._srv = None

    def url(self, name):
        return f"http://127.0.0.1:{self.port}/hook/{name}"

    def start(self):
        box = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                name = self.path.rsplit("/", 1)[-1]
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with box.lock:
                    box.in_flight[name] = box.in_flight.get(name, 0) + 1
                    if box.in_flight[name] > 1:
                        box.overlaps += 1
                    plan = box.plan.get(name) or []
                    status = plan.pop(0) if plan else 200
                try:
                    if box.delay:
                        time.sleep(box.delay)
                    sig = self.headers.get("Guichet-Signature", "")
                    secret = box.secrets.get(name)
                    verified = bool(secret and sig and check_signature(secret, sig, body))
                    try:
                        event = json.loads(body)
                    except ValueError:
                        event = None
                    with box.lock:
                        box.deliveries.append({"name": name, "event": event, "raw": body,
                                               "verified": verified, "status": status,
                                               "content_type": self.headers.get("Content-Type"),
                                               "at": time.time()})
                finally:
                    with box.lock:
                        box.in_flight[name] -= 1
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self._srv = ThreadingHTTPServer(("127.0.0.1", self.port), H)
        self._srv.daemon_threads = True
        threading.Thread(target=self._srv.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self._srv is not None:
            self._srv.shutdown()
            self._srv.server_close()
            self._srv = None

    def got(self, name, type_=None, ok_only=True):
        with self.lock:
            return [d for d in self.deliveries if d["name"] == name
                    and (type_ is None or (d["event"] or {}).get("type") == type_)
                    and (not ok_only or 200 <= d["status"] < 300)]

    def wait_for(self, name, type_=None, n=1, timeout=20):
        return wait_until(lambda: (lambda ds: ds if len(ds) >= n else None)(
            self.got(name, type_)), timeout=timeout,
            what=f"{n} event(s) {type_} for {name}")
