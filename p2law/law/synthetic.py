"""Synthetic tidy tables drawn from a law with known parameters: for tests and for checking a fit.

Noise is multiplicative log-normal (sd ``noise`` on log L), matching the log-scale objective, and
per-curve so a bootstrap that resamples curves sees the right structure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .forms import get_form
from .inputs import extract

L1_TRUTH = {"N_C": 0.3, "D_C": 0.2, "E": 0.02, "alpha": 0.5, "beta": 0.6, "gamma": -1.0, "delta": 0.3}


def make_table(law="L1", params=None, n0s=(0.5e6, 1.8e6, 5e6), l0s=None, rhos=(0.1, 0.2, 0.3, 0.4),
               tokens=None, noise=0.0, seed=0, n0_unit=1e6, d_unit=1e6, family="llama",
               method="depth", curve_noise=0.0) -> pd.DataFrame:
    """Tidy table with one curve per (model, ρ), including the D = 0 just-pruned point.

    curve_noise adds one log-scale offset per curve (correlated within a run, as real curves are).
    """
    form = get_form(law)
    params = dict(L1_TRUTH if params is None else params)
    l0s = l0s if l0s is not None else [3.6 - 0.1 * i for i in range(len(n0s))]
    tokens = np.r_[0.0, np.logspace(4, 7, 25)] if tokens is None else np.asarray(tokens, float)
    rows = []
    for i, (n0, l0) in enumerate(zip(n0s, l0s)):
        for rho in rhos:
            for t in tokens:
                rows.append({"family": family, "model": f"{family}-{i}", "n0": float(n0),
                             "n0_nonemb": 0.7 * float(n0), "method": method, "criterion": "synthetic",
                             "rho": float(rho), "rho_nonemb": float(rho), "l0": float(l0),
                             "tokens": float(t), "seed": seed})
    df = pd.DataFrame(rows)
    X = extract(df, form, n0_unit, d_unit)
    with np.errstate(all="ignore"):
        L = form.value(form.from_public(params), X)
    rng = np.random.default_rng(seed)
    _, curve = np.unique(df["model"] + "|" + df["rho"].astype(str), return_inverse=True)
    eps = noise * rng.standard_normal(len(df)) + curve_noise * rng.standard_normal(curve.max() + 1)[curve]
    # the just-pruned loss is finite while every law diverges at D = 0: put it above the curve
    df["loss"] = np.where(df["tokens"] > 0, L * np.exp(eps), np.nan)
    top = df[df.tokens > 0].groupby(["model", "rho"])["loss"].max()
    zero = df.tokens == 0
    df.loc[zero, "loss"] = [top[(m, r)] + 0.5 for m, r in zip(df.model[zero], df.rho[zero])]
    return df
