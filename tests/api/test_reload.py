# SPDX-License-Identifier: AGPL-3.0-or-later
"""SIGHUP reloads the sanctions list and the risk rules without dropping a
request (issues 3 and 5): enrolments keep being answered, with the list's
version recorded, while the server reloads several times."""
import signal
import sys
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_enrolments import applicant, body_for  # noqa: E402


def test_sighup_reload_drops_no_request(guichet):
    statuses, ids = [], []
    stop = threading.Event()

    def client():
        s = requests.Session()
        while not stop.is_set():
            r = s.post(guichet.url("/v1/enrolments"), json=body_for(applicant()), timeout=30)
            statuses.append(r.status_code)
            if r.status_code == 201:
                ids.append(r.json()["id"])

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    for _ in range(3):
        time.sleep(0.7)
        guichet.server.proc.send_signal(signal.SIGHUP)
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join(30)
    assert len(statuses) > 20 and set(statuses) == {201}, statuses
    # the list version each decision was made against (the back-office's
    # record: the applicant is not told about lists)
    versions = {v for (v,) in guichet.sql(
        "SELECT c->>'list' FROM enrolments, jsonb_array_elements(identity_result->'checks') c"
        " WHERE id = ANY (%s) AND c->>'check' = 'sanctions'", ids)}
    assert len(versions) > 0 and None not in versions and len(versions) == 1, versions
    assert guichet.server.proc.poll() is None
    # Signals may coalesce, and a reload takes a while (seconds in the
    # ASan build of ./dev test --sanitize): wait for the second one.
    deadline = time.monotonic() + 60
    while guichet.log_text().count("SIGHUP: reloading") < 2 \
            and time.monotonic() < deadline:
        time.sleep(0.2)
    assert guichet.log_text().count("SIGHUP: reloading") >= 2
