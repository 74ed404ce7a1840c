"""Model-selection table (paper-spec §4, table T5): every law × family × method, ranked by ASD.

The selected form is the lowest-ASD converged form passing all of C1–C5 (a condition that cannot
be tested, e.g. C4 with one N0, does not disqualify). The compression law's own OLS fit is shown
as an extra, unranked row; its Huber fit is the ranked one (paper-spec §6).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .fit import Fit, fit_law

CONDITIONS = ("C1", "C2", "C3", "C4", "C5")


def _row(fit: Fit, law: str, metrics: dict, ranked: bool, note: str = "") -> dict:
    cond = fit.conditions or {}
    row = {"family": ",".join(fit.meta.get("family", [])), "method": ",".join(fit.meta.get("method", [])),
           "law": law, "k": fit.form.k, "r2": metrics["r2"], "huber": metrics["huber"],
           "asd": metrics["asd"], "asd_unit": metrics["asd_unit"], "d_unit": fit.d_unit,
           "mape": metrics["mape"], "rmse": metrics["rmse"], "n_points": metrics["n_points"],
           "converged": bool(fit.convergence.get("converged")), "ranked": ranked}
    for c in CONDITIONS:
        row[c] = cond.get(c)
    row["conditions_all"] = cond.get("all")
    row["warnings"] = "; ".join(fit.convergence.get("warnings", []))
    row["note"] = note or fit.form.note
    return row


def selection_table(fits: list[Fit]) -> pd.DataFrame:
    """One row per fit (plus compression-OLS rows), ranked within each family × method."""
    rows = []
    for fit in fits:
        rows.append(_row(fit, fit.law, fit.metrics, True))
        ols = fit.extra.get("ols")
        if ols and "metrics" in ols:
            rows.append(_row(fit, fit.law + "-OLS", ols["metrics"], False, "authors' OLS on log L; not ranked"))
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    df["asd_rank"] = np.nan
    df["selected"] = False
    df["l1_rank"] = np.nan
    for _, idx in df.groupby(["family", "method"]).groups.items():
        g = df.loc[idx]
        ranked = g[g.ranked]
        df.loc[ranked.index, "asd_rank"] = ranked["asd"].rank(method="min")
        ok = ranked[ranked.converged & (ranked.conditions_all != False)]  # noqa: E712 (None passes)
        if len(ok):
            df.loc[ok["asd"].idxmin(), "selected"] = True
        l1 = ranked[ranked.law == "L1"]
        if len(l1):
            df.loc[idx, "l1_rank"] = float(df.loc[l1.index[0], "asd_rank"])
    return df.sort_values(["family", "method", "asd_rank"], na_position="last").reset_index(drop=True)


def fit_all(df: pd.DataFrame, laws, group_by=("family", "method"), **fit_kw) -> list[Fit]:
    """Fit each law to each family × method group of a tidy table."""
    fits = []
    for _, part in df.groupby(list(group_by), sort=True):
        for law in laws:
            fits.append(fit_law(part, law, grid_strict=False, **fit_kw))
    return fits
