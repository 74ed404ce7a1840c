"""F2 Trend 1: at the same pruning rate, do smaller base models recover faster?

A column per requested rate. Top: loss against D, a line per base model coloured by N0. Bottom:
the observed marginal gain −ΔL/ΔD between consecutive eval points (log–log), the quantity
whose size-dependence Trend 1 is about. Intervals with no loss drop cannot sit on a log axis;
their count is written in the panel, not hidden.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from p2law.figures import style

MAX_RATES = 4


def rate_groups(table: pd.DataFrame) -> list:
    """The requested rates (the `rate` column), else ρ rounded: 'the same ρ' across models."""
    key = style.rate_key(table)
    rates = sorted(key.unique())
    if len(rates) > MAX_RATES:  # keep the figure readable: lowest, highest and between
        rates = [rates[i] for i in np.linspace(0, len(rates) - 1, MAX_RATES).round().astype(int)]
    return [(r, table[key == r]) for r in rates]


def marginal_gain(curve: pd.DataFrame, d_unit: float) -> pd.DataFrame:
    """−ΔL/ΔD (loss per d_unit tokens) at the geometric midpoint of consecutive eval points."""
    c = curve[curve["tokens"] > 0].sort_values("tokens")
    d = c["tokens"].to_numpy(float) / d_unit
    loss = c["loss"].to_numpy(float)
    return pd.DataFrame({"d_mid": np.sqrt(d[1:] * d[:-1]), "gain": -np.diff(loss) / np.diff(d)})


def plot_trend1(table: pd.DataFrame, speed: pd.DataFrame | None = None, *, d_unit: float = 1e6,
                title: str = ""):
    style.apply()
    groups = rate_groups(table)
    fig, axes = style.panels(2 * len(groups), ncols=len(groups), height=1.9)
    top, bottom = axes[: len(groups)], axes[len(groups):]
    palette = style.n0_palette(table["n0"].unique())
    x_zero = style.zero_x(table["tokens"], d_unit)
    for ax_l, ax_g, (rate, rows) in zip(top, bottom, groups):
        hidden = 0
        for (n0, model), curve in rows.groupby(["n0", "model"], sort=True):
            curve = curve.sort_values("tokens")
            color = palette[n0]
            label = f"{model} (N0 = {style.fmt_count(n0)})"
            post = curve[curve["tokens"] > 0]
            ax_l.plot(post["tokens"] / d_unit, post["loss"], "o-", color=color, label=label)
            ax_l.plot([x_zero], curve.loc[curve["tokens"] == 0, "loss"], "o", ms=4, mfc="white",
                      color=color)
            gain = marginal_gain(curve, d_unit)
            hidden += int((gain["gain"] <= 0).sum())
            gain = gain[gain["gain"] > 0]
            ax_g.plot(gain["d_mid"], gain["gain"], "o-", color=color, label=label)
        lo, hi = rows["rho"].min(), rows["rho"].max()
        achieved = f"{lo:.3f}" if np.isclose(lo, hi) else f"{lo:.3f}–{hi:.3f}"
        ax_l.set_title(f"rate {rate:g} (ρ = {achieved})")
        ax_l.set_xscale("log")
        positive = rows.loc[rows["tokens"] > 0, "tokens"] / d_unit
        style.zero_ticks(ax_l, x_zero, positive.min(), positive.max())
        ax_l.set_xlabel(style.d_label(d_unit))
        ax_g.set_xscale("log")
        ax_g.set_yscale("log")
        style.log_ticks(ax_g, "x")
        ax_g.set_xlabel(style.d_label(d_unit))
        if hidden:
            # two short lines: one line ran past the frame of a one-third-width panel
            ax_g.text(0.03, 0.04, f"{hidden} interval(s) with no\nloss drop not shown",
                      transform=ax_g.transAxes, fontsize=6)
    top[0].set_ylabel(style.LOSS_LABEL)
    bottom[0].set_ylabel(f"−ΔL/ΔD (loss/{style.d_unit_name(d_unit)})")
    handles, labels = top[0].get_legend_handles_labels()
    style.legend_below(fig, handles, labels)
    fig.suptitle(f"{title}\n{_speed_note(speed)}")
    return fig


def _speed_note(speed: pd.DataFrame | None) -> str:
    """The Trend 1 regression (table trend1_speed) in words, or why there is none."""
    if speed is None or speed.empty:
        return "open markers: D = 0 (just pruned)"
    row = speed.iloc[0]
    if pd.isna(row.get("coef_lnN0")):
        return f"Trend 1: {row.get('note', 'no regression')}"
    if row["coef_hi"] < 0:
        verdict = "smaller models recover faster"
    elif row["coef_lo"] > 0:
        verdict = "larger models recover faster"
    else:
        verdict = "no clear size effect (interval spans 0)"
    return (f"mean loss-drop rate ∝ $N_0^b$, b = {row['coef_lnN0']:.2f} "
            f"[{row['coef_lo']:.2f}, {row['coef_hi']:.2f}]: {verdict}")
