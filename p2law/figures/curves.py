"""Post-training loss curves: loss against D, a panel per base model, a line per rho.

The just-pruned point (D = 0) cannot sit on a log axis; it is drawn at the left edge, one
half-decade before the first logged D, with an open marker.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns

from p2law.figures import style


def plot_curves(table: pd.DataFrame, fit=None, *, d_unit: float = 1e6, d_unit_name: str = "M",
                title: str = ""):
    """`table`: tidy rows of one family x method; `fit`: a loaded law fit or None."""
    import matplotlib.pyplot as plt

    style.apply()
    models = (table.drop_duplicates("model").sort_values("n0")["model"].tolist())
    fig, axes = plt.subplots(1, len(models), figsize=(3.0 * len(models), 2.8), sharey=True,
                             squeeze=False)
    rhos = sorted(table["rho"].unique())
    palette = dict(zip(rhos, sns.color_palette("viridis", len(rhos))))
    positive = table[table["tokens"] > 0]
    x_zero = positive["tokens"].min() / d_unit / 10**0.5
    for ax, model in zip(axes[0], models):
        rows = table[table["model"] == model]
        for rho, curve in rows.groupby("rho"):
            curve = curve.sort_values("tokens")
            logged = curve[curve["tokens"] > 0]
            color = palette[rho]
            ax.plot(logged["tokens"] / d_unit, logged["loss"], "o", ms=3, color=color,
                    label=f"ρ = {rho:.3f}")
            ax.plot([x_zero], curve.loc[curve["tokens"] == 0, "loss"], "o", ms=4,
                    mfc="white", color=color)
            if fit is not None:
                grid = np.geomspace(logged["tokens"].min(), logged["tokens"].max(), 100)
                frame = pd.DataFrame({"n0": curve["n0"].iloc[0], "rho": rho,
                                      "l0": curve["l0"].iloc[0], "tokens": grid})
                ax.plot(grid / d_unit, fit.predict(frame), "-", lw=1, color=color)
        ax.axhline(rows["l0"].iloc[0], ls="--", lw=1, color="black", label="L0 (unpruned)")
        ax.set_xscale("log")
        ax.set_title(f"{model} (N0 = {rows['n0'].iloc[0] / 1e6:.2f} M)")
        ax.set_xlabel(f"post-training tokens D ({d_unit_name} tokens)")
    axes[0][0].set_ylabel("eval loss (nats/token)")
    handles, labels = axes[0][-1].get_legend_handles_labels()
    note = "lines: fitted L1" if fit is not None else "no fit"
    if fit is not None and not fit.convergence.get("converged", True):
        note += " (DID NOT CONVERGE)"
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), bbox_to_anchor=(0.5, 1.08))
    fig.suptitle(f"{title}  —  open markers: D = 0 (just pruned); {note}", y=-0.02, fontsize=8)
    return fig
