"""Rule figure_trend2: Trend 2, L − L0 against rho on log-log axes with the OLS power law."""
from _log import to_log

to_log(snakemake.log[0])

import pandas as pd

from p2law.analysis import select
from p2law.figures import style
from p2law.figures.trend2 import plot_trend2

wildcards, params = snakemake.wildcards, snakemake.params
rows = select(pd.read_csv(snakemake.input.table), wildcards.family, wildcards.method)
trend = pd.read_csv(snakemake.input.trend)
trend = trend[(trend["family"] == wildcards.family) & (trend["method"] == wildcards.method)]
figure = plot_trend2(rows, trend, d_unit=params.units["d"], min_tokens=params.min_tokens,
                     level=params.level, title=f"{wildcards.family} / {wildcards.method} pruning: Trend 2")
style.save(figure, snakemake.output.png)
