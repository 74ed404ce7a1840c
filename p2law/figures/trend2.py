"""F3 Trend 2: relative post-training loss L − L0 against ρ (log–log) at fixed D, power-law fits.

A panel per fixed D (first fitted point, middle, last), a line per base model: markers are the
data, the line is the OLS power law of table trend2_rho (slope and its interval in the legend).
An OLS line passes through the mean of its points, so the slope and the points fix the line.
Points with L ≤ L0 cannot enter a log: their count is in the legend, the list in the table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from p2law.figures import style

N_PANELS = 3


def fixed_tokens(table: pd.DataFrame, min_tokens: float) -> list[float]:
    """Up to three eval points shared by every curve: first fitted, middle, last."""
    post = table[table["tokens"] >= max(min_tokens, 1)]
    n_curves = post.groupby(["model", "rho"]).ngroups
    shared = post.groupby("tokens").apply(lambda g: g.groupby(["model", "rho"]).ngroups == n_curves,
                                          include_groups=False)
    tokens = sorted(shared[shared].index) or sorted(post["tokens"].unique())
    idx = np.unique(np.linspace(0, len(tokens) - 1, N_PANELS).round().astype(int))
    return [float(tokens[i]) for i in idx]


def _trend_row(trend: pd.DataFrame, model: str, tokens: float):
    if trend is None or trend.empty:
        return None
    t = pd.to_numeric(trend["tokens"], errors="coerce")
    rows = trend[(trend["model"] == model) & np.isclose(t, tokens)]
    return rows.iloc[0] if len(rows) else None


def plot_trend2(table: pd.DataFrame, trend: pd.DataFrame | None = None, *, d_unit: float = 1e6,
                min_tokens: float = 0, level: float = 0.95, title: str = ""):
    style.apply()
    points = fixed_tokens(table, min_tokens)
    fig, axes = style.panels(len(points), ncols=N_PANELS, height=2.3, sharey=True)
    palette = style.n0_palette(table["n0"].unique())
    for ax, tokens in zip(axes, points):
        excluded = 0
        at = table[np.isclose(table["tokens"], tokens)]
        for (n0, model), g in at.groupby(["n0", "model"], sort=True):
            g = g.sort_values("rho")
            ok = g[g["loss"] > g["l0"]]
            excluded += int((g["loss"] <= g["l0"]).sum())
            color = palette[n0]
            row = _trend_row(trend, model, tokens)
            label = model
            if row is not None and pd.notna(row.get("slope")):
                x, y = np.log(ok["rho"]), np.log(ok["loss"] - ok["l0"])
                grid = np.linspace(x.min(), x.max(), 20)
                ax.plot(np.exp(grid), np.exp(y.mean() + row["slope"] * (grid - x.mean())), "-",
                        color=color)
                label += f": slope {row['slope']:.2f} [{row['slope_lo']:.2f}, {row['slope_hi']:.2f}]"
            elif row is not None:
                label += ": no slope (< 3 rates above L0)"
            ax.plot(ok["rho"], ok["loss"] - ok["l0"], "o", color=color, label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"D = {style.fmt_count(tokens)} tokens")
        style.plain_log_ticks(ax, "x", mantissas=(1, 2, 3, 4, 5))  # rates 0.2-0.4: 0.3 alone said little
        style.plain_log_ticks(ax, "y", mantissas=(1, 2, 5))  # y spans more decades than ρ
        if excluded:  # listed in the legend (never over the data) and in table trend2_rho
            ax.plot([], [], " ", label=f"not shown (L ≤ L0): {excluded} point(s)")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=6, handlelength=1)
    axes[0].set_ylabel("L − L0 (nats/token)")
    fig.supxlabel("pruning rate ρ (fraction of parameters removed); legend: slope with its CI",
                  fontsize=8)
    fig.suptitle(f"{title}\nmarkers: data; lines: OLS power law L − L0 ∝ ρ^slope "
                 f"(table trend2_rho, {level:.0%} CI)")
    return fig
