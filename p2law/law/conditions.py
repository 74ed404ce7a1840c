"""Conditions C1–C5 (paper-spec §3), checked numerically on any fitted form.

Grid: the fit's N0 values (each with its own L0), ρ over the fitted rate range plus ρ = 1e-9 for
the ρ → 0 limit, and D on a log grid from the first fitted point to 10× the last. Slopes are
finite differences of predictions, so every form is judged the same way. For L1 the analytic
equivalents are computed too and must agree (tested).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

RHO_ZERO = 1e-9
REL_TOL = 1e-3  # C2 / C5 tolerance, times L0
N_D = 40
N_RHO = 6
D_PLATEAU = 1e30  # "D → ∞" in units of d_unit


def condition_grid(domain: dict, d_unit: float):
    n0 = np.asarray(domain["n0"], float)
    l0 = np.asarray(domain["l0"], float)
    rates = np.asarray(domain["rho"], float)
    rho = np.unique(np.concatenate([np.geomspace(rates.min(), rates.max(), N_RHO), rates]))
    tokens = np.geomspace(domain["tokens_min"], 10 * domain["tokens_max"], N_D)
    return n0, l0, rho, tokens


def _table(n0, l0, rho, tokens) -> pd.DataFrame:
    i, j, k = np.meshgrid(np.arange(n0.size), np.arange(rho.size), np.arange(tokens.size), indexing="ij")
    return pd.DataFrame({"n0": n0[i.ravel()], "l0": l0[i.ravel()], "rho": rho[j.ravel()],
                         "tokens": tokens[k.ravel()]})


def _predict(fit, n0, l0, rho, tokens):
    return fit.predict(_table(n0, l0, rho, tokens)).reshape(n0.size, rho.size, tokens.size)


def check_conditions(fit, theta=None) -> dict:
    """C1–C5 as booleans (None where not testable, e.g. C4 with one N0), plus details."""
    n0, l0, rho, tokens = condition_grid(fit.domain, fit.d_unit)
    th = fit.theta if theta is None else theta

    class _F:  # predict with the given θ without copying the fit
        predict = staticmethod(lambda df: fit.predict(df, theta=th))

    L = _predict(_F, n0, l0, rho, tokens)  # (N0, ρ, D)
    slope = np.diff(L, axis=2) / np.diff(tokens / fit.d_unit)  # ∂L/∂D in loss per D unit
    mag = np.abs(slope)
    L_zero = _predict(_F, n0, l0, np.array([RHO_ZERO]), tokens)[:, 0, :]
    tol = REL_TOL * l0[:, None]
    L_inf = _predict(_F, n0, l0, rho, np.array([D_PLATEAU * fit.d_unit]))[:, :, 0]
    L_rho = np.concatenate([L_zero[:, None, :], L], axis=1)  # ρ axis with 1e-9 first
    finite = bool(np.all(np.isfinite(L)))
    c = {
        "C1": finite and bool(np.all(slope < 0) and np.all(np.diff(mag, axis=2) < 0)),
        "C2": bool(np.all(np.abs(L_zero - l0[:, None]) <= tol)),
        "C3": finite and bool(np.all(np.diff(L_rho, axis=1) > 0) and np.all(np.diff(mag, axis=1) > 0)),
        "C4": (bool(np.all(np.diff(mag, axis=0) < 0)) if n0.size >= 2 else None),
        "C5": bool(np.all(L_inf >= l0[:, None] - REL_TOL * l0[:, None])),
    }
    out = dict(c)
    out["all"] = all(v is not False for v in c.values())
    out["details"] = {
        "c2_max_excess_at_rho0": float(np.max(np.abs(L_zero - l0[:, None]))),
        "c5_min_plateau_minus_l0": float(np.min(L_inf - l0[:, None])),
        "n0": n0.tolist(), "rho": rho.tolist(), "tokens": [float(tokens[0]), float(tokens[-1])],
    }
    if fit.law == "L1":
        out["analytic"] = l1_analytic(fit.form.to_public(th), fit.domain, fit.n0_unit, fit.d_unit)
        out["analytic_agrees"] = all(out["analytic"][k] == c[k] for k in c)
    return out


def l1_analytic(p: dict, domain: dict, n0_unit: float, d_unit: float) -> dict:
    """The closed-form equivalents of C1–C5 for L1 (paper-spec §3 table).

    The table's C3 and C4 assume a nonzero D-slope; with β = 0 (a bound) |∂L/∂D| ≡ 0 cannot
    increase with ρ or decrease with N0, so both also require β > 0, as the numeric check does.
    """
    n0, l0, rho, tokens = condition_grid(domain, d_unit)
    N, D = n0 / n0_unit, tokens / d_unit
    Ct = p["N_C"] * N[:, None] ** -p["alpha"] + p["D_C"] * D[None, :] ** -p["beta"] + p["E"]  # (N0, D)
    P0 = RHO_ZERO ** -p["gamma"] * N ** -p["delta"]
    Pr = rho[None, :] ** -p["gamma"] * N[:, None] ** -p["delta"]  # (N0, ρ)
    plateau = Pr * (p["N_C"] * N[:, None] ** -p["alpha"] + p["E"])
    slope = p["beta"] > 0 and p["D_C"] > 0
    return {
        "C1": bool(slope),
        "C2": bool(p["gamma"] < 0 and np.all(np.abs(P0[:, None] * Ct) <= REL_TOL * l0[:, None])),
        "C3": bool(slope and p["gamma"] < 0 and np.all(Ct > 0)),
        "C4": bool(slope and p["delta"] > 0) if n0.size >= 2 else None,
        "C5": bool(np.all(plateau >= -REL_TOL * l0[:, None])),
    }
