"""Rule table_budget: table T7, D* where the marginal gain falls to epsilon (paper-spec §8)."""
from _log import to_log

to_log(snakemake.log[0])

import pandas as pd

from p2law.analysis import budget_table
from p2law.law import load_fit
from p2law.law.metrics import d_unit_label
from p2law.report_tables import write_table

params = snakemake.params
fits = [load_fit(path) for path in snakemake.input.fits]
table = budget_table(fits, pd.read_csv(snakemake.input.table), params.epsilon, params.level)
d_unit = fits[0].d_unit
name = d_unit_label(d_unit)
shown = table.assign(d_star_s=table["d_star"] / d_unit, lo_s=table["d_star_lo"] / d_unit,
                     hi_s=table["d_star_hi"] / d_unit, last_s=table["tokens_last"] / d_unit)
write_table(shown, snakemake.output,
            columns={"family": "family", "method": "method", "law": "law", "model": "model",
                     "rho": "ρ", "epsilon": f"ε (loss/{name})", "d_star_s": f"D* ({name})",
                     "lo_s": f"{params.level:.0%} CI low", "hi_s": f"{params.level:.0%} CI high",
                     "last_s": f"last D run ({name})", "converged": "fit converged"},
            label="tab:budget",
            caption=f"Data budget: D* where the fitted law's marginal gain |∂L/∂D| falls to ε, per "
            f"run, with run-level bootstrap intervals; D in {name}.")
print(table.to_string())
