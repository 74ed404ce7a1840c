"""F8 data budget: the fitted law's marginal gain |∂L/∂D| against D, D* marked for each ρ.

A panel per base model, a line per ρ (log–log). Markers: the observed −ΔL/ΔD between consecutive
eval points. Dashed horizontal lines: the configured gains ε; D* (table T7, with its bootstrap
interval as a horizontal bar) is where a line crosses one. The D axis extends past the data so
that D* beyond the last run is visible; a D* further out is written at the edge.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from p2law.figures import style
from p2law.figures.trend1 import marginal_gain

EXTEND = 100.0  # the axis reaches at most this factor past the last eval point
GRID = 120


def predicted_gain(fit, curve: pd.DataFrame, lo: float, hi: float) -> pd.DataFrame:
    """|∂L/∂D| in loss per d_unit tokens on a log grid of D (raw tokens lo..hi)."""
    first = curve.iloc[0]
    tokens = np.geomspace(lo, hi, GRID)
    frame = pd.DataFrame({"n0": first["n0"], "rho": first["rho"], "l0": first["l0"], "tokens": tokens})
    loss = fit.predict(frame)
    d = tokens / fit.d_unit
    return pd.DataFrame({"d": d, "gain": np.abs(np.gradient(loss, d))})


def plot_budget(table: pd.DataFrame, fit, budget: pd.DataFrame, *, title: str = ""):
    style.apply()
    d_unit = fit.d_unit
    models = table.drop_duplicates("model").sort_values("n0")["model"].tolist()
    fig, axes = style.panels(len(models), ncols=4, height=2.3, sharey=True)
    post = table[table["tokens"] >= max(fit.min_tokens, 1)]
    d_lo, d_last = post["tokens"].min(), post["tokens"].max()
    epsilons = sorted(budget["epsilon"].unique()) if len(budget) else []
    palette = style.rate_palette(table)
    for ax, model in zip(axes, models):
        rows = table[table["model"] == model]
        stars = budget[budget["model"] == model]
        finite = stars["d_star"][np.isfinite(stars["d_star"])]
        d_hi = float(np.clip(finite.max() * 2 if len(finite) else d_last, d_last, d_last * EXTEND))
        for rho, curve in rows.groupby("rho"):
            color = palette[style.rate_key(curve).iloc[0]]
            gain = predicted_gain(fit, curve, d_lo, d_hi)
            ax.plot(gain["d"], gain["gain"], style.fit_linestyle(fit), color=color)
            obs = marginal_gain(curve[curve["tokens"] >= max(fit.min_tokens, 1)], d_unit)
            obs = obs[obs["gain"] > 0]
            ax.plot(obs["d_mid"], obs["gain"], "o", ms=2.5, color=color, alpha=0.7)
            for _, s in stars[np.isclose(stars["rho"], rho)].iterrows():
                _mark_star(ax, s, d_unit, d_hi * 1.0, color)
        for eps in epsilons:
            ax.axhline(eps, ls="--", lw=0.7, color="0.4")
            ax.text(1.0, eps, f" ε = {eps:g}", transform=ax.get_yaxis_transform(), va="center",
                    fontsize=6, color="0.3")
        ax.axvline(d_last / d_unit, ls=":", lw=0.7, color="0.5")
        ax.set_xscale("log")
        ax.set_yscale("log")
        style.log_ticks(ax, "x")
        ax.set_title(f"{model} (N0 = {style.fmt_count(rows['n0'].iloc[0])})")
        ax.set_xlabel(style.d_label(d_unit))
        style.flag_fit(ax, fit, where="lower left")
    axes[0].set_ylabel(f"|∂L/∂D| (loss/{style.d_unit_name(d_unit)})")
    handles = [axes[0].plot([], [], "-", color=c)[0] for c in palette.values()]
    style.legend_below(fig, handles, [style.rate_label(table, key) for key in palette])
    fig.suptitle(f"{title}\nlines: fitted {fit.law}; markers: observed −ΔL/ΔD; ◆: D* per ε with "
                 "bootstrap interval; dotted: last eval point")
    return fig


def _mark_star(ax, s, d_unit, d_hi, color):
    d_star = s["d_star"] / d_unit
    if not np.isfinite(d_star):
        return
    if d_star > d_hi:
        ax.annotate(f"D* = {d_star:.3g} →", (1.0, s["epsilon"]), xycoords=("axes fraction", "data"),
                    ha="right", va="bottom", fontsize=6, color=color)
        return
    lo, hi = s["d_star_lo"] / d_unit, s["d_star_hi"] / d_unit
    xerr = None
    if np.isfinite(lo) and np.isfinite(hi):
        xerr = [[max(d_star - lo, 0)], [max(min(hi, d_hi) - d_star, 0)]]
    ax.errorbar([d_star], [s["epsilon"]], xerr=xerr, fmt="D", ms=4, color=color, mec="black",
                mew=0.5, capsize=2, elinewidth=0.8, zorder=5)
