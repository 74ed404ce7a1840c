"""Rule table_selection: table T5, every law x family x method ranked by ASD (paper-spec §4)."""
from _log import to_log

to_log(snakemake.log[0])

from p2law.law import load_fit
from p2law.law.selection import selection_table
from p2law.report_tables import write_table

table = selection_table([load_fit(path) for path in snakemake.input.fits])
unit = table["asd_unit"].iloc[0]
columns = {"family": "family", "method": "method", "law": "law", "k": "k", "r2": "R²",
           "huber": "Huber", "asd": f"ASD ({unit})", "mape": "MAPE", "C1": "C1", "C2": "C2",
           "C3": "C3", "C4": "C4", "C5": "C5", "converged": "converged", "asd_rank": "ASD rank",
           "selected": "selected"}
write_table(table, snakemake.output, columns=columns, label="tab:selection",
            caption=f"Model selection: every law per family and method, ranked by ASD ({unit}); "
            "selected = lowest ASD among converged laws passing C1–C5. In-sample fit points.")
print(table.to_string())
