"""Rule table_fits: tables T4 (parameters with bootstrap intervals) and T8 (fit diagnostics)."""
from _log import to_log

to_log(snakemake.log[0])

from p2law.analysis import diagnostics_table, params_table
from p2law.law import load_fit
from p2law.report_tables import GREEK, write_table

out = snakemake.output
fits = [load_fit(path) for path in snakemake.input.fits]
params = params_table(fits)
shown = params.assign(param=params["param"].map(lambda p: GREEK.get(p, p)))
level = params["level"].dropna().iloc[0] if params["level"].notna().any() else 0.95
units = f"N0 in units of {fits[0].n0_unit:g} parameters, D in units of {fits[0].d_unit:g} tokens"
write_table(shown.assign(level=level), {"csv": out.params_csv, "md": out.params_md,
            "tex": out.params_tex, "html": out.params_html},
            columns={"family": "family", "method": "method", "law": "law", "param": "parameter",
                     "estimate": "estimate", "lo": f"{level:.0%} CI low", "hi": f"{level:.0%} CI high",
                     "n_boot_converged": "bootstrap fits", "converged": "converged"},
            label="tab:params",
            caption=f"Fitted parameters with run-level bootstrap intervals ({units}).")
diag = diagnostics_table(fits)
write_table(diag, {"csv": out.diag_csv, "md": out.diag_md, "tex": out.diag_tex, "html": out.diag_html},
            columns={"family": "family", "method": "method", "law": "law", "k": "k",
                     "converged": "converged", "n_starts": "starts", "n_agree": "agreeing starts",
                     "objective": "best objective", "grad_norm": "grad norm",
                     "at_bound": "at bound", "crosscheck_max_rel_diff": "cross-check max rel. diff",
                     "boot_failed": "bootstrap dropped"},
            label="tab:diagnostics",
            caption="Fit diagnostics: multi-start L-BFGS-B convergence, parameters at a bound and "
            "the unbounded least-squares cross-check.")
print(params.to_string())
print(diag.to_string())
