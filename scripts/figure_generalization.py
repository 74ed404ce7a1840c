"""Rule figure_generalization: the three held-out splits, fitted against extrapolated region;
one figure per family x method."""

from _log import to_log

to_log(snakemake.log[0])

import pandas as pd
from _pairs import pairs, per_pair, title

from p2law.analysis import load_split, select
from p2law.figures import style
from p2law.figures.generalization import plot_generalization

params = snakemake.params
table = pd.read_csv(snakemake.input.table)
scores = pd.read_csv(snakemake.input.scores)
splits = per_pair(snakemake.input.splits, pairs(snakemake))
for pair, png in zip(pairs(snakemake), snakemake.output.png):
    figure = plot_generalization(
        select(table, *pair),
        [load_split(path) for path in splits[pair]],
        select(scores, *pair),
        d_unit=params.units["d"],
        level=params.level,
        title=title(pair, "generalization"),
    )
    style.save(figure, png)
