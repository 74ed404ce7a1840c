"""Trend analysis on the data, not on a fit (paper-spec §3), with statsmodels OLS.

- Trend 2: per base model × method, log(L − L0) against log ρ at each fixed D (and pooled with one
  intercept per D): slope, its confidence interval, R². Points with L ≤ L0 cannot enter a log and
  are listed in the table, never silently dropped.
- Trend 1 (convergence speed vs N0): per curve, the mean loss drop rate (L_first − L_last) /
  (D_last − D_first) in loss per ``d_unit`` tokens, the quantity of figure F2(b); then, per
  family × method, log(rate) against log N0 with log ρ as a covariate (rates differ between
  models). Smaller models recover faster ⇔ negative coefficient on log N0. Curves must share a
  token range for the rates to compare; the table gives each curve's range.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from .errors import LawInputError
from .inputs import _numeric, _raise, _require_positive
from .metrics import asd_unit

REQUIRED = ("family", "model", "method", "rho", "l0", "tokens", "loss", "n0")


def _check(df):
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise LawInputError(f"trend analysis needs columns {missing}")
    # statsmodels would fail on text or drop NaN rows silently: name the bad cells instead
    problems = []
    values = {col: _numeric(df, col, problems) for col in ("n0", "rho", "l0", "tokens", "loss")}
    for col in ("n0", "rho", "l0", "loss"):
        _require_positive(col, col, values[col], df.index, problems)
    for i in np.flatnonzero(values["tokens"] < 0)[:8]:
        problems.append(f"row {df.index[i]}, column 'tokens': must be >= 0, "
                        f"got {values['tokens'][i]}")
    _raise(problems)


def _excluded(g) -> str:
    bad = g[g.loss <= g.l0]
    return "; ".join(f"rho={r:g},tokens={t:g},loss={v:.6g}<=l0={l:.6g}"
                     for r, t, v, l in zip(bad.rho, bad.tokens, bad.loss, bad.l0))


def _ols(formula, data, term, alpha):
    res = smf.ols(formula, data=data).fit()
    lo, hi = res.conf_int(alpha).loc[term]
    return {"slope": float(res.params[term]), "slope_lo": float(lo), "slope_hi": float(hi),
            "r2": float(res.rsquared), "n_points": int(res.nobs)}


def rho_trend(df: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Trend 2 table: one row per (family, model, method, tokens) plus a pooled 'all' row."""
    _check(df)
    rows = []
    post = df[df.tokens > 0]
    for (fam, model, method), g in post.groupby(["family", "model", "method"], sort=True):
        base = {"family": fam, "model": model, "method": method}
        ok = g[g.loss > g.l0].assign(y=lambda t: np.log(t.loss - t.l0), x=lambda t: np.log(t.rho))
        for tokens, gt in [(t, ok[ok.tokens == t]) for t in sorted(g.tokens.unique())] + [("all", ok)]:
            row = {**base, "tokens": tokens, "excluded_L_le_L0": _excluded(g if tokens == "all" else g[g.tokens == tokens])}
            pooled = tokens == "all"
            need = 2 + (gt.tokens.nunique() if pooled else 1)  # a residual degree of freedom for a CI
            if gt.rho.nunique() < 2 or len(gt) < need:
                rows.append({**row, "note": "fewer than 2 rates (or too few points) above L0: no slope"})
                continue
            formula = "y ~ x + C(tokens)" if pooled and gt.tokens.nunique() > 1 else "y ~ x"
            rows.append({**row, **_ols(formula, gt, "x", alpha), "note": ""})
    return pd.DataFrame(rows)


def curve_speeds(df: pd.DataFrame, d_unit: float = 1e6, min_tokens: float = 0) -> pd.DataFrame:
    """Per curve: mean loss drop rate over its post-training points, loss per d_unit tokens."""
    _check(df)
    rows = []
    post = df[df.tokens >= max(min_tokens, 1)]
    for (fam, model, method, rho), g in post.groupby(["family", "model", "method", "rho"]):
        g = g.sort_values("tokens")
        row = {"family": fam, "model": model, "method": method, "rho": rho, "n0": float(g.n0.iloc[0]),
               "tokens_first": float(g.tokens.iloc[0]), "tokens_last": float(g.tokens.iloc[-1]),
               "d_unit": d_unit, "rate_unit": asd_unit(d_unit)}
        span = (g.tokens.iloc[-1] - g.tokens.iloc[0]) / d_unit
        drop = g.loss.iloc[0] - g.loss.iloc[-1]
        ok = span > 0 and drop > 0
        rows.append({**row, "drop_rate": drop / span if ok else np.nan,
                     "note": "" if ok else "no loss drop over the curve (or a single point)"})
    return pd.DataFrame(rows)


def speed_trend(df: pd.DataFrame, alpha: float = 0.05, d_unit: float = 1e6, min_tokens: float = 0) -> pd.DataFrame:
    """Trend 1 table: per family × method, log(drop rate) ~ log N0 (+ log ρ) across curves."""
    speeds = curve_speeds(df, d_unit, min_tokens).dropna(subset=["drop_rate"])
    rows = []
    for (fam, method), g in speeds.groupby(["family", "method"]):
        row = {"family": fam, "method": method, "n_curves": len(g), "n_sizes": g.n0.nunique()}
        if g.n0.nunique() < 2:
            rows.append({**row, "note": "one base-model size: no N0 trend"})
            continue
        data = g.assign(y=np.log(g.drop_rate), lnN0=np.log(g.n0), lnrho=np.log(g.rho))
        use_rho = g.rho.nunique() > 1 and len(g) > 3
        formula = "y ~ lnN0 + lnrho" if use_rho else "y ~ lnN0"
        if len(g) <= (3 if use_rho else 2):
            rows.append({**row, "note": "too few curves for a confidence interval"})
            continue
        r = _ols(formula, data, "lnN0", alpha)
        rows.append({**row, "coef_lnN0": r["slope"], "coef_lo": r["slope_lo"], "coef_hi": r["slope_hi"],
                     "r2": r["r2"], "smaller_recover_faster": bool(r["slope"] < 0),
                     "note": "log(drop rate) ~ log N0" + (" + log rho" if use_rho else "")})
    return pd.DataFrame(rows)
