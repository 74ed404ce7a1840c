"""Rule figure_generalization: the three held-out splits, fitted against extrapolated region."""
from _log import to_log

to_log(snakemake.log[0])

import pandas as pd

from p2law.analysis import load_split, select
from p2law.figures import style
from p2law.figures.generalization import plot_generalization

wildcards, params = snakemake.wildcards, snakemake.params
rows = select(pd.read_csv(snakemake.input.table), wildcards.family, wildcards.method)
scores = select(pd.read_csv(snakemake.input.scores), wildcards.family, wildcards.method)
splits = [load_split(path) for path in snakemake.input.splits]
figure = plot_generalization(rows, splits, scores, d_unit=params.units["d"], level=params.level,
                             title=f"{wildcards.family} / {wildcards.method} pruning: generalization")
style.save(figure, snakemake.output.png)
