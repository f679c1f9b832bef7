# SPDX-License-Identifier: AGPL-3.0-or-later
"""benchcpu -- where the machine's time went during a benchmark's run, from
/proc: guichetd (all its threads, the exited ones included), PostgreSQL
(every process named postgres), the load generator (the bench script's
reaped children: a load generator run with subprocess.run, or joined
worker processes), everything else, and idle.

    before = cpu_snapshot(guichetd_pid)
    ... run the load generator to completion ...
    shares = cpu_shares(before, cpu_snapshot(guichetd_pid))
    # {"guichetd": 0.22, "postgres": 0.46, "client": 0.29, "idle": 0.01,
    #  "other": 0.02}, fractions of all cores' time

Shared by tests/bench/passkeys and tests/bench/transactions.
"""
import os
import resource
from pathlib import Path

NAMES = (("guichetd", "guichetd"), ("postgres", "PostgreSQL"),
         ("client", "the load generator"), ("other", "other"), ("idle", "idle"))


def _ticks(line):
    """utime + stime from a /proc/…/stat line."""
    f = line[line.rindex(")") + 2:].split()
    return int(f[11]) + int(f[12])


def cpu_snapshot(guichetd_pid):
    """Clock ticks used so far by guichetd, PostgreSQL and this script's
    reaped children, and by the whole machine (busy and idle)."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    snap = {"guichetd": 0, "postgres": 0,
            "client": round((kids.ru_utime + kids.ru_stime) * os.sysconf("SC_CLK_TCK"))}
    try:
        snap["guichetd"] = _ticks(Path(f"/proc/{guichetd_pid}/stat").read_text())
    except OSError:
        pass
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                line = (proc / "stat").read_text()
            except OSError:
                continue
            if line[line.index("(") + 1:line.rindex(")")] == "postgres":
                snap["postgres"] += _ticks(line)
    cpu = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    snap["idle"] = cpu[3] + cpu[4]
    snap["total"] = sum(cpu[:8])
    return snap


def cpu_shares(a, b):
    """Each part's share of the machine between snapshots @a and @b."""
    d = {k: b[k] - a[k] for k in a}
    total = d.pop("total") or 1
    s = {k: v / total for k, v in d.items()}
    s["other"] = max(0.0, 1.0 - sum(s.values()))
    return s


def describe(shares):
    """"guichetd 22.0%, PostgreSQL 46.1%, …" """
    return ", ".join(f"{name} {shares[key]:.1%}" for key, name in NAMES)
