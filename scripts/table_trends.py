"""Rule table_trends: Trend 2 (loss vs rho, log-log) and Trend 1 (speed vs N0) with statsmodels."""
from _log import to_log

to_log(snakemake.log[0])

import pandas as pd

from p2law.law.trends import rho_trend, speed_trend
from p2law.report_tables import write_table

out, params = snakemake.output, snakemake.params
table = pd.read_csv(snakemake.input.table)
alpha = 1 - params.level
rho = rho_trend(table, alpha=alpha)
write_table(rho, {"csv": out.rho_csv, "md": out.rho_md, "tex": out.rho_tex, "html": out.rho_html},
            columns={"family": "family", "model": "model", "method": "method", "tokens": "D (tokens)",
                     "slope": "slope", "slope_lo": "CI low", "slope_hi": "CI high", "r2": "R²",
                     "n_points": "n", "excluded_L_le_L0": "excluded (L ≤ L0)", "note": "note"},
            label="tab:trend2",
            caption=f"Trend 2: OLS slope of log(L − L0) on log ρ at each fixed D and pooled ('all', "
            f"one intercept per D), {params.level:.0%} CI.")
speed = speed_trend(table, alpha=alpha, d_unit=params.d_unit, min_tokens=params.min_tokens)
write_table(speed, {"csv": out.speed_csv, "md": out.speed_md, "tex": out.speed_tex,
                    "html": out.speed_html},
            columns={"family": "family", "method": "method", "n_curves": "curves",
                     "n_sizes": "sizes", "coef_lnN0": "coef. log N0", "coef_lo": "CI low",
                     "coef_hi": "CI high", "r2": "R²",
                     "smaller_recover_faster": "smaller recover faster", "note": "model"},
            label="tab:trend1",
            caption=f"Trend 1: OLS of each curve's log mean loss-drop rate on log N0 (and log ρ), "
            f"{params.level:.0%} CI; a negative coefficient means smaller models recover faster.")
print(rho.to_string())
print(speed.to_string())
