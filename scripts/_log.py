"""Send a script's stdout and stderr to its Snakemake log (imported first by every script)."""

import sys


def to_log(path: str) -> None:
    handle = open(path, "w", buffering=1)
    sys.stdout = sys.stderr = handle
