"""Generalization splits of paper-spec §7, scored on held-out points, for every law, in one table.

- larger D: fit on the first ``d_fraction`` of each curve's token range on the log axis the
  eval points are spaced on (a linear cut would hold out only the last point), predict the rest;
- larger N0: fit on the smaller base models, predict the largest (needs ≥ 2 training sizes);
- higher ρ: fit on the lower rates of each base model × method, predict the highest; not
  applicable where a model has one rate (2:4 sparsity), which the table says.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import LawInputError
from .fit import fit_law
from .inputs import curve_codes
from .metrics import all_metrics

SPLITS = ("larger_D", "larger_N0", "higher_rho")


def split_larger_d(df: pd.DataFrame, d_fraction: float = 0.6):
    """Per curve: points up to min + d_fraction·(max − min) of log(post-training tokens) train."""
    if not 0 < d_fraction < 1:
        raise LawInputError(f"d_fraction must be in (0, 1), got {d_fraction}")
    post = df[df.tokens > 0]
    codes, _ = curve_codes(post)
    t = np.log(post.tokens.to_numpy(float))
    lo = pd.Series(t).groupby(codes).transform("min").to_numpy()
    hi = pd.Series(t).groupby(codes).transform("max").to_numpy()
    train = t <= lo + d_fraction * (hi - lo)
    return post[train], post[~train]


def split_larger_n0(df: pd.DataFrame, min_train_sizes: int = 2):
    sizes = np.sort(df.n0.unique())
    if sizes.size < min_train_sizes + 1:
        models = sorted(df.model.unique()) if "model" in df else []
        raise LawInputError(
            f"larger-N0 split needs at least {min_train_sizes} training sizes plus a larger held-out "
            f"one; found {sizes.size} base-model size(s) {models}"
        )
    return df[df.n0 < sizes[-1]], df[df.n0 == sizes[-1]]


def split_higher_rho(df: pd.DataFrame):
    top = df.groupby(["model", "method"])["rho"].transform("max")
    n_rates = df.groupby(["model", "method"])["rho"].transform("nunique")
    if (n_rates < 2).any():
        methods = sorted(df.loc[n_rates < 2, "method"].unique())
        why = "2:4 sparsity has one rho per model" if any("24" in m for m in methods) else "one rho per model"
        raise LawInputError(f"higher-rho split not applicable to method(s) {methods}: {why}")
    return df[df.rho < top], df[df.rho == top]


def split_parts(name, df, d_fraction):
    """(train, held-out) parts of one generalization split of `df`."""
    if name == "larger_D":
        return split_larger_d(df, d_fraction)
    if name == "larger_N0":
        return split_larger_n0(df)
    if name == "higher_rho":
        return split_higher_rho(df)
    raise LawInputError(f"unknown split {name!r}; known: {SPLITS}")


def _pi_coverage(fit, test):
    from .bootstrap import bands

    b = bands(fit, test)
    y = test.loss.to_numpy(float)
    return float(np.mean((y >= b.pi_lo.to_numpy()) & (y <= b.pi_hi.to_numpy())))


def generalization_table(df: pd.DataFrame, laws, splits=SPLITS, d_fraction=0.6, group_by=("family", "method"),
                         **fit_kw) -> pd.DataFrame:
    """Fit each law on each split's training part and score the held-out part."""
    rows = []
    for key, part in df.groupby(list(group_by), sort=True):
        base = dict(zip(group_by, key if isinstance(key, tuple) else (key,)))
        for split in splits:
            try:
                train, test = split_parts(split, part[part.tokens > 0], d_fraction)
            except LawInputError as e:
                rows.append({**base, "split": split, "law": None, "status": "not applicable", "note": str(e)})
                continue
            for law in laws:
                row = {**base, "split": split, "law": law, "n_train": len(train), "n_heldout": len(test)}
                try:
                    fit = fit_law(train, law, grid_strict=False, cross_check=False, **fit_kw)
                except LawInputError as e:
                    rows.append({**row, "status": "error", "note": str(e)})
                    continue
                X = fit.variables(test)
                pred = fit.predict(test)
                codes, _ = curve_codes(test)
                m = all_metrics(X["D"], test.loss.to_numpy(float), pred, codes, fit.huber_delta, fit.d_unit)
                row.update({k: m[k] for k in ("r2", "huber", "asd", "asd_unit", "d_unit", "mape", "rmse")})
                row["pi_coverage"] = _pi_coverage(fit, test) if fit.bootstrap else np.nan
                row["converged"] = bool(fit.convergence["converged"])
                row["status"] = "ok" if row["converged"] else "NOT CONVERGED"
                row["note"] = "; ".join(fit.convergence["warnings"])
                rows.append(row)
    return pd.DataFrame(rows)
