"""Rule figure_budget: marginal gain against D with D* marked for each rate and epsilon."""
from _log import to_log

to_log(snakemake.log[0])

import pandas as pd

from p2law.analysis import select
from p2law.figures import style
from p2law.figures.budget import plot_budget
from p2law.law import load_fit

wildcards = snakemake.wildcards
rows = select(pd.read_csv(snakemake.input.table), wildcards.family, wildcards.method)
budget = select(pd.read_csv(snakemake.input.budget), wildcards.family, wildcards.method)
figure = plot_budget(rows, load_fit(snakemake.input.fit), budget,
                     title=f"{wildcards.family} / {wildcards.method} pruning: data budget")
style.save(figure, snakemake.output.png)
