"""Send a script's stdout and stderr to its Snakemake log (imported first by every script).

Also pins BLAS/OpenMP to one thread before numpy, scipy or torch load: a multi-threaded BLAS
reduces in a run-dependent order, which made fit diagnostics differ between identical runs in
the last digits; a 1-thread job gets a 1-thread BLAS and byte-identical outputs.
"""

import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def to_log(path: str) -> None:
    handle = open(path, "w", buffering=1)
    sys.stdout = sys.stderr = handle
