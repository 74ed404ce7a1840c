"""Rule figure_curves: loss against D per base model, one line per rate, law + prediction band."""
from _log import to_log

to_log(snakemake.log[0])

import pandas as pd

from p2law.analysis import select
from p2law.figures import style
from p2law.figures.curves import plot_curves
from p2law.law import load_fit

wildcards, params = snakemake.wildcards, snakemake.params
rows = select(pd.read_csv(snakemake.input.table), wildcards.family, wildcards.method)
figure = plot_curves(rows, load_fit(snakemake.input.fit), d_unit=params.units["d"],
                     level=params.level, title=f"{wildcards.family} / {wildcards.method} pruning")
style.save(figure, snakemake.output.png)
