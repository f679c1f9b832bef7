# SPDX-License-Identifier: AGPL-3.0-or-later
"""`./dev`'s embedded PostgreSQL on a shared machine (issue 12): nobody but
root (guichetd, `./dev psql`, `./dev cli`) and the cluster's owner reaches
it, and a cluster made by an earlier `./dev` (trust for everyone, a
world-open socket) is locked down in place.  Also the API tests' own
throwaway cluster (harness.py), which follows the same rules.

The real `dev` script runs from a copy of the repository's top level in a
private folder (its build/ and migrations/ are links to ours), so it makes
and starts a cluster of its own under that copy's var/, exactly as on a
developer's machine, without touching this work tree's var/."""
import json
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from harness import PG_BIN, REPO, free_port

SOCKET = ".s.PGSQL.5432"


def run(args, user=None, **kw):
    """Run @args (as @user via runuser when given) from /; @return the
    CompletedProcess (text)."""
    if user:
        args = ["runuser", "-u", user, "--"] + [str(a) for a in args]
    return subprocess.run([str(a) for a in args], cwd="/", stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=180, **kw)


def psql(sock, user, db, sql, as_user=None):
    return run([PG_BIN / "psql", "-h", sock, "-U", user, "-d", db, "-XtAq",
                "-v", "ON_ERROR_STOP=1", "-c", sql], user=as_user)


class DevCopy:
    """A copy of the top level with `dev`, running its own cluster."""

    def __init__(self):
        self.base = Path(tempfile.mkdtemp(prefix="guichet-devtest-", dir="/tmp"))
        os.chmod(self.base, 0o755)
        self.repo = self.base / "repo"
        self.repo.mkdir(mode=0o755)
        shutil.copy2(REPO / "dev", self.repo / "dev")
        for name in ("build", "migrations"):
            (self.repo / name).symlink_to(REPO / name)
        self.var = self.repo / "var"
        self.sock = self.var / "run"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_")}
        self.env["GUICHET_LISTEN"] = f"127.0.0.1:{free_port()}"

    def dev(self, *args):
        r = subprocess.run([str(self.repo / "dev"), *map(str, args)], cwd=self.repo,
                           env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=300)
        assert r.returncode == 0, f"./dev {' '.join(args)}: {r.stdout}\n{r.stderr[-3000:]}"
        return r.stdout

    def close(self):
        data = self.var / "pg"
        if (data / "PG_VERSION").exists():
            run([PG_BIN / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"],
                user="postgres")
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture
def devcopy():
    d = DevCopy()
    yield d
    d.close()


def assert_locked_down(sock, db="guichet"):
    """Only root (as guichet or postgres) and postgres (as postgres) get in;
    the socket folder is the owner's alone."""
    sock = Path(sock)
    # anyone else: not even the socket
    for role, database in (("postgres", "postgres"), ("guichet", db)):
        r = psql(sock, role, database, "SELECT 1", as_user="nobody")
        assert r.returncode != 0 and "Permission denied" in r.stderr, r
    st = os.stat(sock)
    assert stat.S_IMODE(st.st_mode) == 0o700, oct(st.st_mode)
    assert st.st_uid == int(run(["id", "-u", "postgres"]).stdout)
    assert stat.S_IMODE(os.stat(sock / SOCKET).st_mode) == 0o770
    # root: as the service's role and as the superuser
    assert psql(sock, "guichet", db, "SELECT current_user").stdout.strip() == "guichet"
    rules = psql(sock, "postgres", "postgres",
                 "SELECT type, auth_method FROM pg_hba_file_rules ORDER BY line_number")
    assert rules.returncode == 0, rules.stderr
    assert rules.stdout.split() == ["local|peer", "host|reject"], rules.stdout
    # the cluster's owner, as itself only
    assert psql(sock, "postgres", "postgres", "SELECT 1", as_user="postgres").stdout.strip() == "1"
    r = psql(sock, "guichet", db, "SELECT 1", as_user="postgres")
    assert r.returncode != 0 and "Peer authentication failed" in r.stderr, r


def test_dev_cluster_refuses_other_local_users(devcopy):
    assert devcopy.dev("psql", "-XtAc", "SELECT current_user").strip() == "guichet"
    out = json.loads(devcopy.dev("cli", "migrate"))
    assert out["pending"] == 0 and out["applied"] > 0, out
    assert_locked_down(devcopy.sock)
    assert stat.S_IMODE(os.stat(devcopy.var).st_mode) & 0o077 in (0o011, 0o000)
    devcopy.dev("stop")
    assert not (devcopy.sock / SOCKET).exists()


def test_dev_locks_down_a_cluster_an_earlier_dev_left_open(devcopy):
    """The recipe of ./dev before this change: initdb -A trust, a socket
    folder open to all, unix_socket_permissions 0777; running."""
    data = devcopy.var / "pg"
    devcopy.var.mkdir(mode=0o755)
    for d, mode in ((data, 0o700), (devcopy.sock, 0o755)):
        d.mkdir()
        shutil.chown(d, "postgres", "postgres")
        os.chmod(d, mode)
    r = run([PG_BIN / "initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
             "--locale=C.UTF-8", "--no-instructions", "--no-sync"], user="postgres")
    assert r.returncode == 0, r.stderr
    with open(data / "postgresql.conf", "a") as f:
        f.write("\n# --- added by ./dev: private cluster, Unix socket only\n"
                "listen_addresses = ''\n"
                f"unix_socket_directories = '{devcopy.sock}'\n"
                "unix_socket_permissions = 0777\nmax_connections = 200\n")
    log = devcopy.var / "postgresql.log"
    log.touch()
    shutil.chown(log, "postgres", "postgres")
    r = run([PG_BIN / "pg_ctl", "-D", data, "-l", log, "-w", "start"], user="postgres")
    assert r.returncode == 0, r.stdout + r.stderr
    psql(devcopy.sock, "postgres", "postgres", "CREATE ROLE guichet LOGIN")
    psql(devcopy.sock, "postgres", "postgres", "CREATE DATABASE guichet OWNER guichet")
    # as it was: any local user is the superuser
    assert psql(devcopy.sock, "postgres", "postgres", "SELECT current_user",
                as_user="nobody").stdout.strip() == "postgres"
    pid = (data / "postmaster.pid").read_text().split()[0]

    assert devcopy.dev("psql", "-XtAc", "SELECT 1").strip() == "1"
    assert_locked_down(devcopy.sock)
    # fixed in place: the same server process, nothing lost
    assert (data / "postmaster.pid").read_text().split()[0] == pid
    devcopy.dev("stop")
    devcopy.dev("start")    # and what it wrote holds after a restart
    assert_locked_down(devcopy.sock)
    devcopy.dev("stop")


def test_the_test_harness_cluster_is_as_strict(guichet):
    assert_locked_down(guichet.cluster.sock)
