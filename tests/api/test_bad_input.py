# SPDX-License-Identifier: AGPL-3.0-or-later
"""Bad input on POST /v1/authn/verify: each case gets a 4xx JSON error with
the right code, changes nothing in the database, and leaves the server
ready.  The bodies name a real customer with its real PIN and a currently
valid code, so a server that acted on any of them would show it (a spent
code, a counted failure)."""
import json
import subprocess

import pytest
import requests

from helpers import assert_error, raw_http, wait_fresh_step
from test_enrolments import applicant, body_for


def enrolment_body():
    return body_for(applicant())

MIB = 1024 * 1024


@pytest.fixture
def victim(new_customer):
    c = new_customer()
    wait_fresh_step(8)
    return c


def snapshot(guichet):
    return {
        "customers": guichet.sql("SELECT id, ref, pin_hash, failed_attempts, locked_at "
                                 "FROM customers ORDER BY id"),
        "credentials": guichet.sql("SELECT id, customer_id, seed_sealed, counter, drift, state, "
                                   "last_used_at FROM credentials ORDER BY id"),
        "api_keys": guichet.sql("SELECT id, name, key_hash, revoked_at FROM api_keys ORDER BY id"),
        "tables": guichet.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                              "ORDER BY 1"),
    }


def post(guichet, api_key, body, content_type="application/json", extra=None):
    headers = {"Authorization": f"Bearer {api_key}"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    headers.update(extra or {})
    return requests.post(guichet.url("/v1/authn/verify"), data=body, headers=headers, timeout=30)


def check_unchanged(guichet, before):
    assert snapshot(guichet) == before, "the database changed"
    assert requests.get(guichet.url("/readyz"), timeout=10).status_code == 200


def body_of(victim, **override):
    d = {"customer_id": victim.id, "pin": victim.pin, "otp": victim.code()}
    d.update(override)
    return {k: v for k, v in d.items() if v is not ...}


# (name, body maker, status, allowed codes, field the message must name)
JSON_CASES = [
    ("truncated", lambda v: json.dumps(body_of(v))[:-5].encode(), 400, {"malformed_json"}, None),
    # an empty body is read as {} (docs/api.md): then judged on its fields
    ("empty", lambda v: b"", 400, {"invalid_field"}, "customer_id"),
    ("not an object", lambda v: json.dumps([v.id, v.pin, v.code()]).encode(), 400,
     {"malformed_json"}, None),
    ("a string", lambda v: b'"hello"', 400, {"malformed_json"}, None),
    ("trailing garbage", lambda v: json.dumps(body_of(v)).encode() + b" {}", 400,
     {"malformed_json"}, None),
    ("single quotes", lambda v: json.dumps(body_of(v)).replace('"', "'").encode(), 400,
     {"malformed_json"}, None),
    ("invalid utf-8", lambda v: json.dumps(body_of(v)).encode().replace(b'"pin"', b'"p\xffin"'),
     400, {"malformed_json", "invalid_field"}, None),
    ("customer_id a number", lambda v: json.dumps(body_of(v, customer_id=12345)).encode(), 400,
     {"invalid_field"}, "customer_id"),
    ("pin a number", lambda v: json.dumps(body_of(v, pin=int(v.pin))).encode(), 400,
     {"invalid_field"}, "pin"),
    ("otp a number", lambda v: json.dumps(body_of(v, otp=int(v.code()))).encode(), 400,
     {"invalid_field"}, "otp"),
    ("otp null", lambda v: json.dumps(body_of(v, otp=None)).encode(), 400,
     {"invalid_field"}, "otp"),
    ("pin a list", lambda v: json.dumps(body_of(v, pin=[v.pin])).encode(), 400,
     {"invalid_field"}, "pin"),
    ("pin an object", lambda v: json.dumps(body_of(v, pin={"pin": v.pin})).encode(), 400,
     {"invalid_field"}, "pin"),
    ("pin true", lambda v: json.dumps(body_of(v, pin=True)).encode(), 400,
     {"invalid_field"}, "pin"),
    ("missing otp", lambda v: json.dumps(body_of(v, otp=...)).encode(), 400,
     {"invalid_field"}, "otp"),
    ("missing pin", lambda v: json.dumps(body_of(v, pin=...)).encode(), 400,
     {"invalid_field"}, "pin"),
    ("missing customer_id", lambda v: json.dumps(body_of(v, customer_id=...)).encode(), 400,
     {"invalid_field"}, "customer_id"),
    ("empty object", lambda v: b"{}", 400, {"invalid_field"}, None),
    ("unknown field", lambda v: json.dumps(body_of(v, remember_me=True)).encode(), 400,
     {"invalid_field"}, "remember_me"),
    ("duplicate key", lambda v: ('{"customer_id": %s, "pin": %s, "pin": %s, "otp": %s}' % (
        json.dumps(v.id), json.dumps(v.pin), json.dumps(v.pin), json.dumps(v.code()))).encode(),
     400, {"malformed_json", "invalid_field"}, None),
    ("duplicate key, different values", lambda v: (
        '{"customer_id": %s, "pin": "00000000", "pin": %s, "otp": %s}' % (
            json.dumps(v.id), json.dumps(v.pin), json.dumps(v.code()))).encode(),
     400, {"malformed_json", "invalid_field"}, None),
    ("NUL in customer_id", lambda v: json.dumps(body_of(v, customer_id=v.id + "\u0000")).encode(),
     400, {"malformed_json", "invalid_field"}, None),
    ("NUL in pin", lambda v: json.dumps(body_of(v, pin=v.pin + "\u0000" + "99")).encode(),
     400, {"malformed_json", "invalid_field"}, None),
    ("NUL in otp", lambda v: json.dumps(body_of(v, otp=v.code() + "\u0000")).encode(),
     400, {"malformed_json", "invalid_field"}, None),
    ("deep nesting", lambda v: b'{"customer_id": ' + b"[" * 1500 + b"]" * 1500 + b"}",
     400, {"malformed_json", "invalid_field"}, None),
]


@pytest.mark.parametrize("name,make,status,codes,field", JSON_CASES, ids=[c[0] for c in JSON_CASES])
def test_bad_json(guichet, api_key, victim, name, make, status, codes, field):
    before = snapshot(guichet)
    r = post(guichet, api_key, make(victim))
    body = assert_error(r, status, codes=codes)
    assert set(body) <= {"error", "field"}, body
    if field:
        assert field in body["error"]["message"], body
        assert body.get("field", field) == field, body
    check_unchanged(guichet, before)


SQL_IDS = ["' OR '1'='1", "x'; DROP TABLE customers; --", "cus_x\" OR 1=1 --",
           "'; UPDATE customers SET failed_attempts = 0; --", "%", "_", "\\", "cus_%"]


@pytest.mark.parametrize("cid", SQL_IDS)
def test_sql_metacharacters_in_customer_id(guichet, api_key, victim, cid):
    before = snapshot(guichet)
    r = post(guichet, api_key, json.dumps(body_of(victim, customer_id=cid)).encode())
    if r.status_code == 400:
        assert_error(r, 400, "invalid_field")
    else:
        body = assert_error(r, 401, "authentication_failed")
        assert "attempts_remaining" not in body, "no customer matched"
    check_unchanged(guichet, before)


def test_sql_metacharacters_after_a_real_id(guichet, api_key, victim):
    before = snapshot(guichet)
    r = post(guichet, api_key, json.dumps(body_of(victim, customer_id=victim.id + "' --")).encode())
    body = assert_error(r, r.status_code, codes={"invalid_field", "authentication_failed"})
    assert "attempts_remaining" not in body
    check_unchanged(guichet, before)


def test_sql_metacharacters_in_pin_and_otp_of_unknown_customer(guichet, api_key, victim):
    before = snapshot(guichet)
    body = {"customer_id": "cus_nobody", "pin": "1' OR '1'='1", "otp": "1' OR 1=1 --"}
    r = post(guichet, api_key, json.dumps(body).encode())
    assert_error(r, r.status_code, codes={"invalid_field", "authentication_failed"})
    assert r.status_code in (400, 401)
    check_unchanged(guichet, before)


@pytest.mark.parametrize("ctype", [None, "text/plain", "application/x-www-form-urlencoded",
                                   "multipart/form-data; boundary=x", "application/jsonx",
                                   "text/json"])
def test_wrong_content_type(guichet, api_key, victim, ctype):
    before = snapshot(guichet)
    r = post(guichet, api_key, json.dumps(body_of(victim)).encode(), content_type=ctype)
    assert_error(r, 415, "unsupported_media_type")
    check_unchanged(guichet, before)


def test_empty_body_with_a_wrong_content_type(guichet, api_key, victim):
    """An empty body needs no Content-Type, but one that names another
    media type is still refused: the client does not speak JSON."""
    before = snapshot(guichet)
    for ctype in ("text/plain", "application/x-www-form-urlencoded"):
        assert_error(post(guichet, api_key, b"", content_type=ctype), 415,
                     "unsupported_media_type")
    check_unchanged(guichet, before)


def test_curl_post_without_a_body_reads_as_empty_object(guichet, api_key, victim):
    """`curl -X POST` sends neither a body nor Content-Type (nor
    Content-Length): the body is read as {} and judged on its fields."""
    before = snapshot(guichet)
    r = subprocess.run(["curl", "-sS", "-v", "-X", "POST", "-w", "\n%{http_code}",
                        "-H", f"Authorization: Bearer {api_key}",
                        guichet.url("/v1/authn/verify")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    sent = [line.lower() for line in r.stderr.splitlines() if line.startswith("> ")]
    assert sent and sent[0].startswith("> post /v1/authn/verify"), r.stderr
    assert not any(line.startswith(("> content-type", "> content-length")) for line in sent), sent
    body, status = r.stdout.rsplit("\n", 1)
    assert status == "400", f"answered {status}: {body[-300:]}"
    err = json.loads(body)
    assert err["error"]["code"] == "invalid_field" and err.get("field") == "customer_id", err
    check_unchanged(guichet, before)


def test_untyped_empty_body_acts_as_empty_object(guichet):
    """On a route where {} is a whole request (a new QR challenge), an
    untyped empty POST does what {} does: a challenge row appears."""
    s = requests.Session()
    r = s.post(guichet.url("/v1/enrolments"), json=enrolment_body(), timeout=30)
    assert r.status_code == 201 and r.json()["state"] == "device", r.text
    eid = r.json()["id"]
    cookie = "; ".join(f"{k}={v}" for k, v in s.cookies.items())
    port = guichet.base_url.rsplit(":", 1)[1]
    before = guichet.sql_value("SELECT count(*) FROM device_challenges WHERE enrolment_id = %s", eid)
    r = raw_http(guichet.base_url, f"POST /v1/enrolments/{eid}/device-challenge HTTP/1.1\r\n"
                 f"Host: 127.0.0.1:{port}\r\nCookie: {cookie}\r\nConnection: close")
    assert r.status_code == 201, r.text
    assert r.json()["challenge_id"]
    after = guichet.sql_value("SELECT count(*) FROM device_challenges WHERE enrolment_id = %s", eid)
    assert after == before + 1


def test_untyped_chunked_body_is_refused(guichet, api_key, victim):
    """No Content-Type and no Content-Length, but bytes arrive (chunked):
    415 at the end, nothing buffered or acted on."""
    before = snapshot(guichet)
    port = guichet.base_url.rsplit(":", 1)[1]
    head = ("POST /v1/authn/verify HTTP/1.1\r\nHost: 127.0.0.1:%s\r\n"
            "Authorization: Bearer %s\r\nTransfer-Encoding: chunked\r\n"
            "Connection: close" % (port, api_key))
    data = json.dumps(body_of(victim)).encode()
    r = raw_http(guichet.base_url, head,
                 body_chunks=[b"%x\r\n" % len(data) + data + b"\r\n", b"0\r\n\r\n"])
    assert_error(r, 415, "unsupported_media_type")
    check_unchanged(guichet, before)


def test_json_with_charset_is_accepted(guichet, api_key, victim):
    r = post(guichet, api_key, json.dumps(body_of(victim)).encode(),
             content_type="application/json; charset=utf-8")
    assert r.status_code == 200, r.text


def test_two_megabyte_body(guichet, api_key, victim):
    before = snapshot(guichet)
    big = json.dumps(body_of(victim, pin="1" * (2 * MIB))).encode()
    r = post(guichet, api_key, big)
    assert_error(r, 413, "body_too_large")
    check_unchanged(guichet, before)


def test_two_megabyte_body_raw_and_chunked(guichet, api_key, victim):
    """The cap holds without Content-Length too (chunked upload)."""
    before = snapshot(guichet)
    port = guichet.base_url.rsplit(":", 1)[1]
    head = ("POST /v1/authn/verify HTTP/1.1\r\nHost: 127.0.0.1:%s\r\n"
            "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close" % (port, api_key))
    piece = b"x" * 65536
    chunks = [b'10000\r\n' + piece + b'\r\n' for _ in range(32)] + [b"0\r\n\r\n"]
    r = raw_http(guichet.base_url, head, body_chunks=chunks)
    assert_error(r, 413, "body_too_large")
    check_unchanged(guichet, before)


def test_just_over_the_64k_cap(guichet, api_key, victim):
    """64 KiB is the default cap; a route may set a smaller one."""
    before = snapshot(guichet)
    body = json.dumps(body_of(victim, pin="7" * (64 * 1024))).encode()
    assert len(body) > 64 * 1024
    assert_error(post(guichet, api_key, body), 413, "body_too_large")
    check_unchanged(guichet, before)


def test_under_the_cap_is_parsed(guichet, api_key, victim):
    """A 2 KiB body is read and judged on its fields (here: an unknown one)."""
    before = snapshot(guichet)
    body = json.dumps(body_of(victim, padding="p" * 2000)).encode()
    body = assert_error(post(guichet, api_key, body), 400, "invalid_field")
    assert "padding" in body["error"]["message"]
    check_unchanged(guichet, before)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_wrong_method(guichet, api_key, method):
    r = requests.request(method, guichet.url("/v1/authn/verify"),
                         headers={"Authorization": f"Bearer {api_key}"}, timeout=10)
    assert_error(r, 405, "method_not_allowed")
    assert r.headers["Allow"] == "POST"
    assert requests.get(guichet.url("/readyz"), timeout=10).status_code == 200


@pytest.mark.parametrize("path,allow", [
    ("/v1/enrolments/enr_x/assist", "POST, DELETE"),
    ("/readyz", "GET, HEAD"),
])
def test_405_names_the_methods_of_that_path(guichet, path, allow):
    r = requests.put(guichet.url(path), timeout=10)
    assert_error(r, 405, "method_not_allowed")
    assert r.headers["Allow"] == allow


@pytest.mark.parametrize("path", ["/v1/authn/nope", "/v1/authn/verify/extra", "/v2/authn/verify",
                                  "/v1/authn", "/v1/AUTHN/VERIFY"])
def test_unknown_path(guichet, api_key, path):
    r = requests.post(guichet.url(path), json={}, timeout=10,
                      headers={"Authorization": f"Bearer {api_key}"})
    assert_error(r, 404, "not_found")


def test_garbage_request_line_does_not_hurt(guichet):
    r = raw_http(guichet.base_url, "POST /v1/authn/verify HTTP/1.1\r\nHost: x\r\n"
                 "Content-Length: banana\r\nConnection: close")
    assert 400 <= r.status_code < 500
    assert requests.get(guichet.url("/readyz"), timeout=10).status_code == 200
