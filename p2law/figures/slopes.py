"""F5 slope agreement: observed against predicted consecutive-point slopes, a panel per law.

This is what ASD measures (p2law/law/metrics.py): within each curve (base model × ρ), on the
points the fit used (D ≥ min_tokens), the slope ΔL/ΔD between consecutive eval points, D in the
fit's unit, once for the observed losses and once for the law's predictions at the same D. ASD
is the mean |observed − predicted| slope over all intervals (each interval counts once).

Drawn as the loss drop −ΔL/ΔD on log–log axes at each interval's geometric midpoint: markers
observed, lines predicted, one colour per base model and one marker per rate. An interval whose
slope is not a drop (loss rose) cannot sit on a log axis: its count is written in the panel; it
is still in the ASD the panel states.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from p2law.figures import style
from p2law.law.inputs import curve_codes
from p2law.law.metrics import asd_unit, curve_slopes

MARKERS = ("o", "s", "^", "D", "v", "P", "X")
ONE_PANEL_W = 4.6  # inches: one law's panel plus a legend of three rates side by side


def slope_pairs(table: pd.DataFrame, fit) -> pd.DataFrame:
    """One row per interval ASD scores: curve, D at both ends and the midpoint (fit's D unit),
    observed and predicted slope ΔL/ΔD (loss per D unit)."""
    rows = table[table["tokens"] >= max(fit.min_tokens, 1)]
    d = fit.variables(rows)["D"]
    codes, _ = curve_codes(rows)
    c, s_obs, order, ok = curve_slopes(d, rows["loss"].to_numpy(float), codes)
    d_sorted = d[order]
    s_pred = (np.diff(fit.predict(rows)[order]) / np.diff(d_sorted))[ok]
    ends = rows.iloc[order[1:][ok]]
    d_lo, d_hi = d_sorted[:-1][ok], d_sorted[1:][ok]
    return pd.DataFrame(
        {
            "curve": c,
            "model": ends["model"].to_numpy(),
            "n0": ends["n0"].to_numpy(float),
            "rho": ends["rho"].to_numpy(float),
            "rate": style.rate_key(ends).to_numpy(),
            "d_lo": d_lo,
            "d_hi": d_hi,
            "d_mid": np.sqrt(d_lo * d_hi),
            "observed": s_obs,
            "predicted": s_pred,
        }
    )


def _note(fit, pairs: pd.DataFrame) -> str:
    value = np.abs(pairs["observed"] - pairs["predicted"]).mean()
    hidden = int(((pairs["observed"] >= 0) | (pairs["predicted"] >= 0)).sum())
    lines = [f"ASD = {value:.3g} {asd_unit(fit.d_unit)}", f"{len(pairs)} intervals"]
    if hidden:
        lines.append(f"{hidden} with a loss rise not drawn")
    return "\n".join(lines)


def plot_slopes(table: pd.DataFrame, fits: list, *, title: str = ""):
    """`table`: tidy rows of one family x method; `fits`: its law fits, one panel each."""
    style.apply()
    n = len(fits)
    ncols = min(n, 3)
    fig, axes = style.panels(
        n,
        ncols=ncols,
        width=ONE_PANEL_W if n == 1 else style.FULL,
        height=3.0 if n == 1 else 2.5,
        sharex=True,
        sharey=True,
    )
    palette = style.n0_palette(table["n0"].unique())
    rates = sorted(style.rate_key(table).unique())
    marker = dict(zip(rates, MARKERS * (len(rates) // len(MARKERS) + 1)))
    d_unit = fits[0].d_unit
    for ax, fit in zip(axes, fits):
        pairs = slope_pairs(table, fit)
        for _, g in pairs.groupby("curve", sort=True):
            color, shape = palette[g["n0"].iloc[0]], marker[g["rate"].iloc[0]]
            obs = g[g["observed"] < 0]
            ax.plot(
                obs["d_mid"], -obs["observed"], shape, ms=3, color=color, alpha=0.85, mec="none"
            )
            pred = g[g["predicted"] < 0]
            ax.plot(
                pred["d_mid"], -pred["predicted"], style.fit_linestyle(fit), color=color, lw=0.9
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{fit.law} (k = {fit.form.k})")
        ax.text(
            0.97,
            0.97,
            _note(fit, pairs),
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=6,
            bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": "0.8"},
        )
        style.flag_fit(ax, fit, where="lower left")
    for ax in axes:
        style.log_ticks(ax, "x")
    for i, ax in enumerate(axes):  # labels on the outer panels only
        if i + ncols >= n:
            ax.set_xlabel(style.d_label(d_unit))
        if i % ncols == 0:
            ax.set_ylabel(f"−ΔL/ΔD (loss/{style.d_unit_name(d_unit)})")
    _legend(fig, axes[0], table, palette, marker)
    sep = "\n" if n == 1 else " "
    fig.suptitle(
        f"{title}\nmarkers: observed, lines: predicted slope{sep}between consecutive "
        "fitted points (what ASD averages)"
    )
    return fig


def _legend(fig, ax, table, palette, marker) -> None:
    """Base models (colour) on the first row, rates (marker) on the second."""
    models = table.drop_duplicates("model").sort_values("n0")
    rows = [
        [
            (ax.plot([], [], "-o", ms=3, color=palette[n0])[0], model)
            for n0, model in zip(models["n0"], models["model"])
        ],
        [
            (ax.plot([], [], shape, ms=3, color="0.35")[0], style.rate_label(table, key))
            for key, shape in marker.items()
        ],
    ]
    ncol = max(len(r) for r in rows)
    blank = (ax.plot([], [], " ")[0], "")
    cells = [r + [blank] * (ncol - len(r)) for r in rows]
    columns = [cell for col in zip(*cells) for cell in col]  # legends fill column by column
    style.legend_below(fig, [h for h, _ in columns], [lab for _, lab in columns], ncol=ncol)
