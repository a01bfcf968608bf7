"""Resource use of a running process from /proc (Linux): resident memory, threads, open files."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class ProcessSample:
    elapsed_s: float
    rss_mib: float
    threads: int
    open_fds: int


def sample(pid: int, elapsed_s: float) -> ProcessSample:
    fields = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status").read().splitlines() if ":" in line)
    rss_mib = int(fields["VmRSS"].split()[0]) / 1024.0
    return ProcessSample(elapsed_s, rss_mib, int(fields["Threads"]), len(os.listdir(f"/proc/{pid}/fd")))
