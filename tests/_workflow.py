"""Running Snakemake from tests: the venv's own snakemake, with the venv first on PATH so that
shell rules find its python and deepspeed."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "tests" / "configs" / "smoke.yaml"


def snakemake(*args, cwd=ROOT, timeout=1500, **env):
    """`python -m snakemake ARGS` in cwd; keyword arguments are extra environment variables."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}", **env)
    return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def smoke_args(workdir) -> tuple:
    return ("--cores", "2", "--configfile", str(SMOKE), "--directory", str(workdir))
