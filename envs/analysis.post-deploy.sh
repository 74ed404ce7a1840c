#!/usr/bin/env bash
# Run by Snakemake inside the new env: this checkout (P2LAW_ROOT is exported by
# rules/common.smk), installed without dependencies so the pins above stay as they are.
set -euo pipefail
pip install --no-deps -e "${P2LAW_ROOT:?set by rules/common.smk}"
