#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""cluster -- Guichet as a bank runs it, on one machine: several guichetd
behind HAProxy, and a PostgreSQL 15 primary with a synchronous streaming
standby.  Used by `./dev cluster up|down|status|...` (state in var/cluster)
and by the fault tests in tests/ha (state in a folder under /tmp).

    HAProxy 127.0.0.1:PORT (TLS, test certificate made here)
      |  health check GET /readyz; X-Forwarded-For set by HAProxy, which
      |  connects from 127.0.0.2, the only address guichetd trusts for it
      +-- guichetd 127.0.0.1:P1 --+
      +-- guichetd 127.0.0.1:P2 --+-- libpq "host=SOCK1,SOCK2
      +-- guichetd 127.0.0.1:P3 --+    target_session_attrs=read-write"
                                       |
                  pg1 (primary) --streaming, synchronous--> pg2 (standby)

PostgreSQL keeps `./dev`'s rules on both nodes: no TCP at all, peer
authentication on a Unix socket in a folder only `postgres` (and root) can
enter; root may be `guichet` or `postgres`, the OS user `postgres` may be
`postgres` or `replicator` -- the role the standby streams as (REPLICATION,
nothing else), through the primary's socket.  Replication therefore needs no
password and no TCP listener.  Each standby streams from a replication slot
of its own name, and the primary lists it in synchronous_standby_names with
synchronous_commit = on: a commit is acknowledged once the standby has the
WAL on disk (remote flush), so a promoted standby has everything any client
was told succeeded.  `remote_apply` would also wait for the standby to
replay it -- only needed to read one's own writes on the standby, which
Guichet never does -- and costs a replay per commit.

Nothing is pointed by hand after a failover: guichetd's connection string
names both sockets, and libpq takes the first that accepts writes.

Every process is started here and stopped by its PID (checked against
/proc/PID/cmdline first, so a recycled PID is never signalled) or by
pg_ctl.  The state (ports, PIDs, which node is which) is in
STATE_DIR/cluster.json so another process (`./dev cluster down`) can stop
what `up` started.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "api"))

from harness import GUICHETD, PG_BIN, REPO, free_port, shared_data_env  # noqa: E402

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
PROXY_SOURCE = "127.0.0.2"      # HAProxy connects to guichetd from here
PG_PORT = 5432                  # each node has a socket folder of its own

PG_HBA = """# written by tests/ha/cluster.py: peer authentication through the map
# in pg_ident.conf; no TCP (listen_addresses is empty, and refused here).
local all         all        peer map=guichet
local replication replicator peer map=guichet
host  all         all all reject
host  replication all all reject
"""
PG_IDENT = """# written by tests/ha/cluster.py
# MAPNAME  SYSTEM-USERNAME  PG-USERNAME
guichet    root             guichet
guichet    root             postgres
guichet    postgres         postgres
guichet    postgres         replicator
"""
CONF_MARK = "# --- added by tests/ha/cluster.py"


def log(msg):
    print(f"[cluster] {msg}", file=sys.stderr, flush=True)


def as_postgres(args, **kw):
    return subprocess.run(["runuser", "-u", "postgres", "--"] + [str(a) for a in args],
                          cwd="/", **kw)


def pid_alive(pid, name):
    """Is @pid a live process whose command line mentions @name?"""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return name.encode() in cmd and stat[stat.rindex(")") + 2] != "Z"


def stop_pid(pid, name, sig=signal.SIGTERM, timeout=10.0):
    """Signal @pid (only if it is still @name) and wait for it to go."""
    if not pid or not pid_alive(pid, name):
        return
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.waitpid(pid, os.WNOHANG)     # our child: reap it
        except ChildProcessError:
            pass
        if not pid_alive(pid, name):
            return
        time.sleep(0.05)
    if pid_alive(pid, name):
        os.kill(pid, signal.SIGKILL)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


def children_of(pid):
    """PIDs whose parent is @pid."""
    out = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            stat = (p / "stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
            out.append(int(p.name))
    return out


# ------------------------------------------------------------------ PostgreSQL

class PgNode:
    """One PostgreSQL 15 server under @base/@name: data in pg/, socket in run/."""

    def __init__(self, base, name):
        self.name = name
        self.dir = Path(base) / name
        self.data = self.dir / "pg"
        self.sock = self.dir / "run"
        self.log_path = self.dir / "postgresql.log"

    # ---- files

    def _mkdirs(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o711)
        for d in (self.data, self.sock):
            d.mkdir(exist_ok=True)
            shutil.chown(d, "postgres", "postgres")
            os.chmod(d, 0o700)
        self.log_path.touch()
        shutil.chown(self.log_path, "postgres", "postgres")
        os.chmod(self.log_path, 0o600)

    def _put(self, name, text):
        p = self.data / name
        p.write_text(text)
        shutil.chown(p, "postgres", "postgres")
        os.chmod(p, 0o600)

    def configure(self, sync_standbys=(), upstream=None):
        """Write the access rules and this script's block of postgresql.conf.
        @sync_standbys: names a primary waits for (empty: asynchronous);
        @upstream: the PgNode this one streams from (a standby), or None."""
        self._put("pg_hba.conf", PG_HBA)
        self._put("pg_ident.conf", PG_IDENT)
        conf = self.data / "postgresql.conf"
        text = conf.read_text()
        if CONF_MARK in text:
            text = text[:text.index(CONF_MARK)].rstrip("\n") + "\n"
        names = ", ".join(f'"{n}"' for n in sync_standbys)
        block = [
            CONF_MARK + ": Unix socket only, peer authentication (pg_hba.conf)",
            "listen_addresses = ''",
            f"unix_socket_directories = '{self.sock}'",
            "unix_socket_permissions = 0770",
            f"port = {PG_PORT}",
            "max_connections = 200",
            f"cluster_name = '{self.name}'",
            "wal_level = replica",
            "max_wal_senders = 4",
            "max_replication_slots = 4",
            "max_slot_wal_keep_size = '1GB'",
            "wal_log_hints = on",
            "hot_standby = on",
            "synchronous_commit = on",
            f"synchronous_standby_names = '{('FIRST 1 (' + names + ')') if names else ''}'",
        ]
        if upstream is not None:
            block += [f"primary_conninfo = 'host={upstream.sock} port={PG_PORT}"
                      f" user=replicator application_name={self.name}'",
                      f"primary_slot_name = '{self.name}'"]
        conf.write_text(text + "\n" + "\n".join(block) + "\n")
        # pg_basebackup -R would have put its own primary_conninfo here
        auto = self.data / "postgresql.auto.conf"
        if auto.exists():
            lines = [ln for ln in auto.read_text().splitlines()
                     if not ln.startswith(("primary_conninfo", "primary_slot_name"))]
            auto.write_text("\n".join(lines) + "\n")

    # ---- life

    def initdb(self):
        self._mkdirs()
        as_postgres([PG_BIN / "initdb", "-D", self.data, "-U", "postgres",
                     "--auth-local=peer", "--auth-host=reject", "-E", "UTF8",
                     "--locale=C.UTF-8", "--no-instructions"],
                    check=True, stdout=subprocess.DEVNULL)

    def basebackup_from(self, primary):
        """Make this node a copy of @primary's, streaming from a slot named
        after it (created by pg_basebackup on the primary)."""
        if self.data.exists():
            shutil.rmtree(self.data)
        self._mkdirs()
        primary.psql(f"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
                     f" WHERE slot_name = '{self.name}'")
        r = as_postgres([PG_BIN / "pg_basebackup", "-D", self.data, "-h", primary.sock,
                         "-p", PG_PORT, "-U", "replicator", "-X", "stream", "-C", "-S",
                         self.name, "--checkpoint=fast", "-R"],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"pg_basebackup from {primary.name} failed: {r.stdout}")
        (self.data / "standby.signal").touch()
        shutil.chown(self.data / "standby.signal", "postgres", "postgres")

    def start(self):
        r = as_postgres([PG_BIN / "pg_ctl", "-D", self.data, "-l", self.log_path, "-w",
                         "-t", "60", "start"],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"{self.name}: pg_ctl start failed: {r.stdout}\n"
                               + self.log_tail())

    def stop(self, mode="fast"):
        if (self.data / "PG_VERSION").exists():
            as_postgres([PG_BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60",
                         "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def postmaster_pid(self):
        try:
            pid = int((self.data / "postmaster.pid").read_text().split("\n")[0])
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid, "postgres") else None

    def kill(self):
        """What a power cut does to this node: SIGKILL to the postmaster and
        to each of its processes (by PID), no shutdown checkpoint, no
        goodbye to the clients.  @return the PIDs killed."""
        pm = self.postmaster_pid()
        if pm is None:
            return []
        kids = children_of(pm)
        os.kill(pm, signal.SIGKILL)
        for k in kids:
            try:
                if pid_alive(k, "postgres"):
                    os.kill(k, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(pid_alive(p, "postgres")
                                                  for p in [pm] + kids):
            time.sleep(0.02)
        return [pm] + kids

    def promote(self):
        r = as_postgres([PG_BIN / "pg_ctl", "-D", self.data, "-w", "-t", "60", "promote"],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"{self.name}: pg_ctl promote failed: {r.stdout}")

    def running(self):
        return self.postmaster_pid() is not None

    def log_tail(self, n=30):
        try:
            return "".join(self.log_path.read_text(errors="replace").splitlines(True)[-n:])
        except OSError:
            return ""

    # ---- SQL

    def psql(self, sql, dbname="postgres", timeout=30):
        """@sql as the superuser; @return its unaligned tuples-only output."""
        r = subprocess.run([PG_BIN / "psql", "-h", self.sock, "-p", str(PG_PORT), "-U",
                            "postgres", "-d", dbname, "-XtAq", "-v", "ON_ERROR_STOP=1",
                            "-c", sql], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"{self.name}: psql failed: {r.stderr.strip()}")
        return r.stdout.strip()

    def in_recovery(self):
        return self.psql("SELECT pg_is_in_recovery()") == "t"


# ------------------------------------------------------------------ TLS

def make_certificate(tls):
    """A throwaway CA and a server certificate for 127.0.0.1 and localhost
    (P-256, two days), made with the openssl command.  @return the CA file
    clients trust; HAProxy reads server.pem (certificate + key, 0600)."""
    tls.mkdir(parents=True, exist_ok=True)
    os.chmod(tls, 0o700)

    def run(*args):
        subprocess.run([OPENSSL, *map(str, args)], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)

    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", tls / "ca.key", "-out", tls / "ca.pem", "-days", "2",
        "-subj", "/CN=Guichet cluster test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", tls / "server.key", "-out", tls / "server.csr",
        "-subj", "/CN=127.0.0.1")
    ext = tls / "server.ext"
    ext.write_text("basicConstraints=critical,CA:FALSE\n"
                   "keyUsage=critical,digitalSignature\n"
                   "extendedKeyUsage=serverAuth\n"
                   "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("x509", "-req", "-in", tls / "server.csr", "-CA", tls / "ca.pem", "-CAkey",
        tls / "ca.key", "-CAcreateserial", "-out", tls / "server.crt", "-days", "2",
        "-extfile", ext)
    pem = tls / "server.pem"
    pem.write_bytes((tls / "server.crt").read_bytes() + (tls / "server.key").read_bytes())
    os.chmod(pem, 0o600)
    for name in ("ca.key", "server.key", "server.csr", "server.ext", "ca.srl"):
        (tls / name).unlink(missing_ok=True)
    return tls / "ca.pem"


# ------------------------------------------------------------------ HAProxy

def haproxy_config(c):
    """HAProxy's configuration for cluster @c (see the top of this file).

    Two backends hold the same guichetd processes.  `guichetd` checks
    /readyz: an instance that cannot reach a primary (or has migrations
    pending) gets no traffic.  When none is ready -- the database itself is
    away -- the frontend sends requests to `guichetd_alive`, checked on
    /healthz, so clients get guichetd's own 503 database_unavailable (JSON,
    as API.md says) and service resumes the moment a primary is back, not
    two health checks later.  Only when no process answers at all does
    HAProxy answer 503 itself (in the API's error format).

    A connection refused by a dead instance is tried again on another
    (retry-on conn-failure, option redispatch): the request never left, so
    that is safe for any method.  A request that reached an instance which
    then died is not replayed by HAProxy: the client sees 502 and decides
    (idempotent requests and Idempotency-Keys make that safe)."""
    servers = "\n".join(
        f"  server g{i + 1} 127.0.0.1:{p} source {PROXY_SOURCE}"
        for i, p in enumerate(c.state["guichetd_ports"]))
    state = c.state
    return f"""# written by tests/ha/cluster.py
global
  log stderr format raw local0 {state.get("haproxy_log_level", "info")}
  stats socket {c.dir / "haproxy.sock"} mode 600 level admin
  user haproxy
  group haproxy
  chroot {c.dir / "haproxy-root"}
  ssl-default-bind-options ssl-min-ver TLSv1.2

defaults
  mode http
  log global
  option httplog
  option dontlognull
  timeout connect 2s
  timeout client 40s
  timeout server 40s
  timeout http-request 10s
  timeout http-keep-alive 10s
  timeout queue 5s
  retries 2
  retry-on conn-failure
  option redispatch 1
  errorfile 503 {c.dir / "haproxy-503.http"}

frontend guichet
  bind 127.0.0.1:{state["haproxy_port"]} ssl crt {c.dir / "tls" / "server.pem"} alpn http/1.1
  # The edge: a client's own X-Forwarded-For is nobody's business; HAProxy
  # sets it to the connection's address (option forwardfor), and guichetd
  # believes it only from {PROXY_SOURCE} (trusted_proxies).
  # per-client connection cap and slow-header deadline are the proxy's job
  # (docs/security-abuse.md): guichetd exempts the proxy's address
  stick-table type ip size 100k expire 60s store conn_cur
  tcp-request connection track-sc0 src
  tcp-request connection reject if {{ sc0_conn_cur gt {state.get("per_client_connections", 500)} }}
  http-request del-header X-Forwarded-For
  option forwardfor
  http-request set-header X-Forwarded-Proto https
  use_backend guichetd_alive if {{ nbsrv(guichetd) eq 0 }}
  default_backend guichetd

backend guichetd
  balance leastconn
  option httpchk
  http-check send meth GET uri /readyz
  http-check expect status 200
  default-server check inter 1s fall 2 rise 2
{servers}

backend guichetd_alive
  balance leastconn
  option httpchk
  http-check send meth GET uri /healthz
  http-check expect status 200
  default-server check inter 1s fall 2 rise 1
{servers}
"""


ERROR_503 = (b"HTTP/1.1 503 Service Unavailable\r\n"
             b"Content-Type: application/json; charset=utf-8\r\n"
             b"Cache-Control: no-store\r\n"
             b"Retry-After: 2\r\n"
             b"Connection: close\r\n\r\n"
             b'{"error": {"code": "service_unavailable", '
             b'"message": "No Guichet instance answers; try again in a moment."}}\n')


# ------------------------------------------------------------------ the cluster

class Cluster:
    """The whole thing, under folder @base.  Construct, then up(); or
    Cluster.load(base) to act on one another process started."""

    def __init__(self, base, instances=3, haproxy_port=None, env=None, sync=True,
                 workers=8, ports=None):
        self.dir = Path(base)
        self.state_path = self.dir / "cluster.json"
        self.state = {
            "instances": instances,
            "haproxy_port": haproxy_port or free_port(),
            "guichetd_ports": ports or [free_port() for _ in range(instances)],
            "guichetd_pids": [None] * instances,
            "haproxy_pid": None,
            "nodes": ["pg1", "pg2"],
            "primary": "pg1",
            "sync": sync,
            "workers": workers,
            "env": dict(env or {}),
        }
        self.procs = {}            # our children (Popen), by name, to reap them

    @classmethod
    def load(cls, base):
        c = cls.__new__(cls)
        c.dir = Path(base)
        c.state_path = c.dir / "cluster.json"
        c.state = json.loads(c.state_path.read_text())
        c.procs = {}
        return c

    def save(self):
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=2) + "\n")
        os.chmod(tmp, 0o600)
        tmp.replace(self.state_path)

    # ---- names and addresses

    def node(self, name):
        return PgNode(self.dir, name)

    @property
    def nodes(self):
        return [self.node(n) for n in self.state["nodes"]]

    @property
    def primary(self):
        return self.node(self.state["primary"])

    @property
    def standbys(self):
        return [n for n in self.nodes if n.name != self.state["primary"]]

    @property
    def url(self):
        return f"https://127.0.0.1:{self.state['haproxy_port']}"

    @property
    def ca(self):
        return self.dir / "tls" / "ca.pem"

    @property
    def keyfile(self):
        return self.dir / "master.key"

    def instance_url(self, i):
        return f"http://127.0.0.1:{self.state['guichetd_ports'][i]}"

    def conninfo(self, dbname="guichet", user="guichet"):
        """The string every guichetd gets: both nodes' sockets, and only a
        server that accepts writes will do."""
        hosts = ",".join(str(n.sock) for n in self.nodes)
        return (f"host={hosts} port={PG_PORT} dbname={dbname} user={user}"
                f" target_session_attrs=read-write connect_timeout=3")

    # ---- bring up

    def up(self):
        if GUICHETD is None or not Path(GUICHETD).is_file():
            raise RuntimeError(f"{GUICHETD} is not built (ninja -C build)")
        if not os.access(HAPROXY, os.X_OK):
            raise RuntimeError("haproxy is not installed (apt-get install haproxy; ./dev does it)")
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o711)
        if as_postgres(["test", "-x", self.dir]).returncode != 0:
            raise RuntimeError(f"the postgres user cannot reach {self.dir}")
        self.save()
        try:
            self._up_postgres()
            self._up_guichetd()
            self._up_haproxy()
        except BaseException:
            self.down()
            raise

    def _up_postgres(self):
        p, s = self.node("pg1"), self.node("pg2")
        log(f"PostgreSQL: initdb {p.name}")
        p.initdb()
        # asynchronous until the standby exists: a primary waiting for a
        # standby that is not there yet would not even commit CREATE ROLE
        p.configure(sync_standbys=[])
        p.start()
        p.psql("CREATE ROLE replicator REPLICATION LOGIN")
        p.psql("CREATE ROLE guichet LOGIN")
        p.psql("CREATE DATABASE guichet OWNER guichet")
        log(f"PostgreSQL: {s.name} from pg_basebackup of {p.name}")
        s.basebackup_from(p)
        s.configure(upstream=p)
        s.start()
        p.configure(sync_standbys=[s.name] if self.state["sync"] else [])
        p.psql("SELECT pg_reload_conf()")
        self.wait_replication()

    def wait_replication(self, timeout=60):
        """Until every standby streams (and, when synchronous, is the sync one)."""
        want = "sync" if self.state["sync"] else "async"
        deadline = time.monotonic() + timeout
        got = ""
        while time.monotonic() < deadline:
            got = self.primary.psql("SELECT application_name || ':' || state || ':' || sync_state"
                                    " FROM pg_stat_replication ORDER BY 1")
            names = {ln.split(":")[0]: ln for ln in got.splitlines()}
            if all(names.get(s.name, "").endswith(f":streaming:{want}")
                   for s in self.standbys):
                return
            time.sleep(0.2)
        raise RuntimeError(f"replication not {want} after {timeout}s: {got!r}")

    def env(self, i):
        e = {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_")}
        e.update({
            "GUICHET_DATABASE_URL": self.conninfo(),
            "GUICHET_LISTEN": f"127.0.0.1:{self.state['guichetd_ports'][i]}",
            "GUICHET_PUBLIC_URL": self.url,
            "GUICHET_MASTER_KEY_FILE": str(self.keyfile),
            "GUICHET_MIGRATIONS_DIR": str(REPO / "migrations"),
            "GUICHET_WEB_ROOT": str(REPO / "web"),
            "GUICHET_TRUSTED_PROXIES": PROXY_SOURCE,
            "GUICHET_WORKERS": str(self.state["workers"]),
        })
        e.update(shared_data_env())
        e.update(self.state["env"])
        return e

    def cli(self, *args, timeout=120, stdin=None):
        """`guichetd ARGS` against the cluster; @return its JSON answer."""
        r = subprocess.run([str(GUICHETD), *map(str, args)], env=self.env(0),
                           input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"guichetd {' '.join(map(str, args))}: {r.stdout} "
                               f"{r.stderr[-1500:]}")
        return json.loads(r.stdout)

    def _up_guichetd(self):
        log("guichetd: keyring, migrations")
        self.cli("keyring", "create", self.keyfile)
        self.cli("migrate")
        for i in range(self.state["instances"]):
            self.start_instance(i, wait=False)
        for i in range(self.state["instances"]):
            self.wait_instance(i)

    def start_instance(self, i, wait=True):
        logf = open(self.dir / f"guichetd-{i + 1}.log", "ab")
        os.chmod(logf.name, 0o600)
        p = subprocess.Popen([str(GUICHETD), "serve"], env=self.env(i), stdin=subprocess.DEVNULL,
                             stdout=logf, stderr=logf, start_new_session=True)
        logf.close()
        self.procs[f"g{i}"] = p
        self.state["guichetd_pids"][i] = p.pid
        self.save()
        if wait:
            self.wait_instance(i)
        return p.pid

    def wait_instance(self, i, timeout=30):
        import requests
        deadline = time.monotonic() + timeout
        pid = self.state["guichetd_pids"][i]
        while time.monotonic() < deadline:
            if not pid_alive(pid, "guichetd"):
                raise RuntimeError(f"guichetd {i + 1} exited:\n{self.instance_log_tail(i)}")
            try:
                if requests.get(self.instance_url(i) + "/readyz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"guichetd {i + 1} not ready after {timeout}s:\n"
                           + self.instance_log_tail(i))

    def instance_log_tail(self, i, n=30):
        try:
            text = (self.dir / f"guichetd-{i + 1}.log").read_text(errors="replace")
        except OSError:
            return ""
        return "".join(text.splitlines(True)[-n:])

    def kill_instance(self, i):
        """SIGKILL guichetd @i (by its PID).  @return the PID."""
        pid = self.state["guichetd_pids"][i]
        if pid and pid_alive(pid, "guichetd"):
            os.kill(pid, signal.SIGKILL)
            p = self.procs.pop(f"g{i}", None)
            if p is not None:
                p.wait(10)
        self.state["guichetd_pids"][i] = None
        self.save()
        return pid

    def stop_instance(self, i):
        pid = self.state["guichetd_pids"][i]
        stop_pid(pid, "guichetd")
        p = self.procs.pop(f"g{i}", None)
        if p is not None:
            p.wait(10)
        self.state["guichetd_pids"][i] = None
        self.save()

    def _up_haproxy(self):
        make_certificate(self.dir / "tls")
        root = self.dir / "haproxy-root"
        root.mkdir(exist_ok=True)
        os.chmod(root, 0o755)
        (self.dir / "haproxy-503.http").write_bytes(ERROR_503)
        cfg = self.dir / "haproxy.cfg"
        cfg.write_text(haproxy_config(self))
        r = subprocess.run([HAPROXY, "-c", "-q", "-f", str(cfg)], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"haproxy -c refused the configuration:\n{r.stdout}")
        self.start_haproxy()

    def start_haproxy(self, wait=True, replace=None):
        """Start HAProxy (in the foreground of a session of its own).
        @replace: the PID of a running HAProxy to hand over to (-sf: the old
        one stops listening and finishes its connections)."""
        logf = open(self.dir / "haproxy.log", "ab")
        os.chmod(logf.name, 0o600)
        args = [HAPROXY, "-db", "-f", str(self.dir / "haproxy.cfg")]
        if replace:
            args += ["-sf", str(replace)]
        p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                             start_new_session=True)
        logf.close()
        old = self.procs.pop("haproxy", None)
        self.procs["haproxy"] = p
        if old is not None:
            self.procs["haproxy-old"] = old
        self.state["haproxy_pid"] = p.pid
        self.save()
        if wait:
            self.wait_haproxy()
        return p.pid

    def stop_haproxy(self, sig=signal.SIGTERM):
        stop_pid(self.state["haproxy_pid"], "haproxy", sig=sig)
        for name in ("haproxy", "haproxy-old"):
            p = self.procs.pop(name, None)
            if p is not None:
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    pass
        self.state["haproxy_pid"] = None
        self.save()

    def reap(self):
        """Reap children that ended (an old HAProxy after -sf)."""
        for name, p in list(self.procs.items()):
            if p.poll() is not None:
                del self.procs[name]

    def wait_haproxy(self, timeout=30, servers=None):
        """Until HAProxy answers /readyz with 200 through TLS and sees
        @servers (default: every running instance) up."""
        import requests
        want = servers if servers is not None else sum(
            1 for p in self.state["guichetd_pids"] if p and pid_alive(p, "guichetd"))
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                with requests.Session() as s:
                    s.trust_env = False
                    r = s.get(self.url + "/readyz", timeout=2, verify=str(self.ca))
                last = r.status_code
                if r.status_code == 200 and self.servers_up() >= want:
                    return
            except (requests.RequestException, OSError) as e:
                last = e
            time.sleep(0.1)
        raise RuntimeError(f"HAProxy not serving after {timeout}s (last: {last})")

    def haproxy_cmd(self, cmd):
        """One command on HAProxy's stats socket; @return its answer."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect(str(self.dir / "haproxy.sock"))
            s.sendall(cmd.encode() + b"\n")
            out = b""
            while True:
                b = s.recv(65536)
                if not b:
                    break
                out += b
        finally:
            s.close()
        return out.decode(errors="replace")

    def server_states(self):
        """{(backend, server): status} from HAProxy's `show stat`."""
        out = {}
        try:
            text = self.haproxy_cmd("show stat")
        except OSError:
            return out
        lines = text.splitlines()
        if not lines or not lines[0].startswith("# "):
            return out
        head = lines[0][2:].split(",")
        for ln in lines[1:]:
            row = dict(zip(head, ln.split(",")))
            if row.get("svname") not in (None, "FRONTEND", "BACKEND"):
                out[(row["pxname"], row["svname"])] = row.get("status", "")
        return out

    def servers_up(self, backend="guichetd"):
        return sum(1 for (b, _), st in self.server_states().items()
                   if b == backend and st.startswith("UP"))

    def sessions_by_server(self):
        """{server: [session lines]} of HAProxy's `show sess` (which
        instance holds which client connection right now)."""
        out = {}
        try:
            text = self.haproxy_cmd("show sess")
        except OSError:
            return out
        for ln in text.splitlines():
            srv = [f[4:] for f in ln.split() if f.startswith("srv=")]
            if srv and srv[0].lower() not in ("", "<none>"):
                out.setdefault(srv[0], []).append(ln)
        return out

    # ---- faults

    def kill_primary(self):
        """SIGKILL every process of the primary.  @return the PIDs."""
        return self.primary.kill()

    def promote(self, name=None):
        """Promote standby @name (default: the first) and make it the primary
        in the state file.  It runs without a synchronous standby until
        rejoin() gives it one: a primary that waited for a standby that no
        longer exists would accept no write at all."""
        new = self.node(name) if name else self.standbys[0]
        new.promote()
        new.configure(sync_standbys=[])
        new.psql("SELECT pg_reload_conf()")
        self.state["primary"] = new.name
        self.save()
        return new

    def rejoin(self, name):
        """Make node @name (a dead or old primary) a standby of the current
        primary again: a fresh pg_basebackup (its old data may hold WAL the
        new primary never had), then synchronous again."""
        old = self.node(name)
        if old.running():
            old.stop("fast")
        old.basebackup_from(self.primary)
        old.configure(upstream=self.primary)
        old.start()
        self.primary.configure(sync_standbys=[old.name] if self.state["sync"] else [])
        self.primary.psql("SELECT pg_reload_conf()")
        self.wait_replication()

    # ---- down and status

    def down(self):
        self.stop_haproxy()
        # every instance told at once, then each waited for
        for pid in self.state["guichetd_pids"]:
            if pid and pid_alive(pid, "guichetd"):
                os.kill(pid, signal.SIGTERM)
        for i in range(len(self.state["guichetd_pids"])):
            self.stop_instance(i)
        for n in self.nodes:
            if n.running():
                n.stop("fast")

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def status(self):
        import requests
        out = {"url": self.url, "ca": str(self.ca), "haproxy": None, "guichetd": [],
               "postgresql": []}
        hp = self.state.get("haproxy_pid")
        out["haproxy"] = {"pid": hp, "running": bool(hp and pid_alive(hp, "haproxy")),
                          "servers": {f"{b}/{s}": st for (b, s), st
                                      in sorted(self.server_states().items())}}
        for i, pid in enumerate(self.state["guichetd_pids"]):
            ready = None
            if pid and pid_alive(pid, "guichetd"):
                try:
                    ready = requests.get(self.instance_url(i) + "/readyz", timeout=3).status_code
                except requests.RequestException:
                    ready = "no answer"
            out["guichetd"].append({"name": f"g{i + 1}", "url": self.instance_url(i), "pid": pid,
                                    "running": bool(pid and pid_alive(pid, "guichetd")),
                                    "readyz": ready})
        for n in self.nodes:
            row = {"name": n.name, "socket": str(n.sock), "running": n.running()}
            if row["running"]:
                try:
                    row["role"] = "standby" if n.in_recovery() else "primary"
                    if row["role"] == "primary":
                        row["replication"] = n.psql(
                            "SELECT string_agg(application_name || ' ' || state || ' '"
                            " || sync_state || ' replay_lag=' || coalesce(replay_lag::text, '0'),"
                            " '; ') FROM pg_stat_replication")
                        row["synchronous_standby_names"] = n.psql(
                            "SHOW synchronous_standby_names")
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    row["error"] = str(e)
            out["postgresql"].append(row)
        return out


# ------------------------------------------------------------------ command line

def print_status(st):
    print(f"HAProxy     {st['url']}  "
          f"{'running (pid %s)' % st['haproxy']['pid'] if st['haproxy']['running'] else 'stopped'}")
    for k, v in st["haproxy"]["servers"].items():
        print(f"  {k:<24} {v}")
    for g in st["guichetd"]:
        state = f"running (pid {g['pid']}), /readyz {g['readyz']}" if g["running"] else "stopped"
        print(f"guichetd {g['name']} {g['url']:<24} {state}")
    for n in st["postgresql"]:
        if not n["running"]:
            print(f"postgresql {n['name']}  stopped  ({n['socket']})")
            continue
        line = f"postgresql {n['name']}  {n.get('role', '?'):<8} ({n['socket']})"
        if n.get("replication") is not None:
            line += f"  standbys: {n['replication'] or 'none'}"
            line += f"  synchronous_standby_names='{n.get('synchronous_standby_names', '')}'"
        if n.get("error"):
            line += f"  error: {n['error']}"
        print(line)
    print(f"CA          {st['ca']}  (curl --cacert {st['ca']} {st['url']}/readyz)")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="cluster", description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", required=True, help="state folder (./dev: var/cluster)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="make and start the whole cluster")
    up.add_argument("--instances", type=int, default=3)
    up.add_argument("--port", type=int, default=8443, help="HAProxy's TLS port")
    up.add_argument("--first-instance-port", type=int, default=8481)
    up.add_argument("--async", dest="sync", action="store_false",
                    help="asynchronous replication (for the data-loss experiment)")
    sub.add_parser("down", help="stop everything and remove the folder")
    sub.add_parser("status", help="what runs, who is primary, HAProxy's view")
    sub.add_parser("failover", help="SIGKILL the primary, promote the standby")
    rj = sub.add_parser("rejoin", help="make a node a standby of the primary again")
    rj.add_argument("node")
    ki = sub.add_parser("kill-instance", help="SIGKILL guichetd N (1-based)")
    ki.add_argument("n", type=int)
    si = sub.add_parser("start-instance", help="start guichetd N again")
    si.add_argument("n", type=int)
    sub.add_parser("restart-haproxy", help="stop HAProxy and start it again")
    a = ap.parse_args(argv)
    base = Path(a.dir)
    if a.cmd == "up":
        if (base / "cluster.json").exists():
            c = Cluster.load(base)
            if any(n.running() for n in c.nodes) or c.state.get("haproxy_pid"):
                print_status(c.status())
                log("already up (./dev cluster down first to make a new one)")
                return 0
            c.remove()
        if not 1 <= a.instances <= 9:
            ap.error("--instances: 1 to 9")
        ports = [a.first_instance_port + i for i in range(a.instances)]
        c = Cluster(base, instances=a.instances, haproxy_port=a.port, sync=a.sync, ports=ports)
        c.up()
        print_status(c.status())
        return 0
    if not (base / "cluster.json").exists():
        if a.cmd == "down":
            log("no cluster")
            shutil.rmtree(base, ignore_errors=True)
            return 0
        log(f"no cluster in {base} (./dev cluster up)")
        return 1
    c = Cluster.load(base)
    if a.cmd == "down":
        c.down()
        c.remove()
        log("stopped and removed")
    elif a.cmd == "status":
        print_status(c.status())
    elif a.cmd == "failover":
        old = c.primary
        pids = c.kill_primary()
        log(f"killed {old.name} (PIDs {', '.join(map(str, pids))})")
        new = c.promote()
        log(f"promoted {new.name}; `rejoin {old.name}` makes {old.name} its standby again")
    elif a.cmd == "rejoin":
        c.rejoin(a.node)
        print_status(c.status())
    elif a.cmd == "kill-instance":
        log(f"killed guichetd g{a.n} (pid {c.kill_instance(a.n - 1)})")
    elif a.cmd == "start-instance":
        log(f"started guichetd g{a.n} (pid {c.start_instance(a.n - 1)})")
    elif a.cmd == "restart-haproxy":
        c.stop_haproxy()
        c.start_haproxy()
        log(f"HAProxy restarted (pid {c.state['haproxy_pid']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
