"""Rule figure_trend1: Trend 1, base models of different size at the same requested rate; one
figure per family x method."""

from _log import to_log

to_log(snakemake.log[0])

import pandas as pd
from _pairs import pairs, title

from p2law.analysis import select
from p2law.figures import style
from p2law.figures.trend1 import plot_trend1

table = pd.read_csv(snakemake.input.table)
speed = pd.read_csv(snakemake.input.speed)
for pair, png in zip(pairs(snakemake), snakemake.output.png):
    figure = plot_trend1(
        select(table, *pair),
        select(speed, *pair),
        d_unit=snakemake.params.units["d"],
        title=title(pair, "Trend 1"),
    )
    style.save(figure, png)
