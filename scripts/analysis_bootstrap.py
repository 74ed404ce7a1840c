"""Rule bootstrap: run-level bootstrap of one saved fit, for intervals, bands and D* intervals."""
from _log import to_log

to_log(snakemake.log[0])

import pandas as pd

from p2law.analysis import add_bootstrap, select
from p2law.law import load_fit

wildcards, params = snakemake.wildcards, snakemake.params
rows = select(pd.read_csv(snakemake.input.table), wildcards.family, wildcards.method)
fit = add_bootstrap(load_fit(snakemake.input.fit), rows, params.n_boot, params.seed, params.level)
fit.save(snakemake.output.fit)
b = fit.bootstrap
print(f"{wildcards.law} {wildcards.family}/{wildcards.method}: {b['n_converged']}/{b['n']} "
      f"replicates converged ({b['n_scipy']} needed scipy, {b['n_failed']} dropped)")
for name, (lo, hi) in b["intervals"].items():
    print(f"  {name} = {fit.params[name]:.6g}  [{lo:.6g}, {hi:.6g}]")
