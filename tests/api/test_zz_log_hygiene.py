# SPDX-License-Identifier: AGPL-3.0-or-later
"""Runs last (marker `last`): the server log of the whole session, written
at log level debug, must not contain a PIN, an OTP, an API key or a seed
that any test used; nor may the audit table."""
import re

import pytest


def hits(text, secret):
    if secret.isdigit():
        # a code or PIN as a token of its own, not digits inside a timestamp
        # or a longer number
        pat = r'(?<![0-9A-Za-z_.:+-])' + re.escape(secret) + r'(?![0-9A-Za-z_])'
    else:
        pat = re.escape(secret)
    return [m.start() for m in re.finditer(pat, text)]


@pytest.mark.last
def test_no_secret_in_server_log(guichet):
    log = guichet.log_text()
    assert "/v1/authn/verify" in log, "the server logs no request line at all?"
    assert len(guichet.secrets) > 20, "the suite did not record its secrets"
    leaks = []
    for s in sorted(guichet.secrets):
        if len(s) < 6 or len(set(s)) < 4 or s in ("123456", "654321"):
            continue      # too common to tell a leak from a coincidence
        for pos in hits(log, s):
            leaks.append(f"{s!r}: ...{log[max(0, pos - 80):pos + 40]!r}...")
    assert not leaks, "secrets in the server log:\n" + "\n".join(leaks[:20])


@pytest.mark.last
def test_no_secret_in_audit(guichet):
    rows = repr(guichet.sql("SELECT * FROM authn_audit"))
    leaks = [s for s in guichet.secrets if len(s) >= 8 and s in rows]
    assert not leaks, leaks
