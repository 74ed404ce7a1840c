"""Data budget (paper-spec §8): how many post-training tokens a pruned model (N0, ρ, L0) needs.

- D* where the marginal gain |∂L/∂D| falls to ε (ε in loss per ``d_unit`` tokens);
- D needed to reach a target loss, or "unreachable" when the target is below the plateau.
L1 uses the closed forms of §8; every other form is solved numerically on log D (same answers for
L1, tested). Bootstrap fits give intervals; replicates where the target is unreachable are counted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from .errors import LawInputError
from .metrics import asd_unit

LOG_D_RANGE = (np.log(1e-9), np.log(1e15))  # search range for D in d_unit
_H = 1e-4  # relative step for the numerical D-slope


def _point(n0, rho, l0, d_scaled, d_unit):
    d = np.atleast_1d(np.asarray(d_scaled, float))
    return pd.DataFrame({"n0": float(n0), "rho": float(rho), "l0": float(l0), "tokens": d * d_unit})


def _loss(fit, theta, n0, rho, l0, d_scaled):
    return fit.predict(_point(n0, rho, l0, d_scaled, fit.d_unit), theta=theta)


def _slope_mag(fit, theta, n0, rho, l0, d_scaled):
    d = np.atleast_1d(np.asarray(d_scaled, float))
    up, dn = _loss(fit, theta, n0, rho, l0, d * np.exp(_H)), _loss(fit, theta, n0, rho, l0, d * np.exp(-_H))
    return np.abs((up - dn) / (d * (np.exp(_H) - np.exp(-_H))))


def _l1_values(p, n0_s, rho, l0, epsilon, target):
    pref = rho ** -p["gamma"] * n0_s ** -p["delta"]
    d_star = (p["beta"] * p["D_C"] * pref / epsilon) ** (1 / (p["beta"] + 1)) if epsilon else None
    d_target = None
    if target is not None:
        X = (target - l0) / pref - p["N_C"] * n0_s ** -p["alpha"] - p["E"]
        d_target = (p["D_C"] / X) ** (1 / p["beta"]) if X > 0 else np.inf
    return d_star, d_target


def _numeric_values(fit, theta, n0, rho, l0, epsilon, target):
    grid = np.exp(np.linspace(*LOG_D_RANGE, 400))
    d_star = d_target = None
    if epsilon:
        g = np.log(_slope_mag(fit, theta, n0, rho, l0, grid)) - np.log(epsilon)
        d_star = _first_root(lambda x: np.log(_slope_mag(fit, theta, n0, rho, l0, np.exp(x))[0]) - np.log(epsilon),
                             grid, g)
    if target is not None:
        g = _loss(fit, theta, n0, rho, l0, grid) - target
        d_target = _first_root(lambda x: _loss(fit, theta, n0, rho, l0, np.exp(x))[0] - target, grid, g)
    return d_star, d_target


def _first_root(fun, grid, values):
    """First sign change from + to − along the log-D grid, refined by brentq; inf if none."""
    ok = np.isfinite(values)
    idx = np.flatnonzero(ok[:-1] & ok[1:] & (values[:-1] > 0) & (values[1:] <= 0))
    if idx.size == 0:
        return np.inf if np.all(values[ok] > 0) else float(grid[0])
    i = idx[0]
    return float(np.exp(brentq(fun, np.log(grid[i]), np.log(grid[i + 1]), xtol=1e-12)))


def _values(fit, theta, n0, rho, l0, epsilon, target):
    if fit.law == "L1":
        return _l1_values(fit.form.to_public(theta), n0 / fit.n0_unit, rho, l0, epsilon, target)
    return _numeric_values(fit, theta, n0, rho, l0, epsilon, target)


def data_budget(fit, n0: float, rho: float, l0: float, epsilon: float | None = None,
                target_loss: float | None = None, level: float = 0.95) -> dict:
    """D* (marginal gain ε) and/or D for a target loss, in raw tokens and in d_unit, with intervals."""
    if epsilon is None and target_loss is None:
        raise LawInputError("give --epsilon (loss per d_unit tokens) and/or --target-loss")
    if fit.columns:
        raise LawInputError("data budget needs a fit on the tidy columns (n0, rho, l0, tokens)")
    for name, v in (("n0", n0), ("rho", rho), ("l0", l0), ("epsilon", epsilon)):
        if v is not None and not (np.isfinite(v) and v > 0):
            raise LawInputError(f"{name} must be a positive number, got {v}")
    if rho >= 1:
        raise LawInputError(f"rho is the fraction of parameters removed: must be below 1, "
                            f"got {rho}")
    d_star, d_target = _values(fit, fit.theta, n0, rho, l0, epsilon, target_loss)
    out = {"law": fit.law, "n0": n0, "rho": rho, "l0": l0, "epsilon": epsilon,
           "epsilon_unit": asd_unit(fit.d_unit),
           "target_loss": target_loss, "d_unit": fit.d_unit}
    samples = np.asarray((fit.bootstrap or {}).get("theta", []), float)
    boot = [_values(fit, t, n0, rho, l0, epsilon, target_loss) for t in samples]
    a = (1 - level) / 2
    for key, value, col in (("d_star", d_star, 0), ("d_target", d_target, 1)):
        if value is None:
            continue
        out[key] = float(value) * fit.d_unit  # raw tokens
        out[key + "_scaled"] = float(value)
        out[key + "_unreachable"] = bool(np.isinf(value))
        if boot:
            vals = np.array([b[col] for b in boot], float) * fit.d_unit
            # no interpolation: an unreachable (inf) replicate must not turn the bound into NaN
            q = [float(np.quantile(vals, x, method="inverted_cdf")) for x in (a, 1 - a)]
            out[key + "_interval"] = q
            out[key + "_n_unreachable"] = int(np.isinf(vals).sum())
    return out
