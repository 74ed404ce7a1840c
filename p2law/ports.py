"""Rendezvous ports for the deepspeed launcher: one per run, free at launch time.

Each run prefers a stable port derived from its run id, so concurrent jobs of one workflow
never collide on the launcher's default 29500. Two workflows on one node (a test suite next to
a demo, two checkouts) share run ids, so the preferred port is only taken if nothing listens
on it; otherwise the next free candidate is. The port is chosen in the job's shell, not in
Snakemake params, so it never triggers a rerun.

`python -m p2law.ports RUN_ID` prints the port (stdlib only: it starts in milliseconds).
"""

from __future__ import annotations

import socket
import sys
import zlib

FIRST, SPAN = 29500, 20000


def preferred_port(run_id: str) -> int:
    """A distinct, stable port per run id."""
    return FIRST + zlib.crc32(run_id.encode()) % SPAN


def is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("", port))
        except OSError:
            return False
    return True


def launcher_port(run_id: str, tries: int = 64) -> int:
    """The run's preferred port if free, else the first free one after it (a prime stride)."""
    start = preferred_port(run_id) - FIRST
    for i in range(tries):
        port = FIRST + (start + i * 7919) % SPAN
        if is_free(port):
            return port
    raise RuntimeError(f"{run_id}: no free launcher port among {tries} candidates from "
                       f"{preferred_port(run_id)}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m p2law.ports RUN_ID")
    print(launcher_port(sys.argv[1]))
