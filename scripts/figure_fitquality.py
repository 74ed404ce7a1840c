"""Rule figure_fitquality: predicted against observed loss, one panel per fitted law."""
from _log import to_log

to_log(snakemake.log[0])

import pandas as pd

from p2law.analysis import select
from p2law.figures import style
from p2law.figures.fitquality import plot_fitquality
from p2law.law import load_fit

wildcards = snakemake.wildcards
rows = select(pd.read_csv(snakemake.input.table), wildcards.family, wildcards.method)
fits = [load_fit(path) for path in snakemake.input.fits]
figure = plot_fitquality(rows, fits, title=f"{wildcards.family} / {wildcards.method} pruning: fit quality")
style.save(figure, snakemake.output.png)
