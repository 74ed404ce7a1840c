"""One synthetic L1 table and a small start grid shared by the figure and analysis tests."""

import numpy as np

from p2law.law.synthetic import make_table

GRID = {"alpha": [0.5], "beta": [0.5, 1.0], "gamma": [-1.0, 0.0], "delta": [0.0, 0.5],
        "N_C": [0.3], "D_C": [0.3], "E": [0.0]}
FIT_KW = {"grid": GRID, "min_tokens": 1e4, "seed": 0, "bootstrap": 6}


def synthetic_table():
    tokens = np.r_[0.0, np.logspace(4, 6, 8)]
    return make_table(rhos=(0.1, 0.2, 0.3), tokens=tokens, noise=0.002, curve_noise=0.002, seed=3)


SIZES = ("s", "m", "l")
N0S = (1.25e5, 2.5e5, 4.2e5)
RATES = {"depth": (0.1, 0.2, 0.3), "width": (0.1, 0.2, 0.3), "sparse24": (0.5,)}


def write_tables_dir(directory, families=("llama", "qwen2"), methods=tuple(RATES), seed=0):
    """A tables folder like resources/embedded_tables (eval_loss, pruning, curve_checks, models
    CSVs) for every family x method, drawn from L1 with the embedded default's eval schedule."""
    from pathlib import Path

    import pandas as pd

    from p2law.checks import curve_checks
    from p2law.tables import EVAL_LOSS_COLUMNS, models_table, sort_eval_loss, write_csv

    directory = Path(directory)
    tokens = np.r_[0.0, np.geomspace(2048, 524288, 10)]
    frames, models = [], []
    for i, family in enumerate(families):
        l0s = [3.77 - 0.12 * k + 0.05 * i for k in range(len(N0S))]
        for j, method in enumerate(methods):
            rates = RATES[method]
            rhos = [0.9 * r if method == "sparse24" else r for r in rates]
            df = make_table(n0s=N0S, l0s=l0s, rhos=rhos, tokens=tokens, noise=0.002,
                            curve_noise=0.002, seed=seed + 10 * i + j, family=family,
                            method=method)
            df["model"] = [f"{family}-{SIZES[int(m.rsplit('-', 1)[1])]}" for m in df["model"]]
            df["rate"] = df["rho"].map(dict(zip(rhos, rates)))
            frames.append(df.assign(criterion="synthetic", step=(df["tokens"] // 1024).astype(int)))
        for k, (n0, l0) in enumerate(zip(N0S, l0s)):
            models.append({"family": family, "model": f"{family}-{SIZES[k]}", "model_type": family,
                           "source": "built", "n0": int(n0), "n0_nonemb": int(0.7 * n0),
                           "n_embedding": int(0.3 * n0), "layers": 8, "hidden": 32 * (k + 1),
                           "intermediate": 88 * (k + 1), "heads": 2, "kv_heads": 1,
                           "head_dim": 16 * (k + 1), "vocab": 1024, "tied": True, "l0": l0,
                           "pretrain_tokens": 2310144})
    eval_loss = sort_eval_loss(pd.concat(frames, ignore_index=True)[EVAL_LOSS_COLUMNS])
    write_csv(eval_loss, directory / "eval_loss.csv")
    write_csv(curve_checks(eval_loss), directory / "curve_checks.csv")
    runs = eval_loss.sort_values("tokens").groupby(["family", "model", "method", "rate"], sort=True)
    pruning = runs.agg(criterion=("criterion", "first"), rho=("rho", "first"),
                       rho_nonemb=("rho_nonemb", "first"), n0=("n0", "first"),
                       n0_nonemb=("n0_nonemb", "first"), l0=("l0", "first"),
                       loss_pruned=("loss", "first"), loss_final=("loss", "last"),
                       tokens_final=("tokens", "last")).reset_index()
    pruning = pruning.assign(rho_requested=pruning["rate"], rho_flat=pruning["rho"],
                             params_kept=((1 - pruning["rho"]) * pruning["n0"]).round(),
                             removed_layers="")
    write_csv(pruning, directory / "pruning.csv")
    write_csv(models_table(models), directory / "models.csv")
    return eval_loss
