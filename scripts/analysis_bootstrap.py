"""Rule bootstrap: run-level bootstrap of one family x method's saved fits, one JSON per law,
for parameter intervals, prediction bands and D* intervals."""

from _log import to_log

to_log(snakemake.log[0])

import pandas as pd

from p2law.analysis import add_bootstrap, select
from p2law.law import load_fit

wildcards, params = snakemake.wildcards, snakemake.params
rows = select(pd.read_csv(snakemake.input.table), wildcards.family, wildcards.method)
for source, path in zip(snakemake.input.fits, snakemake.output.fits, strict=True):
    fit = add_bootstrap(load_fit(source), rows, params.n_boot, params.seed, params.level)
    fit.save(path)
    b = fit.bootstrap
    print(
        f"{fit.law} {wildcards.family}/{wildcards.method}: {b['n_converged']}/{b['n']} "
        f"replicates converged ({b['n_scipy']} needed scipy, {b['n_failed']} dropped)"
    )
    for name, (lo, hi) in b["intervals"].items():
        print(f"  {name} = {fit.params[name]:.6g}  [{lo:.6g}, {hi:.6g}]")
