"""Merge per-run outputs into the tidy eval-loss table, the pruning table and the model table.

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

# Table T1, one row per base model, from its checkpoint's config.json and l0.json (+ train.json):
# written next to eval_loss.csv so a committed tables folder rebuilds T1 without checkpoints.
MODELS_COLUMNS = [
    "family", "model", "model_type", "source", "n0", "n0_nonemb", "n_embedding", "layers",
    "hidden", "intermediate", "heads", "kv_heads", "head_dim", "vocab", "tied", "l0",
    "pretrain_tokens",
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


def model_row(*, family: str, model: str, config_json: str | Path, l0_json: str | Path,
              train_json: str | Path | None = None) -> dict:
    """One base model's row of models.csv: architecture from its HF config.json, sizes and L0
    from l0.json (parameters counted on the loaded model, tied embeddings once)."""
    cfg, l0 = _read_json(config_json), _read_json(l0_json)
    train = _read_json(train_json) if train_json and Path(train_json).is_file() else {}
    heads = cfg["num_attention_heads"]
    counts = l0["params"]
    return {
        "family": family, "model": model, "model_type": cfg.get("model_type", ""),
        "source": train.get("source", "built"), "n0": counts["total"],
        "n0_nonemb": counts["nonemb"], "n_embedding": counts["embedding"],
        "layers": cfg["num_hidden_layers"], "hidden": cfg["hidden_size"],
        "intermediate": cfg.get("intermediate_size"), "heads": heads,
        "kv_heads": cfg.get("num_key_value_heads") or heads,
        "head_dim": cfg.get("head_dim") or cfg["hidden_size"] // heads,
        "vocab": cfg["vocab_size"], "tied": bool(cfg.get("tie_word_embeddings", False)),
        "l0": l0["l0"],
        "pretrain_tokens": train.get("tokens") if "source" not in train else None,
    }


def models_table(rows: list[dict]) -> pd.DataFrame:
    """models.csv: the rows of model_row, by family then size."""
    frame = pd.DataFrame(rows, columns=MODELS_COLUMNS)
    return frame.sort_values(["family", "n0", "model"], kind="stable").reset_index(drop=True)


def read_models(path: str | Path) -> pd.DataFrame:
    """models.csv of a tables folder (table T1), with `heads_kv` as "heads/kv" for display.

    A tables folder written before T1 existed has no models.csv: say what to do about it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: table T1 (base models) is built from models.csv, which rule "
            "'table' writes beside eval_loss.csv. This tables folder predates it: rerun "
            "`snakemake table` where results/base/<model>/ (config.json, l0.json) exist, or "
            f"write models.csv with the columns {MODELS_COLUMNS}.")
    frame = pd.read_csv(path)
    missing = [c for c in MODELS_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; expected {MODELS_COLUMNS}")
    heads_kv = [f"{h}/{k}" for h, k in zip(frame["heads"], frame["kv_heads"])]
    return frame.assign(heads_kv=heads_kv)


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


# Table T1 as the report shows it: models.csv column -> header
MODELS_REPORT_COLUMNS = {
    "family": "family",
    "model": "model",
    "n0": "N0",
    "n0_nonemb": "N0 non-emb.",
    "layers": "layers",
    "hidden": "hidden",
    "heads_kv": "heads/kv",
    "vocab": "vocab",
    "tied": "tied",
    "l0": "L0 (nats/token)",
}
