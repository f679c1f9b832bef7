# SPDX-License-Identifier: AGPL-3.0-or-later
"""harness -- a throwaway PostgreSQL cluster and a real guichetd, for tests.

Used by the API tests (conftest.py), the browser tests (tests/run_all) and
the benchmarks in tests/bench.  Nothing here mocks Guichet: the cluster is
a real PostgreSQL 15 on a Unix socket in a temporary folder (no TCP), and
guichetd is the built binary speaking HTTP on a free loopback port.

The checkout may sit where the `postgres` user cannot go (a root user's
~/guichet under /root, mode 0700): everything the cluster's processes
open -- data, socket, log -- is under the temporary folder in /tmp, never
under the checkout.  The cluster's log is copied to tests/artifacts when
the stack closes (tests/api/test_checkout_path.py runs a stack from such
a folder).

PostgreSQL refuses to run as root, so the cluster belongs to the `postgres`
user; guichetd and the tests run as root.  Access follows `./dev`'s
embedded cluster: peer authentication with a map (root may be `guichet` or
`postgres`, the `postgres` user only itself), the socket in a folder only
its owner (and root) can enter, no TCP.  Everything is stopped by PID
(guichetd) or pg_ctl (the cluster) and the folder removed by close().
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
GUICHETD = Path(os.environ.get("GUICHETD", REPO / "build" / "server" / "guichetd"))
PG_BIN = Path("/usr/lib/postgresql/15/bin")
ARTIFACTS = REPO / "tests" / "artifacts"

# The suites' own traffic (hundreds of enrolments from 127.0.0.1, one
# reviewer logging in for many tests, 16 parallel copies of one code, a
# browser going through every page) would trip the default rate limits,
# so their guichetd runs with limits no test reaches -- every request is
# still counted.  tests/api/test_abuse_limits.py runs a guichetd with the
# defaults and reaches each one.
RATE_KEYS = ("enrolment_per_address", "resume_link_per_enrolment",
             "resume_link_per_address", "activation_per_challenge",
             "activation_per_address", "admin_login_per_username",
             "admin_login_per_address", "verify_per_customer",
             "verify_per_api_key", "pin_per_enrolment", "assurance_code_per_customer")
SUITE_LIMITS = {f"GUICHET_RATE_{k.upper()}": "1000000/s" for k in RATE_KEYS}
# Tests ask for resume links back to back: each one makes a new link (by
# default a link younger than 10 minutes is kept; test_abuse_limits.py
# checks that default).
SUITE_LIMITS["GUICHET_RESUME_LINK_MIN_AGE_S"] = "0"


def shared_data_env():
    """GUICHET_* settings for the real data in ../shared/data that is there
    (the OFAC list, MaxMind's GeoIP test databases); read in place."""
    e = {}
    sanctions = SHARED / "data" / "sanctions" / "ofac"
    if sanctions.is_dir():
        e["GUICHET_SANCTIONS_DIR"] = str(sanctions)
    geo = SHARED / "data" / "geoip"
    if (geo / "GeoLite2-Country-Test.mmdb").is_file():
        e["GUICHET_GEOIP_COUNTRY_DB"] = str(geo / "GeoLite2-Country-Test.mmdb")
    if (geo / "GeoIP2-Anonymous-IP-Test.mmdb").is_file():
        e["GUICHET_GEOIP_ANONYMOUS_DB"] = str(geo / "GeoIP2-Anonymous-IP-Test.mmdb")
    return e


def free_port():
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The same rules as PG_HBA and PG_IDENT in ./dev.
PG_HBA = """local all all peer map=guichet
host  all all all reject
"""
PG_IDENT = """guichet root guichet
guichet root postgres
guichet postgres postgres
"""


def _as_postgres(args, **kw):
    return subprocess.run(["runuser", "-u", "postgres", "--"] + [str(a) for a in args],
                          cwd="/", **kw)


class Cluster:
    """A private PostgreSQL 15 cluster under @base (created by init())."""

    def __init__(self, base, durable=False, log_path=None):
        """@log_path: where the server's log ends up (copied there by
        keep_log()); the server itself writes in @base, which the
        `postgres` user can reach wherever the checkout is."""
        self.base = Path(base)
        self.data = self.base / "pg"
        self.sock = self.base / "run"
        self.durable = durable
        self.log_path = self.base / "postgresql.log"
        self.keep_path = Path(log_path) if log_path else None

    def init(self):
        os.chmod(self.base, 0o755)
        for d, mode in ((self.data, 0o700), (self.sock, 0o700)):
            d.mkdir(parents=True, exist_ok=True)
            shutil.chown(d, "postgres", "postgres")
            os.chmod(d, mode)
        _as_postgres([PG_BIN / "initdb", "-D", self.data, "-U", "postgres",
                      "--auth-local=peer", "--auth-host=reject", "-E", "UTF8",
                      "--locale=C.UTF-8", "--no-instructions", "--no-sync"],
                     check=True, stdout=subprocess.DEVNULL)
        for name, text in (("pg_hba.conf", PG_HBA), ("pg_ident.conf", PG_IDENT)):
            (self.data / name).write_text(text)
            shutil.chown(self.data / name, "postgres", "postgres")
            os.chmod(self.data / name, 0o600)
        conf = [
            "listen_addresses = ''",
            f"unix_socket_directories = '{self.sock}'",
            "unix_socket_permissions = 0770",
            "max_connections = 200",
        ]
        if not self.durable:
            # A test cluster need not survive a power cut.
            conf += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        with open(self.data / "postgresql.conf", "a") as f:
            f.write("\n# --- test harness\n" + "\n".join(conf) + "\n")
        self.log_path.touch()
        shutil.chown(self.log_path, "postgres", "postgres")

    def keep_log(self):
        """Copy the server's log to the @log_path given (tests/artifacts)."""
        if self.keep_path is None or not self.log_path.is_file():
            return
        try:
            self.keep_path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.log_path, self.keep_path)
        except OSError:
            pass

    def start(self):
        r = _as_postgres([PG_BIN / "pg_ctl", "-D", self.data, "-l", self.log_path,
                          "-w", "-t", "60", "start"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {r.stdout}\n{self.log_tail()}")

    def stop(self, mode="fast"):
        _as_postgres([PG_BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60",
                      "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def restart(self):
        self.stop()
        self.start()

    def running(self):
        return _as_postgres([PG_BIN / "pg_ctl", "-D", self.data, "status"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0

    def log_tail(self, n=30):
        try:
            return "".join(self.log_path.read_text(errors="replace").splitlines(True)[-n:])
        except OSError:
            return ""

    def conninfo(self, dbname="guichet", user="guichet"):
        return f"host='{self.sock}' dbname={dbname} user={user}"

    def psql(self, sql, dbname="postgres"):
        """Run @sql as the superuser; @return its unaligned tuples-only output."""
        r = subprocess.run([PG_BIN / "psql", "-h", self.sock, "-U", "postgres", "-d", dbname,
                            "-XtAq", "-v", "ON_ERROR_STOP=1", "-c", sql],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"psql failed: {r.stderr}")
        return r.stdout.strip()

    def create_database(self, name, owner="guichet"):
        if self.psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{owner}'") != "1":
            self.psql(f"CREATE ROLE {owner} LOGIN")
        self.psql(f"CREATE DATABASE {name} OWNER {owner}")


class CliError(Exception):
    def __init__(self, args, returncode, stdout, stderr):
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        try:
            self.json = json.loads(stdout)
        except ValueError:
            self.json = None
        super().__init__(f"guichetd {' '.join(map(str, args))} exited {returncode}: "
                         f"stdout={stdout!r} stderr={stderr[-2000:]!r}")


class Guichetd:
    """guichetd's CLI and one `guichetd serve` process."""

    def __init__(self, cluster, keyfile, log_path, env=None, port=None):
        self.cluster = cluster
        self.keyfile = Path(keyfile)
        self.log_path = Path(log_path)
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.extra_env = dict(env or {})
        self.proc = None
        self._log = None

    def env(self, **over):
        """The process environment: ours, minus any inherited GUICHET_*."""
        e = {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_")}
        e.update({
            "GUICHET_DATABASE_URL": self.cluster.conninfo(),
            "GUICHET_LISTEN": f"127.0.0.1:{self.port}",
            "GUICHET_PUBLIC_URL": self.base_url,
            "GUICHET_MASTER_KEY_FILE": str(self.keyfile),
            "GUICHET_MIGRATIONS_DIR": str(REPO / "migrations"),
            "GUICHET_WEB_ROOT": str(REPO / "web"),
        })
        e.update(shared_data_env())
        e.update(self.extra_env)
        e.update({k: str(v) for k, v in over.items()})
        return e

    def cli_run(self, *args, env=None, timeout=120):
        """Run `guichetd ARGS`; @return the CompletedProcess (text)."""
        return subprocess.run([str(GUICHETD)] + [str(a) for a in args],
                              env=env or self.env(), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=timeout)

    def cli(self, *args, env=None, timeout=120):
        """Run `guichetd ARGS`; @return its JSON object; raise CliError on failure."""
        r = self.cli_run(*args, env=env, timeout=timeout)
        if r.returncode != 0:
            raise CliError(args, r.returncode, r.stdout, r.stderr)
        try:
            return json.loads(r.stdout)
        except ValueError:
            raise CliError(args, r.returncode, r.stdout, r.stderr) from None

    def start(self, timeout=30):
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([str(GUICHETD), "serve"], env=self.env(),
                                     stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=self._log, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"guichetd serve exited {self.proc.returncode}:\n"
                                   + self.log_tail())
            try:
                if requests.get(self.base_url + "/readyz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"guichetd not ready at {self.base_url} after {timeout}s:\n"
                           + self.log_tail())

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None
        if self._log:
            self._log.close()
            self._log = None

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, n=40):
        return "".join(self.log_text().splitlines(True)[-n:])


class Stack:
    """A cluster + master key + migrated database + running guichetd."""

    def __init__(self, name, env=None, durable=False, start=True, port=None):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.base = Path(tempfile.mkdtemp(prefix=f"guichet-{name}-", dir="/tmp"))
        self.cluster = Cluster(self.base, durable=durable,
                               log_path=ARTIFACTS / f"{name}-postgresql.log")
        self.keyfile = self.base / "master.key"
        self.server = None
        try:
            if not GUICHETD.is_file():
                raise RuntimeError(f"{GUICHETD} is not built (ninja -C build)")
            self.cluster.init()
            self.cluster.start()
            self.cluster.create_database("guichet")
            self.server = Guichetd(self.cluster, self.keyfile,
                                   ARTIFACTS / f"{name}-guichetd.log", env=env, port=port)
            self.server.log_path.write_bytes(b"")
            self.keyring = self.server.cli("keyring", "create", self.keyfile)
            self.migrated = self.server.cli("migrate")
            if start:
                self.server.start()
        except BaseException:
            self.close()
            raise

    def close(self):
        if self.server is not None:
            self.server.stop()
        if (self.cluster.data / "PG_VERSION").exists():
            self.cluster.stop("immediate" if not self.cluster.durable else "fast")
        self.cluster.keep_log()
        shutil.rmtree(self.base, ignore_errors=True)
