"""Rule figure_trend1: Trend 1, base models of different size at the same requested rate."""
from _log import to_log

to_log(snakemake.log[0])

import pandas as pd

from p2law.analysis import select
from p2law.figures import style
from p2law.figures.trend1 import plot_trend1

wildcards = snakemake.wildcards
rows = select(pd.read_csv(snakemake.input.table), wildcards.family, wildcards.method)
speed = select(pd.read_csv(snakemake.input.speed), wildcards.family, wildcards.method)
figure = plot_trend1(rows, speed, d_unit=snakemake.params.units["d"],
                     title=f"{wildcards.family} / {wildcards.method} pruning: Trend 1")
style.save(figure, snakemake.output.png)
