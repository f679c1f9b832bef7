# SPDX-License-Identifier: AGPL-3.0-or-later
"""The test harness works from a checkout the `postgres` user cannot
enter: a root user's ~/guichet under /root (mode 0700).  The tree is
copied below a 0700 folder, and harness.Stack -- a throwaway cluster, a
migrated database, a running guichetd -- is started from the copy, as
./dev test would, and answers a request.  The cluster's data, socket and
log stay out of the checkout (only root could write there), and its log is
kept in the copy's tests/artifacts once the stack closes."""
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from harness import GUICHETD, REPO

# Run from the copy: the harness it imports is the copy's own.
SCRIPT = r"""
import json, sys
from pathlib import Path
sys.path.insert(0, "tests/api")
import requests
import harness
assert harness.REPO == Path.cwd().resolve(), (harness.REPO, Path.cwd())
s = harness.Stack("checkout-path", env={"GUICHET_ARGON2_M_KIB": "1024",
                                        "GUICHET_ARGON2_T": "1", "GUICHET_ARGON2_P": "1"})
try:
    key = s.server.cli("apikey", "create", "--name", "checkout-path")["key"]
    r = requests.post(s.server.base_url + "/v1/authn/verify", timeout=30,
                      headers={"Authorization": "Bearer " + key},
                      json={"customer_id": "cus_" + "N" * 22, "pin": "480713", "otp": "123456"})
    out = {"readyz": requests.get(s.server.base_url + "/readyz", timeout=10).status_code,
           "verify": r.status_code, "code": r.json()["error"]["code"],
           "keys": s.cluster.psql("SELECT count(*) FROM api_keys", dbname="guichet"),
           "base": str(s.base), "sock": str(s.cluster.sock), "pg_log": str(s.cluster.log_path)}
finally:
    s.close()
print(json.dumps(out))
"""


SKIP = {".git", "build", "build-sanitize", "build-fuzz", "var", "node_modules", "artifacts"}


def tracked_files():
    """The working tree's files that git knows or would add (not build/,
    var/, node_modules or artifacts); without git, the tree less those."""
    r = subprocess.run(["git", "-C", REPO, "ls-files", "-z", "--cached", "--others",
                        "--exclude-standard"], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL)
    if r.returncode == 0:
        return [p for p in r.stdout.decode().split("\0") if p and (REPO / p).is_file()]
    return [str(p.relative_to(REPO)) for p in REPO.rglob("*")
            if p.is_file() and not SKIP & set(p.relative_to(REPO).parts)]


@pytest.fixture
def closed_checkout():
    """A copy of the tree at <tmp>/root/guichet, <tmp>/root being 0700 and
    root's; build/ is a link to this checkout's (the binaries)."""
    tmp = Path(tempfile.mkdtemp(prefix="guichet-checkout-", dir="/tmp"))
    try:
        home = tmp / "root"
        home.mkdir(mode=0o700)
        os.chmod(home, 0o700)
        copy = home / "guichet"
        for rel in tracked_files():
            dst = copy / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, dst)
        (copy / "build").symlink_to(GUICHETD.resolve().parents[1])
        yield copy
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_harness_runs_from_a_folder_postgres_cannot_enter(closed_checkout):
    copy = closed_checkout
    # the premise: postgres cannot reach the checkout, root can
    denied = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(copy)],
                            cwd="/")
    assert denied.returncode != 0, "postgres can enter the 0700 folder: the test proves nothing"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_")}
    if "GUICHETD" in os.environ:        # the sanitized build (./dev test --sanitize)
        env["GUICHETD"] = os.environ["GUICHETD"]
    r = subprocess.run(["/usr/bin/python3", "-c", SCRIPT], cwd=copy, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=180)
    assert r.returncode == 0, f"the harness failed from {copy}:\n{r.stderr[-4000:]}"
    out = json.loads(r.stdout.strip().splitlines()[-1])
    # it served: the database is reachable and migrated, the API answers
    assert out["readyz"] == 200, out
    assert (out["verify"], out["code"]) == (401, "authentication_failed"), out
    assert out["keys"] == "1", out
    # nothing of the cluster was under the checkout, and all of it is gone
    for k in ("base", "sock", "pg_log"):
        assert not Path(out[k]).resolve().is_relative_to(copy.parent), out
    assert not Path(out["base"]).exists(), "the stack's folder was left behind"
    # the logs were kept in the copy's artifacts, the cluster's one included
    kept = copy / "tests" / "artifacts" / "checkout-path-postgresql.log"
    assert kept.is_file() and "database system is ready" in kept.read_text(), kept
    assert (copy / "tests" / "artifacts" / "checkout-path-guichetd.log").is_file()
    # and nothing in the checkout belongs to postgres (it could not have
    # written there: a file of its own would mean the harness tried)
    pg_uid = pwd.getpwnam("postgres").pw_uid
    owned = [str(p) for p in copy.rglob("*") if not p.is_symlink() and p.lstat().st_uid == pg_uid]
    assert owned == [], owned


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
