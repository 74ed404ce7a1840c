#!/usr/bin/env bash
# Run by Snakemake inside the new env: DeepSpeed against the torch already installed (its
# setup.py imports torch, hence --no-build-isolation), then this checkout (P2LAW_ROOT is
# exported by rules/common.smk) so rules run its code.
set -euo pipefail
pip install --no-build-isolation deepspeed==0.19.8
pip install --no-deps -e "${P2LAW_ROOT:?set by rules/common.smk}"
