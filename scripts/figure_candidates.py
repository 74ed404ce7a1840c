"""Rule figure_candidates (F6): R², Huber and ASD of every law from table T5; one figure per
family x method."""

from _log import to_log

to_log(snakemake.log[0])

import pandas as pd
from _pairs import pairs, title

from p2law.analysis import select
from p2law.figures import style
from p2law.figures.candidates import plot_candidates

selection = pd.read_csv(snakemake.input.selection)
for pair, png in zip(pairs(snakemake), snakemake.output.png):
    figure = plot_candidates(select(selection, *pair), title=title(pair, "candidate laws"))
    style.save(figure, png)
