"""Rule figure_trend2: Trend 2, L − L0 against rho on log-log axes with the OLS power law; one
figure per family x method."""

from _log import to_log

to_log(snakemake.log[0])

import pandas as pd
from _pairs import pairs, title

from p2law.analysis import select
from p2law.figures import style
from p2law.figures.trend2 import plot_trend2

params = snakemake.params
table = pd.read_csv(snakemake.input.table)
trend = pd.read_csv(snakemake.input.trend)
for pair, png in zip(pairs(snakemake), snakemake.output.png):
    figure = plot_trend2(
        select(table, *pair),
        select(trend, *pair),
        d_unit=params.units["d"],
        min_tokens=params.min_tokens,
        level=params.level,
        title=title(pair, "Trend 2"),
    )
    style.save(figure, png)
