"""Rule figure_curves: loss against D per base model, one line per rate, L1 overlaid."""
from _log import to_log

to_log(snakemake.log[0])

import pandas as pd

from p2law.figures import style
from p2law.figures.curves import plot_curves
from p2law.law import load_fit

wildcards = snakemake.wildcards
table = pd.read_csv(snakemake.input.table)
rows = table[(table.family == wildcards.family) & (table.method == wildcards.method)]
d_unit = snakemake.params.units["d"]
unit_name = {1e6: "M", 1e9: "B"}.get(d_unit, f"{d_unit:g}")
figure = plot_curves(rows, load_fit(snakemake.input.fit), d_unit=d_unit, d_unit_name=unit_name,
                     title=f"{wildcards.family} / {wildcards.method} pruning")
style.save(figure, snakemake.output.png)
