"""Rule fit: one law fitted to one family x method of the eval-loss table."""
from _log import to_log

to_log(snakemake.log[0])

import json

import pandas as pd

from p2law.law import fit_law

wildcards, params = snakemake.wildcards, snakemake.params
table = pd.read_csv(snakemake.input.table)
points = table[(table.family == wildcards.family) & (table.method == wildcards.method)]
fit = fit_law(
    points, law=wildcards.law, n0_unit=params.units["n0"], d_unit=params.units["d"],
    huber_delta=params.huber_delta, min_tokens=params.min_tokens, seed=params.seed,
)
fit.save(snakemake.output.fit)
print(json.dumps({"params": fit.params, "metrics": fit.metrics, "convergence": fit.convergence},
                 indent=2, default=str))
if not fit.convergence["converged"]:
    print(f"WARNING: the {wildcards.law} fit for {wildcards.family}/{wildcards.method} did not "
          "converge; its JSON says so and figures mark it")
