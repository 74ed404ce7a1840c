"""Shared test settings: one thread, offline, so tests behave as on the 2-core CI machine."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import torch  # noqa: E402
from _workflow import smoke_args, snakemake  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """The smoke config run once locally: the workflow tests check it, and the SLURM test uses
    it as the local reference its cluster run must reproduce (one smoke DAG less in CI)."""
    workdir = tmp_path_factory.mktemp("smoke")
    args = smoke_args(workdir)
    result = snakemake(*args)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    return workdir, args
