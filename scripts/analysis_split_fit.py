"""Rule split_fit: one law fitted on one generalization split's training part (paper-spec §7)."""
from _log import to_log

to_log(snakemake.log[0])

import pandas as pd

from p2law.analysis import fit_split, save_json, select

wildcards, params = snakemake.wildcards, snakemake.params
rows = select(pd.read_csv(snakemake.input.table), wildcards.family, wildcards.method)
record = fit_split(
    rows, wildcards.holdout, wildcards.law, params.d_fraction, n0_unit=params.units["n0"],
    d_unit=params.units["d"], huber_delta=params.huber_delta, min_tokens=params.min_tokens,
    seed=params.seed, bootstrap=params.n_boot,
)
save_json(record, snakemake.output.fit)
print(record["split"])
