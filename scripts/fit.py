"""Rule fit: every law fitted to one family x method of the eval-loss table, one JSON each."""

from _log import to_log

to_log(snakemake.log[0])

import json

import pandas as pd

from p2law.analysis import select
from p2law.law import fit_law

wildcards, params = snakemake.wildcards, snakemake.params
points = select(pd.read_csv(snakemake.input.table), wildcards.family, wildcards.method)
for law, path in zip(params.laws, snakemake.output.fits, strict=True):
    fit = fit_law(
        points,
        law=law,
        n0_unit=params.units["n0"],
        d_unit=params.units["d"],
        huber_delta=params.huber_delta,
        min_tokens=params.min_tokens,
        seed=params.seed,
    )
    fit.save(path)
    print(
        law,
        json.dumps(
            {"params": fit.params, "metrics": fit.metrics, "convergence": fit.convergence},
            indent=2,
            default=str,
        ),
    )
    if not fit.convergence["converged"]:
        print(
            f"WARNING: the {law} fit for {wildcards.family}/{wildcards.method} did not "
            "converge; its JSON says so and figures mark it"
        )
