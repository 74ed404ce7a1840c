"""Rule figure_curves: loss against D per base model, one line per rate, law + prediction band;
one figure per family x method."""

from _log import to_log

to_log(snakemake.log[0])

import pandas as pd
from _pairs import pairs, per_pair, title

from p2law.analysis import select
from p2law.figures import style
from p2law.figures.curves import plot_curves
from p2law.law import load_fit

params = snakemake.params
table = pd.read_csv(snakemake.input.table)
fits = per_pair(snakemake.input.fits, pairs(snakemake))
for pair, png in zip(pairs(snakemake), snakemake.output.png):
    figure = plot_curves(
        select(table, *pair),
        load_fit(fits[pair][0]),
        d_unit=params.units["d"],
        level=params.level,
        title=title(pair),
    )
    style.save(figure, png)
