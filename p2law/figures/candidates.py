"""F6 candidate comparison: R², Huber and ASD of every fitted law, one bar each (table T5).

A panel per metric for one family × method, the laws on x in the registry's order (L1 first).
The bars are the model-selection table's in-sample numbers (rule table_selection): the selected
law (lowest ASD among converged laws passing C1–C5) is dark, a law failing a condition light
grey, a fit that did not converge hatched and red-edged. Huber and ASD span decades: log axes.
Each bar carries its value (R² to 3 decimals, Huber and ASD to 2 significant digits).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from p2law.figures import style

METRICS = (("r2", "R²", False), ("huber", "Huber (on log L)", True), ("asd", "ASD", True))
SELECTED, PASSING, FAILING = "#1f4e79", "#8fb3d9", "0.82"


def candidate_rows(selection: pd.DataFrame) -> pd.DataFrame:
    """The ranked rows (the compression law's unranked OLS row is left out), registry order."""
    from p2law.law import LAWS

    rows = selection[selection["ranked"].astype(bool)] if "ranked" in selection else selection
    order = {law: i for i, law in enumerate(LAWS)}
    return (
        rows.assign(_o=rows["law"].map(order).fillna(len(order)))
        .sort_values(["_o", "law"])
        .drop(columns="_o")
        .reset_index(drop=True)
    )


def _truthy(value) -> bool:
    return str(value).strip().lower() in ("true", "1", "yes")


def bar_style(row) -> dict:
    converged = _truthy(row["converged"])
    if _truthy(row.get("selected", False)):
        color = SELECTED
    elif str(row.get("conditions_all")).strip().lower() == "false":
        color = FAILING
    else:
        color = PASSING
    if not converged:
        return {"color": "white", "edgecolor": "crimson", "hatch": "////", "linewidth": 0.8}
    return {"color": color, "edgecolor": "0.3", "linewidth": 0.4}


def plot_candidates(selection: pd.DataFrame, *, title: str = ""):
    """`selection`: rows of table T5 (selection.csv) for one family x method."""
    style.apply()
    rows = candidate_rows(selection)
    unit = rows["asd_unit"].dropna().iloc[0] if rows["asd_unit"].notna().any() else ""
    fig, axes = style.panels(len(METRICS), ncols=len(METRICS), height=2.6)
    x = np.arange(len(rows))
    for ax, (column, label, log) in zip(axes, METRICS):
        values = pd.to_numeric(rows[column], errors="coerce").to_numpy(float)
        for xi, value, (_, row) in zip(x, values, rows.iterrows()):
            if np.isfinite(value) and (value > 0 or not log):
                ax.bar(xi, value, width=0.7, **bar_style(row))
        _annotate(ax, x, values, log)
        ax.set_xticks(x, rows["law"], rotation=45, ha="right", rotation_mode="anchor")
        extra = max(0.0, (3 - len(x)) / 2)  # a law or two: keep bars bar-shaped
        ax.set_xlim(-0.5 - extra, len(x) - 0.5 + extra)
        ax.set_xlabel("law")
        ax.set_ylabel(f"{label} ({unit})" if column == "asd" else label)
        ax.grid(axis="x", visible=False)
        if log:
            ax.set_yscale("log")
            positive = values[np.isfinite(values) & (values > 0)]
            if positive.size:
                # whole decades, so at least two labelled ticks; room above for the values
                lo = 10.0 ** np.floor(np.log10(positive.min() / 2))
                ax.set_ylim(lo, 10.0 ** np.ceil(np.log10(positive.max() * 2)))
            style.log_ticks(ax, "y")
        else:
            _r2_limits(ax, values)
    axes[1].set_title("lower is better", fontsize=7)
    axes[2].set_title("lower is better", fontsize=7)
    axes[0].set_title("higher is better", fontsize=7)
    _legend(fig, axes[0])
    fig.suptitle(
        f"{title}\nin-sample fit points (table T5); selected: lowest ASD among "
        "converged laws passing C1–C5"
    )
    return fig


def _r2_limits(ax, values) -> None:
    """R² near 1 for every law: zoom to the data (the axis need not start at 0), room above for
    the value labels; a single law still gets a visible bar."""
    finite = values[np.isfinite(values)]
    if not finite.size:
        return
    lo, hi = float(finite.min()), float(finite.max())
    pad = max(hi - lo, 0.02)
    bottom = lo - 0.5 * pad
    if lo >= 0 and bottom < 0:
        bottom = 0.0
    ax.set_ylim(bottom, hi + 0.25 * pad)


def _annotate(ax, x, values, log) -> None:
    for xi, value in zip(x, values):
        if not np.isfinite(value) or (log and value <= 0):
            ax.text(
                xi,
                0.02,
                "n/a",
                transform=ax.get_xaxis_transform(),
                ha="center",
                fontsize=5.5,
                color="0.3",
            )
            continue
        ax.annotate(
            _short(value, log),
            (xi, value),
            xytext=(0, 1.5),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=5.5,
        )


def _short(value: float, log: bool) -> str:
    """Bar labels narrow enough for seven laws side by side: 0.986, 3.7e-6, 2.2."""
    if not log:
        return f"{value:.3f}"
    text = f"{value:.2g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text


def _legend(fig, ax) -> None:
    import matplotlib.patches as mpatches

    handles = [
        mpatches.Patch(facecolor=SELECTED, edgecolor="0.3", lw=0.4),
        mpatches.Patch(facecolor=PASSING, edgecolor="0.3", lw=0.4),
        mpatches.Patch(facecolor=FAILING, edgecolor="0.3", lw=0.4),
        mpatches.Patch(facecolor="white", edgecolor="crimson", hatch="////", lw=0.8),
    ]
    labels = [
        "selected",
        "converged, passes C1–C5",
        "fails a condition C1–C5",
        f"{style.NOT_CONVERGED.lower()}",
    ]
    style.legend_below(fig, handles, labels, ncol=4)
