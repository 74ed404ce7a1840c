"""Fit-quality metrics of paper-spec §4: R² (linear L), mean Huber on log residuals, RMSE, MAPE, ASD.

ASD is the mean absolute difference between observed and predicted consecutive-point slopes
within each curve (never across curves), with D in the profile's unit, so it always travels with
that unit.
"""

from __future__ import annotations

import numpy as np


def d_unit_label(d_unit: float) -> str:
    names = {1.0: "", 1e3: "K ", 1e6: "M ", 1e9: "B ", 1e12: "T "}
    return names[d_unit] + "tokens" if d_unit in names else f"{d_unit:g} tokens"


def asd_unit(d_unit: float) -> str:
    return f"loss/{d_unit_label(d_unit)}"


def huber(r, huber_delta):
    """Elementwise Huber: ½r² inside ±h, h(|r| − ½h) outside."""
    a = np.abs(r)
    return np.where(a <= huber_delta, 0.5 * r * r, huber_delta * (a - 0.5 * huber_delta))


def huber_grad(r, huber_delta):
    return np.clip(r, -huber_delta, huber_delta)


def r2(obs, pred) -> float:
    obs, pred = np.asarray(obs, float), np.asarray(pred, float)
    ss_tot = np.sum((obs - obs.mean()) ** 2)
    return float(1.0 - np.sum((obs - pred) ** 2) / ss_tot) if ss_tot > 0 else float("nan")


def curve_slopes(D, L, curve):
    """Consecutive-point slopes within each curve, sorted by D: (curve code per interval, slopes)."""
    D, L, curve = np.asarray(D, float), np.asarray(L, float), np.asarray(curve)
    order = np.lexsort((D, curve))
    D, L, c = D[order], L[order], curve[order]
    same = c[1:] == c[:-1]
    dD = np.diff(D)
    ok = same & (dD > 0)  # repeated D (e.g. several seeds) gives no slope
    return c[1:][ok], (np.diff(L)[ok] / dD[ok]), order, ok


def asd(D, obs, pred, curve) -> tuple[float, dict]:
    """ASD over all intervals (equal weight) and the per-curve mean ASD_c as a diagnostic."""
    c, s_obs, order, ok = curve_slopes(D, obs, curve)
    s_pred = (np.diff(np.asarray(pred, float)[order]) / np.diff(np.asarray(D, float)[order]))[ok]
    diff = np.abs(s_obs - s_pred)
    if diff.size == 0:
        return float("nan"), {}
    per_curve = {int(k): float(diff[c == k].mean()) for k in np.unique(c)}
    return float(diff.mean()), per_curve


def all_metrics(D, obs, pred, curve, huber_delta=1e-3, d_unit=1e6) -> dict:
    obs, pred = np.asarray(obs, float), np.asarray(pred, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.log(pred) - np.log(obs)
    value, _ = asd(D, obs, pred, curve)
    return {
        "r2": r2(obs, pred),
        "huber": float(np.mean(huber(r, huber_delta))),
        "huber_delta": huber_delta,
        "rmse": float(np.sqrt(np.mean((pred - obs) ** 2))),
        "mape": float(np.mean(np.abs(pred - obs) / obs)),
        "asd": value,
        "d_unit": d_unit,
        "asd_unit": asd_unit(d_unit),
        "n_points": int(obs.size),
        "n_curves": int(np.unique(curve).size),
    }
