"""F9 fit quality: predicted against observed loss on the fitted points, a panel per law.

Each panel states the fit's R², ASD (with its unit: it depends on the D unit), MAPE and which of
the conditions C1–C5 fail; a fit that did not converge is flagged in red.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from p2law.figures import style


def fitted_points(table: pd.DataFrame, fit) -> pd.DataFrame:
    """The points the fit used (D ≥ min_tokens, D > 0) with the fit's predictions."""
    rows = table[table["tokens"] >= max(fit.min_tokens, 1)]
    return rows.assign(pred=fit.predict(rows))


def _summary(fit) -> str:
    m = fit.metrics
    lines = [f"R² = {m['r2']:.4f}", f"ASD = {m['asd']:.3g} {m['asd_unit']}",
             f"MAPE = {100 * m['mape']:.2f} %"]
    cond = fit.conditions or {}
    failed = [c for c in ("C1", "C2", "C3", "C4", "C5") if cond.get(c) is False]
    if cond:
        lines.append("C1–C5 pass" if not failed else "fails " + ", ".join(failed))
    return "\n".join(lines)


def plot_fitquality(table: pd.DataFrame, fits: list, *, title: str = ""):
    style.apply()
    n = len(fits)
    width = style.COLUMN if n == 1 else style.FULL
    ncols = min(n, 3)  # 3 square panels per row leave room for the text box at full width
    fig, axes = style.panels(n, ncols=ncols, width=width, height=2.3 if n > 1 else 2.6)
    palette = style.n0_palette(table["n0"].unique())
    for ax, fit in zip(axes, fits):
        pts = fitted_points(table, fit)
        for (n0, model), g in pts.groupby(["n0", "model"], sort=True):
            ax.plot(g["loss"], g["pred"], "o", ms=2.5, color=palette[n0], label=model)
        lo = np.nanmin([pts["loss"].min(), pts["pred"].min()])
        hi = np.nanmax([pts["loss"].max(), pts["pred"].max()])
        pad = 0.04 * (hi - lo)
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], "--", color="grey", lw=0.8)
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(lo - pad, hi + pad)
        ax.set_aspect("equal")
        ax.set_title(f"{fit.law} (k = {fit.form.k})")
        ax.text(0.03, 0.97, _summary(fit), transform=ax.transAxes, va="top", fontsize=6,
                bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": "0.8"})
        style.flag_fit(ax, fit, where="lower right")
    for i, ax in enumerate(axes):  # labels on the outer panels only: inner ones are too narrow
        if i + ncols >= n:
            ax.set_xlabel("observed loss (nats/token)")
        if i % ncols == 0:
            ax.set_ylabel("predicted loss (nats/token)")
    handles, labels = axes[0].get_legend_handles_labels()
    style.legend_below(fig, handles, labels)
    fig.suptitle(f"{title}\nfitted points; dashed: predicted = observed")
    return fig
