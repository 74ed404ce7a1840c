"""Rule figure_slopes (F5): observed against predicted consecutive-point slopes, what ASD
measures, one panel per fitted law; one figure per family x method."""

from _log import to_log

to_log(snakemake.log[0])

import pandas as pd
from _pairs import pairs, per_pair, title

from p2law.analysis import select
from p2law.figures import style
from p2law.figures.slopes import plot_slopes
from p2law.law import load_fit

table = pd.read_csv(snakemake.input.table)
fits = per_pair(snakemake.input.fits, pairs(snakemake))
for pair, png in zip(pairs(snakemake), snakemake.output.png):
    figure = plot_slopes(
        select(table, *pair),
        [load_fit(path) for path in fits[pair]],
        title=title(pair, "slope agreement"),
    )
    style.save(figure, png)
