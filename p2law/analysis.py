"""Adapters between the law library and the workflow's analysis rules: one job per fit or split.

The library's one-call helpers (``splits.generalization_table``, ``fit_law(bootstrap=...)``) fit
everything inside one process and return no fits; the workflow wants one job per fit, the fits
saved for figures, and no fit computed twice. So:

- ``add_bootstrap`` bootstraps a fit the ``fit`` rule already made (same points, no refit);
- ``fit_split`` / ``score_split`` do one generalization split of one law, saving the split fit so
  the generalization figure draws exactly what the table scores (a test checks the scores equal
  ``generalization_table``'s);
- ``params_table``, ``diagnostics_table`` and ``budget_table`` flatten fits into tables T4, T8, T7.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from p2law.law import LawInputError, fit_law, load_fit
from p2law.law.bootstrap import bands, run_bootstrap
from p2law.law.fit import SCHEMA, Fit
from p2law.law.inputs import curve_codes, prepare
from p2law.law.metrics import all_metrics
from p2law.law.splits import split_parts as library_split_parts


def select(table: pd.DataFrame, family: str, method: str) -> pd.DataFrame:
    """The rows one family x method fit sees (as the fit rule selects them)."""
    return table[(table["family"] == family) & (table["method"] == method)]


def add_bootstrap(fit: Fit, rows: pd.DataFrame, n_boot: int, seed: int, level: float) -> Fit:
    """Run-level bootstrap of an existing fit on the points it was fitted to."""
    design = prepare(rows, fit.form, fit.n0_unit, fit.d_unit, fit.min_tokens, fit.columns, fit.target)
    fit.bootstrap = run_bootstrap(fit, design, n_boot=n_boot, seed=seed, level=level)
    return fit


def split_parts(rows: pd.DataFrame, split: str, d_fraction: float):
    """(train, held-out) of one split, on the post-training points (D > 0), as the library does."""
    return library_split_parts(split, rows[rows["tokens"] > 0], d_fraction)


def fit_split(rows: pd.DataFrame, split: str, law: str, d_fraction: float, **fit_kw) -> dict:
    """A fit JSON (dict) of `law` on the split's training part, with a 'split' record.

    A split that does not apply (one base-model size, one rate) or a fit that cannot be made
    gives a record with status and reason instead of a fit, so the tables can say why.
    """
    info = {"name": split, "law": law, "d_fraction": d_fraction}
    try:
        train, test = split_parts(rows, split, d_fraction)
    except LawInputError as e:
        return {"split": {**info, "status": "not applicable", "note": str(e)}}
    info.update(n_train=len(train), n_heldout=len(test))
    try:
        fit = fit_law(train, law, grid_strict=False, cross_check=False, **fit_kw)
    except LawInputError as e:
        return {"split": {**info, "status": "error", "note": str(e)}}
    ok = bool(fit.convergence["converged"])
    info.update(status="ok" if ok else "NOT CONVERGED", note="; ".join(fit.convergence["warnings"]))
    return {**fit.to_dict(), "split": info}


def save_json(record: dict, path) -> None:
    from p2law.atomic import write_text  # a killed job leaves no JSON that looks done

    write_text(path, json.dumps(record, indent=2, allow_nan=True, default=_plain) + "\n")


def _plain(value):
    """numpy scalars and arrays as plain JSON values."""
    return value.tolist() if hasattr(value, "tolist") else str(value)


def load_split(path) -> tuple[Fit | None, dict]:
    """(fit or None, split record) from a split JSON."""
    record = json.loads(Path(path).read_text())
    fit = load_fit(path) if record.get("schema") == SCHEMA else None
    return fit, record["split"]


def score_split(fit: Fit, test: pd.DataFrame, level: float = 0.95) -> dict:
    """Held-out R², Huber, ASD (with unit), MAPE, RMSE and prediction-interval coverage."""
    X = fit.variables(test)
    codes, _ = curve_codes(test)
    with np.errstate(divide="ignore", invalid="ignore"):  # slopes across curves are masked
        m = all_metrics(X["D"], test["loss"].to_numpy(float), fit.predict(test), codes,
                        fit.huber_delta, fit.d_unit)
    row = {k: m[k] for k in ("r2", "huber", "asd", "asd_unit", "d_unit", "mape", "rmse")}
    row["pi_coverage"] = np.nan
    if fit.bootstrap and fit.bootstrap.get("theta"):
        b = bands(fit, test, level=level)
        y = test["loss"].to_numpy(float)
        row["pi_coverage"] = float(np.mean((y >= b["pi_lo"].to_numpy()) & (y <= b["pi_hi"].to_numpy())))
    return row


def generalization_rows(table: pd.DataFrame, split_files: dict, level: float) -> pd.DataFrame:
    """Table T6 from split JSONs keyed by (family, method, split, law)."""
    rows = []
    for (family, method, split, law), path in sorted(split_files.items()):
        fit, info = load_split(path)
        row = {"family": family, "method": method, "split": split, "law": law,
               "n_train": info.get("n_train"), "n_heldout": info.get("n_heldout")}
        if fit is not None:
            _, test = split_parts(select(table, family, method), split, info["d_fraction"])
            row.update(score_split(fit, test, level))
            row["converged"] = info["status"] == "ok"
        rows.append({**row, "status": info["status"], "note": info.get("note", "")})
    return pd.DataFrame(rows)


def _fit_key(fit: Fit) -> dict:
    return {"family": ",".join(fit.meta.get("family", [])),
            "method": ",".join(fit.meta.get("method", [])), "law": fit.law}


def params_table(fits: list[Fit]) -> pd.DataFrame:
    """Table T4: every parameter of every fit with its bootstrap interval, one row each."""
    rows = []
    for fit in fits:
        boot = fit.bootstrap or {}
        for name, value in fit.params.items():
            lo, hi = boot.get("intervals", {}).get(name, [np.nan, np.nan])
            rows.append({**_fit_key(fit), "param": name, "estimate": value, "lo": lo, "hi": hi,
                         "level": boot.get("level"), "n_boot": boot.get("n"),
                         "n_boot_converged": boot.get("n_converged"),
                         "converged": bool(fit.convergence.get("converged")),
                         "n0_unit": fit.n0_unit, "d_unit": fit.d_unit})
    return pd.DataFrame(rows)


def diagnostics_table(fits: list[Fit]) -> pd.DataFrame:
    """Table T8: how each fit was found and how much to trust it."""
    rows = []
    for fit in fits:
        c, boot = fit.convergence, fit.bootstrap or {}
        rows.append({**_fit_key(fit), "k": fit.form.k, "converged": bool(c.get("converged")),
                     "n_starts": c.get("n_starts"), "n_agree": c.get("n_agree"),
                     "objective": c.get("objective"), "grad_norm": c.get("grad_norm"),
                     "at_bound": " ".join(c.get("at_bound", [])),
                     "crosscheck_max_rel_diff": c.get("crosscheck_max_rel_diff"),
                     "boot_converged": boot.get("n_converged"), "boot_failed": boot.get("n_failed"),
                     "warnings": "; ".join(c.get("warnings", []))})
    return pd.DataFrame(rows)


def budget_table(fits: list[Fit], table: pd.DataFrame, epsilons, level: float) -> pd.DataFrame:
    """Table T7: D* per run (base model x ρ) and marginal gain ε, with bootstrap intervals."""
    from p2law.law.budget import data_budget

    rows = []
    for fit in fits:
        key = _fit_key(fit)
        runs = select(table, key["family"], key["method"])
        for (model, rho), curve in runs.groupby(["model", "rho"], sort=True):
            first = curve.iloc[0]
            for eps in epsilons:
                b = data_budget(fit, float(first["n0"]), float(rho), float(first["l0"]),
                                epsilon=float(eps), level=level)
                lo, hi = b.get("d_star_interval", [np.nan, np.nan])
                rows.append({**key, "model": model, "n0": first["n0"], "rate": first.get("rate"),
                             "rho": rho, "l0": first["l0"], "epsilon": eps,
                             "epsilon_unit": b["epsilon_unit"], "d_star": b["d_star"],
                             "d_star_lo": lo, "d_star_hi": hi,
                             "n_unreachable": b.get("d_star_n_unreachable", 0),
                             "tokens_last": float(curve["tokens"].max()), "d_unit": fit.d_unit,
                             "converged": bool(fit.convergence.get("converged"))})
    return pd.DataFrame(rows)
