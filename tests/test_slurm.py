"""A real SLURM cluster (tests/slurm/run_local_slurm.sh): the smoke config run through
`--profile profiles/slurm` submits every cluster job with sbatch and gives the same tables as
the local smoke run (the session's `smoke_run`, shared with tests/test_workflow.py).

Runs wherever it can: as root with SLURM installed or apt-get to install it (CI: Debian 12).
Elsewhere it is skipped with the reason; P2LAW_SLURM_TEST=0 skips it on purpose."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tests" / "slurm" / "run_local_slurm.sh"
TABLES = ("eval_loss.csv", "pruning.csv", "curve_checks.csv")


def _skip_reason():
    if os.environ.get("P2LAW_SLURM_TEST") == "0":
        return "P2LAW_SLURM_TEST=0"
    if sys.platform != "linux" or os.geteuid() != 0:
        return "needs root: installs and starts slurmctld, slurmd and munge"
    if not (shutil.which("slurmctld") or shutil.which("apt-get")):
        return "needs apt-get (Debian/Ubuntu) to install SLURM"
    return None


pytestmark = pytest.mark.skipif(_skip_reason() is not None, reason=str(_skip_reason()))


@pytest.fixture(scope="module")
def slurm_run(tmp_path_factory, smoke_run):
    """(SLURM work directory, local smoke run directory)."""
    work = tmp_path_factory.mktemp("slurm")
    local, _ = smoke_run
    env = dict(os.environ, PYTHON=sys.executable)
    result = subprocess.run(["bash", str(SCRIPT), str(work), str(local)], env=env,
                            capture_output=True, text=True, timeout=5400)
    if result.returncode == 77:
        pytest.skip("a SLURM controller is already running on this machine")
    if result.returncode == 78:
        pytest.skip(f"SLURM is not installed and apt-get could not install it: {result.stderr[-500:]}")
    logs = "".join(f"\n--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(work.glob("*.log")))
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:] + logs
    return work, local


def _jobs(log: str) -> dict[int, tuple[str, bool]]:
    """Snakemake job id -> (rule, local) from a run's log."""
    pattern = re.compile(r"^(local)?rule (\w+):\n(?:    .*\n)*?    jobid: (\d+)$", re.M)
    return {int(m[3]): (m[2], bool(m[1])) for m in pattern.finditer(log)}


def test_tables_match_a_local_run(slurm_run):
    work, local = slurm_run
    for name in TABLES:
        cluster = (work / "slurm/results/tables" / name).read_bytes()
        assert cluster == (local / "results/tables" / name).read_bytes(), name


def test_every_cluster_job_was_submitted_with_sbatch(slurm_run):
    work, _ = slurm_run
    log = (work / "slurm.log").read_text()
    jobs = _jobs(log)
    submitted = {int(job): int(slurm) for job, slurm in
                 re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", log)}
    cluster_jobs = {job for job, (_, local) in jobs.items() if not local}
    assert cluster_jobs and cluster_jobs == set(submitted)
    assert len(set(submitted.values())) == len(submitted)  # one sbatch allocation per job
    posttrain = [job for job, (rule, _) in jobs.items() if rule == "posttrain"]
    config = yaml.safe_load((ROOT / "tests/configs/smoke.yaml").read_text())
    runs = len(config["models"]) * sum(
        len(spec["rates"]) for spec in config["pruning"]["methods"].values())
    assert len(posttrain) == runs and all(job in submitted for job in posttrain)
    local_rules = {rule for rule, local in jobs.values() if local}
    assert {"all", "table", "fit"} <= local_rules


def test_the_controller_ran_every_submitted_job(slurm_run):
    """slurmctld's own log: each job Snakemake submitted was allocated and exited 0."""
    work, _ = slurm_run
    log = (work / "slurm.log").read_text()
    ids = {int(i) for i in re.findall(r"submitted with SLURM jobid (\d+)", log)}
    ctld = (work / "cluster/log/slurmctld.log").read_text()
    assert {int(i) for i in re.findall(r"submit_batch_job: JobId=(\d+)", ctld)} == ids
    started = re.findall(r"Allocate JobId=(\d+) .*Partition=debug|Started JobId=(\d+) in debug",
                         ctld)  # the main scheduler or backfill
    assert {int(a or b) for a, b in started} == ids
    assert {int(i) for i in re.findall(r"_job_complete: JobId=(\d+) WEXITSTATUS 0", ctld)} == ids
