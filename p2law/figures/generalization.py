"""F7 generalization: a panel per held-out split (larger D, larger N0, higher ρ).

Each split's law was fitted on its training part only (rule split_fit). Filled markers: points
the fit saw; open markers: held-out points. Lines: the split fit's prediction over each curve's
range; the band is its prediction interval over the held-out points. Scores are those of table
T6 (held-out points). A split that does not apply says why in its panel.
"""

from __future__ import annotations

import pandas as pd

from p2law.analysis import split_parts
from p2law.figures import style
from p2law.figures.curves import fit_grid, predicted

TITLES = {"larger_D": "larger D", "larger_N0": "larger N0", "higher_rho": "higher ρ"}


def _scores(row) -> str:
    if row is None or pd.isna(row.get("r2")):
        return ""
    cov = "" if pd.isna(row.get("pi_coverage")) else f"\nPI coverage = {row['pi_coverage']:.0%}"
    return (f"held out: n = {int(row['n_heldout'])}\nR² = {row['r2']:.3f}\n"
            f"MAPE = {100 * row['mape']:.2f} %{cov}")


def _draw_split(ax, rows, fit, info, score, d_unit, level, palette):
    train, test = split_parts(rows, info["name"], info["d_fraction"])
    for (n0, model, rho), curve in rows[rows["tokens"] > 0].groupby(["n0", "model", "rho"]):
        color = palette[n0]
        seen = curve.index.isin(train.index)
        held = curve.index.isin(test.index)
        ax.plot(curve.loc[seen, "tokens"] / d_unit, curve.loc[seen, "loss"], "o", color=color)
        ax.plot(curve.loc[held, "tokens"] / d_unit, curve.loc[held, "loss"], "o", mfc="white",
                color=color)
        fitted = curve[curve["tokens"] >= max(fit.min_tokens, 1)]
        frame = fit_grid(curve, fitted["tokens"].min(), fitted["tokens"].max())
        ax.plot(frame["tokens"] / d_unit, fit.predict(frame), style.fit_linestyle(fit), color=color)
        if held.any():
            lo, hi = curve.loc[held, "tokens"].min(), curve.loc[held, "tokens"].max()
            part = frame[(frame["tokens"] >= lo) & (frame["tokens"] <= hi)]
            band = predicted(fit, part, level)
            if "pi_lo" in band:
                ax.fill_between(part["tokens"] / d_unit, band["pi_lo"], band["pi_hi"], color=color,
                                alpha=0.2, lw=0)
    if info["name"] == "larger_D" and len(test):  # shade the extrapolated region
        ax.axvspan(train["tokens"].max() / d_unit, test["tokens"].max() / d_unit, color="0.88",
                   lw=0, zorder=0)
    ax.text(0.97, 0.97, _scores(score), transform=ax.transAxes, ha="right", va="top", fontsize=6,
            bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": "0.8"})
    style.flag_fit(ax, fit, where="lower left")


def plot_generalization(table: pd.DataFrame, splits: list, scores: pd.DataFrame | None = None,
                        *, d_unit: float = 1e6, level: float = 0.95, title: str = ""):
    """`splits`: (fit or None, split record) per split, as p2law.analysis.load_split returns."""
    style.apply()
    fig, axes = style.panels(len(splits), ncols=3, height=2.4, sharey=True)
    palette = style.n0_palette(table["n0"].unique())
    for ax, (fit, info) in zip(axes, splits):
        ax.set_title(f"{TITLES.get(info['name'], info['name'])} ({info['law']})")
        ax.set_xscale("log")
        ax.set_xlabel(style.d_label(d_unit))
        if fit is None:
            ax.text(0.5, 0.5, f"{info['status']}:\n{_wrap(info.get('note', ''))}",
                    transform=ax.transAxes, ha="center", va="center", fontsize=6)
            ax.tick_params(axis="x", labelbottom=False)  # an empty panel has no D range to label
            continue
        score = None
        if scores is not None:
            hit = scores[(scores["split"] == info["name"]) & (scores["law"] == info["law"])]
            score = hit.iloc[0] if len(hit) else None
        _draw_split(ax, table, fit, info, score, d_unit, level, palette)
        style.log_ticks(ax, "x")
    post = table.loc[table["tokens"] > 0, "loss"]
    pad = 0.05 * (post.max() - post.min())
    axes[0].set_ylim(post.min() - pad, post.max() + pad)  # bands must not set the scale
    axes[0].set_ylabel(style.LOSS_LABEL)
    handles = [axes[0].plot([], [], "o", color="0.3")[0], axes[0].plot([], [], "o", mfc="white", color="0.3")[0]]
    labels = ["fitted (training part)", "held out"]
    models = table.drop_duplicates("n0").set_index("n0")["model"]
    for n0, color in palette.items():
        handles.append(axes[0].plot([], [], "-", color=color)[0])
        labels.append(f"{models[n0]} (N0 = {style.fmt_count(n0)})")
    style.legend_below(fig, handles, labels)
    fig.suptitle(f"{title}\nlines: split fit's prediction; band: {level:.0%} prediction interval "
                 "over held-out points")
    return fig


def _wrap(text: str, width: int = 45) -> str:
    words, lines, line = str(text).split(), [], ""
    for w in words:
        if len(line) + len(w) + 1 > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    return "\n".join(lines + [line])
