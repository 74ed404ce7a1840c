"""glibc malloc settings for the workflow's jobs: keep freed memory for reuse.

Why: numpy and torch free and reallocate the same megabyte-sized temporaries thousands of times
(the bootstrap's batched objective, a training step's activations). By default glibc serves a
block over 128 KiB with mmap and unmaps it on free, and trims the heap top past 128 KiB, so each
reuse page-faults its memory back in from the kernel. On the 2-core CPU machine that was 13 of
136 CPU-s of the fit suite (2.8 million page faults in one bootstrap) and 15 of 96 s of the
post-training throughput benchmark (benchmarks/, docs/performance.md). With blocks up to
256 MiB kept in the heap, and up to 512 MiB of free heap top kept, kernel time fell to 0.6 s
and 2.6 s.

The cost is bounded: a process may hold up to 512 MiB it no longer uses. glibc reads these
variables when a process starts, so they are set in the environment that jobs inherit (the
Snakefile does it for every job); a value the user already set wins.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

MIB = 1 << 20
MALLOC_ENV = {
    "MALLOC_MMAP_THRESHOLD_": str(256 * MIB),  # blocks below this come from the reusable heap
    "MALLOC_TRIM_THRESHOLD_": str(512 * MIB),  # free heap top kept before returning it
}


def malloc_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The settings ``environ`` lacks (a variable it already has is left to it)."""
    return {key: value for key, value in MALLOC_ENV.items() if key not in environ}


def reexec_with_malloc_env(argv: list[str] | None = None) -> None:
    """Restart this Python script with the settings, if its environment lacks them.

    For benchmark scripts run by hand: glibc reads the variables only at start-up, and the
    benchmarks should measure what the workflow's jobs get. Returns only when nothing was missing.
    """
    missing = malloc_env(os.environ)
    if missing:
        argv = sys.argv if argv is None else argv
        os.execve(sys.executable, [sys.executable, *argv], {**os.environ, **missing})
