"""F1/F4 post-training loss curves: loss against D, a panel per base model, a line per ρ.

The fitted law is overlaid with its bootstrap prediction band. The just-pruned point (D = 0)
cannot sit on a log axis: it is drawn at the left edge, half a decade before the first logged D,
as an open marker. Points below the fit's min_tokens (warm-up) are drawn faded: not fitted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from p2law.figures import style

GRID_POINTS = 80


def fit_grid(curve: pd.DataFrame, lo: float, hi: float) -> pd.DataFrame:
    """Rows of one curve's (n0, ρ, L0) on a log grid of D, for predictions and bands."""
    first = curve.iloc[0]
    grid = np.geomspace(lo, hi, GRID_POINTS)
    return pd.DataFrame({"family": first["family"], "model": first["model"],
                         "method": first["method"], "n0": first["n0"], "rho": first["rho"],
                         "l0": first["l0"], "tokens": grid})


def predicted(fit, frame: pd.DataFrame, level: float) -> pd.DataFrame:
    """Prediction plus bands when the fit carries bootstrap samples, else prediction only."""
    from p2law.law.bootstrap import bands

    if fit.bootstrap and fit.bootstrap.get("theta"):
        return bands(fit, frame, level=level)
    return pd.DataFrame({"pred": fit.predict(frame)}, index=frame.index)


def plot_curves(table: pd.DataFrame, fit=None, *, d_unit: float = 1e6, level: float = 0.95,
                title: str = ""):
    """`table`: tidy rows of one family x method; `fit`: a loaded law fit (with bootstrap) or None."""
    style.apply()
    models = table.drop_duplicates("model").sort_values("n0")["model"].tolist()
    fig, axes = style.panels(len(models), ncols=4, sharey=True)
    x_zero = style.zero_x(table["tokens"], d_unit)
    min_tokens = fit.min_tokens if fit is not None else 0.0
    palette = style.rate_palette(table)
    for ax, model in zip(axes, models):
        rows = table[table["model"] == model]
        for rho, curve in rows.groupby("rho"):
            curve = curve.sort_values("tokens")
            color = palette[style.rate_key(curve).iloc[0]]
            fitted = curve[curve["tokens"] >= max(min_tokens, 1)]
            early = curve[(curve["tokens"] > 0) & (curve["tokens"] < min_tokens)]
            ax.plot(fitted["tokens"] / d_unit, fitted["loss"], "o", color=color)
            ax.plot(early["tokens"] / d_unit, early["loss"], "o", color=color, alpha=0.35)
            ax.plot([x_zero], curve.loc[curve["tokens"] == 0, "loss"], "o", ms=4, mfc="white",
                    color=color)
            if fit is not None and len(fitted):
                frame = fit_grid(curve, fitted["tokens"].min(), fitted["tokens"].max())
                pred = predicted(fit, frame, level)
                x = frame["tokens"] / d_unit
                if "pi_lo" in pred:
                    ax.fill_between(x, pred["pi_lo"], pred["pi_hi"], color=color, alpha=0.2, lw=0)
                ax.plot(x, pred["pred"], style.fit_linestyle(fit), color=color)
        ax.axhline(rows["l0"].iloc[0], ls="--", color="black", lw=0.8)
        ax.set_xscale("log")
        positive = rows.loc[rows["tokens"] > 0, "tokens"] / d_unit
        style.zero_ticks(ax, x_zero, positive.min(), positive.max())
        ax.set_title(f"{model} (N0 = {style.fmt_count(rows['n0'].iloc[0])})")
        ax.set_xlabel(style.d_label(d_unit))
        style.flag_fit(ax, fit, where="lower left")
    axes[0].set_ylabel(style.LOSS_LABEL)
    _legend(fig, axes[0], table, palette, fit)
    if fit is None:
        how = "no fit"
    else:
        band = f", band: {level:.0%} prediction interval" if fit.bootstrap else ""
        how = f"lines: fitted {fit.law}{band}"
    fig.suptitle(f"{title}\n{how}")
    return fig


def _legend(fig, ax, table, palette, fit) -> None:
    """Below the panels, so it never covers a curve: rates, L0, D = 0 and the fit."""
    import matplotlib.patches as mpatches

    handles = [ax.plot([], [], "o", color=c)[0] for c in palette.values()]
    labels = [style.rate_label(table, key) for key in palette]
    handles += [ax.plot([], [], "--", color="black", lw=0.8)[0],
                ax.plot([], [], "o", mfc="white", color="0.3")[0]]
    labels += ["L0 (unpruned)", "D = 0 (just pruned)"]
    if fit is not None:
        handles.append(ax.plot([], [], style.fit_linestyle(fit), color="0.3")[0])
        labels.append(f"fitted {fit.law}")
        if fit.bootstrap:
            handles.append(mpatches.Patch(color="0.3", alpha=0.2, lw=0))
            labels.append("prediction interval")
    style.legend_below(fig, handles, labels, ncol=min(len(labels), 4))
