"""Merge per-run outputs into the tidy eval-loss table and the pruning table.

`eval_loss.csv` is the one interface between the expensive half of the workflow (training)
and the cheap half (fits, figures): anyone's curves in this format can be fitted and plotted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

EVAL_LOSS_COLUMNS = [
    "family", "model", "n0", "n0_nonemb", "method", "criterion", "rate", "rho", "rho_nonemb",
    "l0", "step", "tokens", "loss", "seed",
]


def _read_json(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())


def run_rows(*, family: str, model: str, rate: str, seed: int, prune_json: str,
             l0_json: str, curve_csv: str) -> pd.DataFrame:
    """The tidy rows of one post-training run."""
    info, l0 = _read_json(prune_json), _read_json(l0_json)
    curve = pd.read_csv(curve_csv)
    for column in ("step", "tokens", "loss"):
        if column not in curve:
            raise ValueError(f"{curve_csv}: missing column {column!r}")
    return curve.assign(
        family=family, model=model, n0=info["n0"], n0_nonemb=info["n0_nonemb"],
        method=info["method"], criterion=info["criterion"], rate=rate, rho=info["rho"],
        rho_nonemb=info["rho_nonemb"], l0=l0["l0"], seed=seed,
    )[EVAL_LOSS_COLUMNS]


def pruning_row(*, family: str, model: str, rate: str, prune_json: str, l0_json: str,
                curve_csv: str) -> dict:
    info, l0 = _read_json(prune_json), _read_json(l0_json)
    curve = pd.read_csv(curve_csv).sort_values("tokens")
    removed = info.get("removed_layers")
    return {
        "family": family, "model": model, "method": info["method"],
        "criterion": info["criterion"], "rate": rate, "rho_requested": info["rate_requested"],
        "rho": info["rho"], "rho_nonemb": info["rho_nonemb"], "rho_flat": info["rho_flat"],
        "n0": info["n0"], "n0_nonemb": info["n0_nonemb"], "params_kept": info["params_kept"],
        "removed_layers": " ".join(map(str, removed)) if removed is not None else "",
        "l0": l0["l0"], "loss_pruned": float(curve["loss"].iloc[0]),
        "loss_final": float(curve["loss"].iloc[-1]), "tokens_final": int(curve["tokens"].iloc[-1]),
    }


def write_csv(frame: pd.DataFrame, path: str | Path) -> None:
    """Atomic, deterministic CSV (fixed row order, full float precision)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    frame.to_csv(tmp, index=False, float_format="%.10g")
    tmp.replace(path)


def sort_eval_loss(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["family", "n0", "model", "method", "rho", "tokens"],
                             kind="stable").reset_index(drop=True)
