"""Per-curve checks that the embedded profile is in the regime the law describes.

paper-spec §10.4: post-training must *recover* towards L0 and flatten above it. A curve that
falls well below L0 means the base model was under-trained and post-training is just more
pretraining; a curve that does not flatten means the budget or LR cannot identify the plateau.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _drop_over(curve: pd.DataFrame, low: float, high: float) -> float:
    """Loss drop between token counts `low` and `high`, log-linearly interpolated."""
    x, y = np.log(curve["tokens"].to_numpy(float)), curve["loss"].to_numpy(float)
    return float(np.interp(np.log(low), x, y) - np.interp(np.log(high), x, y))


def curve_checks(table: pd.DataFrame, below_l0_tolerance: float = 0.01) -> pd.DataFrame:
    """One row per curve (model, method, rate) with the regime checks and the numbers behind them.

    - recovers: the loss at the last D is below the loss at the first D > 0;
    - above_l0: no point after D = 0 lies more than `below_l0_tolerance` below L0;
    - flattens: the drop over the last decade of D is under half the drop over the first.
    """
    rows = []
    for (family, model, method, rate), curve in table.groupby(
            ["family", "model", "method", "rate"], sort=True):
        curve = curve[curve["tokens"] > 0].sort_values("tokens")
        first, last = curve["tokens"].iloc[0], curve["tokens"].iloc[-1]
        l0 = float(curve["l0"].iloc[0])
        drop_first = _drop_over(curve, first, first * 10)
        drop_last = _drop_over(curve, last / 10, last)
        rows.append({
            "family": family, "model": model, "method": method, "rate": rate,
            "rho": float(curve["rho"].iloc[0]), "l0": l0,
            "loss_first": float(curve["loss"].iloc[0]), "loss_last": float(curve["loss"].iloc[-1]),
            "min_excess": float((curve["loss"] - l0).min()),
            "drop_first_decade": drop_first, "drop_last_decade": drop_last,
            "decades": float(np.log10(last / first)),
            "recovers": bool(curve["loss"].iloc[-1] < curve["loss"].iloc[0]),
            "above_l0": bool((curve["loss"] - l0).min() >= -below_l0_tolerance),
            "flattens": bool(drop_first > 0 and drop_last < 0.5 * drop_first),
        })
    return pd.DataFrame(rows)
