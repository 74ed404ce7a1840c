"""Rule table_generalization: table T6, each law scored on each split's held-out points."""
from _log import to_log

to_log(snakemake.log[0])

import pandas as pd

from p2law.analysis import generalization_rows
from p2law.report_tables import write_table

files = dict(zip(map(tuple, snakemake.params.split_keys), snakemake.input.splits, strict=True))
table = generalization_rows(pd.read_csv(snakemake.input.table), files, snakemake.params.level)
unit = table["asd_unit"].dropna().iloc[0] if "asd_unit" in table and table["asd_unit"].notna().any() else ""
level = snakemake.params.level
columns = {"family": "family", "method": "method", "split": "split", "law": "law",
           "n_train": "n fit", "n_heldout": "n held out", "r2": "R²", "huber": "Huber",
           "asd": f"ASD ({unit})", "mape": "MAPE", "pi_coverage": f"{level:.0%} PI coverage",
           "status": "status"}
write_table(table, snakemake.output, columns=columns, label="tab:generalization",
            caption="Generalization: each law fitted on a split's training part and scored on its "
            "held-out points (larger D, larger N0, higher ρ); 'not applicable' says why.")
print(table.to_string())
