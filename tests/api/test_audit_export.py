# SPDX-License-Identifier: AGPL-3.0-or-later
"""The audit log for reviewers (issue 14): a date range (since, until) and
a CSV export of the same filters, which is itself audited, quotes what
needs quoting (and, by construction, never lets a cell start a
spreadsheet formula: a leading = + - @ is written after a ')."""
import csv
import io
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import assert_error  # noqa: E402
from test_admin import Admin  # noqa: E402


def test_until_and_since_bound_the_entries(guichet):
    s = Admin(guichet, "reviewer").login()
    [(mid,)] = guichet.sql("SELECT to_char(now() AT TIME ZONE 'UTC',"
                           " 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
    Admin(guichet, "reviewer")          # an admin.create row after mid
    before = s.get(guichet.url("/v1/admin/audit"), params={"until": mid, "limit": 200},
                   timeout=10).json()["entries"]
    after = s.get(guichet.url("/v1/admin/audit"), params={"since": mid, "limit": 200},
                  timeout=10).json()["entries"]
    assert before and after
    assert all(e["at"] < mid for e in before) and all(e["at"] >= mid for e in after)
    assert not {e["id"] for e in before} & {e["id"] for e in after}
    assert_error(s.get(guichet.url("/v1/admin/audit"), params={"until": "yesterday"},
                       timeout=10), 400, "bad_request")


def test_export_is_csv_of_the_filters_and_is_audited(guichet):
    reviewer = Admin(guichet, "reviewer")
    s = reviewer.login()
    r = s.get(guichet.url("/v1/admin/audit"), params={"action": "admin.login",
                                                      "actor": reviewer.username}, timeout=10)
    [login] = r.json()["entries"]
    r = s.get(guichet.url("/v1/admin/audit/export"),
              params={"action": "admin.login", "actor": reviewer.username}, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in r.headers["Content-Disposition"]
    assert r.headers["Guichet-Truncated"] == "false"
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["id", "at", "actor", "action", "target", "details", "hash"]
    assert rows[1][:5] == [str(login["id"]), login["at"], reviewer.username, "admin.login",
                           login["target"]]
    assert json.loads(rows[1][5]) == login["details"] and rows[1][6] == login["hash"]
    assert len(rows) == 2
    # the export is audited, with its filters
    [(actor, details)] = guichet.sql("SELECT actor, details FROM audit_log WHERE"
                                     " action = 'audit.export' AND actor = %s", reviewer.username)
    assert details["action"] == "admin.login" and details["rows"] == 1
    assert details["truncated"] is False
    # details (JSON with commas and quotes) come back whole through quoting
    admin = Admin(guichet, "admin")
    r = s.get(guichet.url("/v1/admin/audit/export"),
              params={"action": "admin.create", "target": admin.username}, timeout=10)
    [row] = list(csv.reader(io.StringIO(r.text)))[1:]
    assert json.loads(row[5]) == {"role": "admin"} or json.loads(row[5])["role"] == "admin"
    n = guichet.sql_value("SELECT count(*) FROM audit_log")
    r = s.get(guichet.url("/v1/admin/audit/export"), params={"since": "not a time"}, timeout=10)
    assert_error(r, 400, "bad_request")
    assert guichet.sql_value("SELECT count(*) FROM audit_log") == n


def test_export_roles(guichet):
    for role, status in (("support", 403), ("advisor", 403), ("admin", 200)):
        s = Admin(guichet, role).login()
        r = s.get(guichet.url("/v1/admin/audit/export"), params={"limit": 1}, timeout=10)
        assert r.status_code == status, (role, r.text)
