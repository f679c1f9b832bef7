# SPDX-License-Identifier: AGPL-3.0-or-later
"""Operations endpoints: /healthz, /readyz, /metrics (Prometheus text with
request counters by route and status, a latency histogram and verify
outcomes), and the headers every answer carries."""
import re
import time

import requests

from helpers import assert_error

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)(\s+\d+)?$')


def metrics(guichet):
    r = requests.get(guichet.url("/metrics"), timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain"), r.headers["Content-Type"]
    samples = []
    for line in r.text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not Prometheus text format: {line!r}"
        float(m.group(3))
        samples.append((m.group(1), m.group(2) or "", float(m.group(3))))
    return r.text, samples


def total(samples, name_re, *label_parts):
    return sum(v for n, labels, v in samples
               if re.search(name_re, n) and all(p in labels for p in label_parts))


def test_healthz(guichet):
    r = requests.get(guichet.url("/healthz"), timeout=10)
    assert r.status_code == 200


def test_readyz(guichet):
    r = requests.get(guichet.url("/readyz"), timeout=10)
    assert r.status_code == 200


def test_metrics_count_requests_by_route_and_status(guichet, http, customer):
    _, before = metrics(guichet)
    r = http.verify_otp(customer.id, customer.pin, customer.code())
    assert r.status_code == 200, r.text
    r = http.verify_otp("cus_nobody_at_all", "73829164", "000000")
    assert r.status_code == 401
    text, after = metrics(guichet)
    counters = [s for s in after if s[0].endswith("_total") and "verify" in s[1]]
    assert counters, f"no request counter labelled with the verify route:\n{text[:3000]}"
    ok = total(after, r"_total$", "verify", '"200"') - total(before, r"_total$", "verify", '"200"')
    bad = total(after, r"_total$", "verify", '"401"') - total(before, r"_total$", "verify", '"401"')
    assert ok >= 1 and bad >= 1, f"verify counters did not move:\n{text[:3000]}"


def test_metrics_latency_histogram(guichet, http):
    http.verify_otp("cus_nobody_at_all", "73829164", "000000")
    text, samples = metrics(guichet)
    buckets = [s for s in samples if s[0].endswith("_bucket")]
    assert buckets, "no histogram"
    assert any('le="+Inf"' in s[1] for s in buckets), "histogram without +Inf bucket"
    names = {s[0][:-len("_bucket")] for s in buckets}
    for base in names:
        assert any(s[0] == base + "_sum" for s in samples), base
        assert any(s[0] == base + "_count" for s in samples), base
        # cumulative buckets never decrease
        series = {}
        for n, labels, v in samples:
            if n == base + "_bucket":
                key = re.sub(r',?le="[^"]*"', "", labels)
                le = re.search(r'le="([^"]*)"', labels).group(1)
                series.setdefault(key, []).append((float("inf") if le == "+Inf" else float(le), v))
        for points in series.values():
            values = [v for _, v in sorted(points)]
            assert values == sorted(values), f"{base} buckets not cumulative"
    assert "# TYPE" in text


def test_metrics_verify_outcomes(guichet, http, customer):
    r = http.verify_otp(customer.id, customer.pin, customer.code())
    assert r.status_code == 200
    text, samples = metrics(guichet)
    assert any("accepted" in labels or "accepted" in n for n, labels, _ in samples), \
        f"no verify outcome metric:\n{text[:3000]}"


def test_metrics_only_for_the_monitoring_addresses(guichet):
    """/metrics gave anyone who reached the listener the bank's login and
    payment volumes per outcome, and a database read per scrape.  Only
    metrics_from (default: loopback) reads it; any other client address --
    here the one a trusted proxy forwards -- gets the 404 of a route that
    does not exist."""
    outside = {"X-Forwarded-For": "203.0.113.9"}
    r = requests.get(guichet.url("/metrics"), headers=outside, timeout=10)
    nowhere = requests.get(guichet.url("/metricz"), headers=outside, timeout=10)
    assert_error(r, 404, "not_found")
    assert r.json() == nowhere.json()
    assert "guichet_" not in r.text
    metrics(guichet)                          # from 127.0.0.1 itself


def test_security_headers(guichet, http):
    for r in (requests.get(guichet.url("/healthz"), timeout=10),
              http.verify_otp("cus_nobody_at_all", "73829164", "000000"),
              requests.get(guichet.url("/no/such/page"), timeout=10)):
        assert r.headers.get("X-Content-Type-Options", "").lower() == "nosniff", (r.url, r.headers)


def test_json_errors_everywhere(guichet):
    assert_error(requests.get(guichet.url("/v1/no-such-thing"), timeout=10), 404, "not_found")
    assert_error(requests.post(guichet.url("/healthz"), json={}, timeout=10), 405,
                 "method_not_allowed")


def test_shared_web_module_and_no_path_escape(guichet):
    import requests as _rq
    r = _rq.get(guichet.url("/common/text_core.js"), timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/javascript")
    assert "makeText" in r.text
    r = _rq.get(guichet.url("/common/base.css"), timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/css")
    assert "--navy" in r.text
    for page in ("/", "/backoffice/"):
        assert '<link rel="stylesheet" href="/common/base.css">' in _rq.get(
            guichet.url(page), timeout=10).text, page
    # the phone frame the app and the approval page share, linked by both
    # between base.css and their own style.css
    r = _rq.get(guichet.url("/common/phone.css"), timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/css")
    assert r.headers["Cache-Control"] == _rq.get(
        guichet.url("/common/base.css"), timeout=10).headers["Cache-Control"]
    assert ".site-header__inner" in r.text
    for page, common in (("/app/", "../common/"), ("/approve/", "/common/")):
        html = _rq.get(guichet.url(page), timeout=10).text
        links = [f'href="{common}base.css"', f'href="{common}phone.css"', 'style.css"']
        at = [html.find(x) for x in links]
        assert -1 not in at and at == sorted(at), (page, at)
    for bad in ("/common/..%2Fenrol%2Findex.html", "/common/.hidden.js", "/common/missing.js"):
        assert _rq.get(guichet.url(bad), timeout=10).status_code == 404, bad


def test_connections_spread_over_all_workers(guichet, http, new_customer):
    """N clients at once get N workers: each connection goes to the worker
    with the fewest open (server/daemon.c), so N requests that block in the
    database block side by side -- libmicrohttpd's own pool put several
    connections on one thread, where they waited for each other.  A
    guichetd of its own, so no other test's idle connection counts."""
    import threading
    import psycopg2
    from harness import ARTIFACTS, Guichetd
    from helpers import wrong_code

    workers = 8
    srv = Guichetd(guichet.cluster, guichet.keyfile, ARTIFACTS / "api-guichetd-spread.log",
                   env=dict(guichet.server.extra_env, GUICHET_WORKERS=str(workers)))
    srv.start()
    customers = [new_customer() for _ in range(workers)]
    # hold every customer's row: each verify's failure count must wait
    lock = psycopg2.connect(host=str(guichet.cluster.sock), dbname="guichet", user="postgres")
    cur = lock.cursor()
    cur.execute("SELECT id FROM customers WHERE id = ANY(%s) FOR UPDATE",
                ([c.id for c in customers],))
    results = [None] * workers
    sessions = []
    for _ in range(workers):
        s = requests.Session()
        s.headers["Authorization"] = http.headers["Authorization"]
        s.get(srv.base_url + "/healthz", timeout=10)       # connect first
        sessions.append(s)

    def run(i):
        c = customers[i]
        results[i] = sessions[i].post(srv.base_url + "/v1/authn/verify", timeout=60, json={
            "customer_id": c.id, "pin": c.pin, "otp": wrong_code(c.code())})

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    try:
        for th in threads:
            th.start()
        deadline = time.monotonic() + 15
        waiting = 0
        while time.monotonic() < deadline:
            waiting = guichet.sql_value(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'guichetd' "
                "AND wait_event_type = 'Lock'")
            if waiting == workers:
                break
            time.sleep(0.1)
        assert waiting == workers, f"only {waiting} of {workers} requests ran at once"
    finally:
        lock.rollback()
        lock.close()
        for th in threads:
            th.join(60)
        for s in sessions:
            s.close()
        srv.stop()
    assert [r.status_code for r in results] == [401] * workers, [r.text for r in results]
