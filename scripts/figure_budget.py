"""Rule figure_budget: marginal gain against D with D* marked for each rate and epsilon; one
figure per family x method."""

from _log import to_log

to_log(snakemake.log[0])

import pandas as pd
from _pairs import pairs, per_pair, title

from p2law.analysis import select
from p2law.figures import style
from p2law.figures.budget import plot_budget
from p2law.law import load_fit

table = pd.read_csv(snakemake.input.table)
budget = pd.read_csv(snakemake.input.budget)
fits = per_pair(snakemake.input.fits, pairs(snakemake))
for pair, png in zip(pairs(snakemake), snakemake.output.png):
    figure = plot_budget(
        select(table, *pair),
        load_fit(fits[pair][0]),
        select(budget, *pair),
        title=title(pair, "data budget"),
    )
    style.save(figure, png)
