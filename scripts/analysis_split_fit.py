"""Rule split_fit: every law fitted on each generalization split's training part (paper-spec
§7), for one family x method, one JSON per split x law."""

from _log import to_log

to_log(snakemake.log[0])

import pandas as pd

from p2law.analysis import fit_split, save_json, select

wildcards, params = snakemake.wildcards, snakemake.params
rows = select(pd.read_csv(snakemake.input.table), wildcards.family, wildcards.method)
for (holdout, law), path in zip(params.splits, snakemake.output.fits, strict=True):
    record = fit_split(
        rows,
        holdout,
        law,
        params.d_fraction,
        n0_unit=params.units["n0"],
        d_unit=params.units["d"],
        huber_delta=params.huber_delta,
        min_tokens=params.min_tokens,
        seed=params.seed,
        bootstrap=params.n_boot,
    )
    save_json(record, path)
    print(holdout, law, record["split"])
