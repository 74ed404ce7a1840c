"""Workflow hygiene gates: `snakemake --lint` (every rule has log: and conda:, no mixed
rules and functions, ...) on every shipped config, and `snakefmt --check` (pinned version)."""

import subprocess
import sys
from pathlib import Path

import pytest
from _workflow import snakemake

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@pytest.mark.parametrize("configfile", ["config.yaml", "config/paper.yaml",
                                        "tests/configs/smoke.yaml"])
def test_snakemake_lint_passes(configfile, tmp_path):
    result = snakemake("--lint", "--configfile", str(ROOT / configfile), "--directory",
                       str(tmp_path), timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]


def test_snakefmt_check_passes():
    result = subprocess.run([str(BIN / "snakefmt"), "--check", "--diff", "Snakefile", "rules/"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
