"""Turn a tidy table into a form's scaled variables, with validation that names rows and columns.

Raw counts stay in files; here N0/N are divided by ``n0_unit`` and D by ``d_unit`` (paper-spec §5.2).
Every violation is collected before raising, so one run shows all of them (paper-spec §5.3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import LawInputError
from .forms import DEFAULT_COLUMN, LOSS_COLUMN, VARIABLE_KIND, Form

CURVE_COLUMNS = ("model", "method", "rho")  # one curve = one run: base model × method × ρ
_MAX_LISTED = 8


@dataclass
class Design:
    X: dict[str, np.ndarray]  # law variable -> scaled values
    loss: np.ndarray
    curve: np.ndarray  # integer curve code per point
    curve_labels: list  # label per code
    index: pd.Index  # df index of the used rows

    @property
    def n(self) -> int:
        return len(self.loss)


def _numeric(df: pd.DataFrame, col: str, problems: list) -> np.ndarray:
    if col not in df.columns:
        raise LawInputError(f"missing column {col!r}; columns present: {list(df.columns)}")
    raw = df[col]
    vals = pd.to_numeric(raw, errors="coerce")
    bad = (vals.isna() & raw.notna()).to_numpy()
    for i in np.flatnonzero(bad)[:_MAX_LISTED]:
        problems.append(f"row {raw.index[i]}, column {col!r}: non-numeric value {raw.iloc[i]!r}")
    nan = raw.isna().to_numpy() | ~np.isfinite(vals.fillna(0.0).to_numpy(float))
    for i in np.flatnonzero(nan & ~bad)[:_MAX_LISTED]:
        problems.append(f"row {raw.index[i]}, column {col!r}: missing or non-finite value")
    return vals.to_numpy(float)


def _require_positive(name, col, vals, index, problems):
    for i in np.flatnonzero(np.isfinite(vals) & (vals <= 0))[:_MAX_LISTED]:
        problems.append(f"row {index[i]}, column {col!r}: {name} must be > 0, got {vals[i]}")


def _raise(problems):
    if problems:
        more = f" (showing first {len(problems)})" if len(problems) >= _MAX_LISTED else ""
        raise LawInputError("invalid input" + more + ":\n  " + "\n  ".join(problems))


def variable_columns(form: Form, columns: dict | None) -> dict[str, str | None]:
    """Law variable -> source column (None = derived, i.e. N = (1 - rho) n0)."""
    columns = dict(columns or {})
    unknown = set(columns) - set(form.variables) - {"L"}
    if unknown:
        raise LawInputError(
            f"law {form.name} has no variable(s) {sorted(unknown)}; its variables: {list(form.variables)} and L"
        )
    return {v: columns.get(v, DEFAULT_COLUMN[v]) for v in form.variables}


def extract(df, form, n0_unit, d_unit, columns=None, problems=None):
    """Scaled law variables for every row of df (no filtering). Appends problems; returns X."""
    problems = [] if problems is None else problems
    src = variable_columns(form, columns)
    X = {}
    for var, col in src.items():
        if col is None:  # N, the pruned size, from n0 and rho
            n0 = _numeric(df, "n0", problems)
            rho = _numeric(df, "rho", problems)
            _require_positive("n0", "n0", n0, df.index, problems)
            vals = (1.0 - rho) * n0
            _require_positive("N = (1 - rho) n0", "rho", vals, df.index, problems)
        else:
            vals = _numeric(df, col, problems)
            if var != "D":  # D = 0 is the just-pruned point, filtered by the caller
                _require_positive(var, col, vals, df.index, problems)
            if var == "rho":  # the fraction removed: 1 or more leaves no model to post-train
                for i in np.flatnonzero(np.isfinite(vals) & (vals >= 1))[:_MAX_LISTED]:
                    problems.append(f"row {df.index[i]}, column {col!r}: rho (fraction of "
                                    f"parameters removed) must be < 1, got {vals[i]}")
        scale = {"n": n0_unit, "d": d_unit, None: 1.0}[VARIABLE_KIND[var]]
        X[var] = vals / scale
    return X


def curve_codes(df: pd.DataFrame):
    cols = [c for c in CURVE_COLUMNS if c in df.columns]
    if not cols:  # e.g. plain pretraining data without run ids: one curve
        return np.zeros(len(df), int), ["all"]
    keys = df[cols].astype(str).agg("|".join, axis=1)
    codes, labels = pd.factorize(keys, sort=True)
    return codes, list(labels)


def prepare(df, form, n0_unit=1e6, d_unit=1e6, min_tokens=0, columns=None, target="loss") -> Design:
    """Validate df and return the design of the points to fit (tokens >= max(min_tokens, 1))."""
    if df is None or len(df) == 0:
        raise LawInputError("no data rows (empty table)")
    columns = dict(columns or {})
    problems: list[str] = []
    d_col = variable_columns(form, columns).get("D") or DEFAULT_COLUMN["D"]
    tokens = _numeric(df, d_col, problems)
    for i in np.flatnonzero(np.isfinite(tokens) & (tokens < 0))[:_MAX_LISTED]:
        problems.append(f"row {df.index[i]}, column {d_col!r}: D (tokens) must be >= 0, got {tokens[i]}")
    _raise(problems)
    keep = tokens >= max(float(min_tokens), 1.0)
    sub = df.loc[keep]
    if len(sub) == 0:
        raise LawInputError(f"no points with {d_col} >= {max(float(min_tokens), 1.0):g} to fit")
    X = extract(sub, form, n0_unit, d_unit, columns, problems)
    loss_col = columns.get("L", LOSS_COLUMN)
    loss = _numeric(sub, loss_col, problems)
    _require_positive("loss", loss_col, loss, sub.index, problems)
    if target == "excess":
        if "L0" not in X:
            raise LawInputError(f"law {form.name} has no L0 anchor: cannot fit the excess L - L0")
        bad = np.isfinite(loss) & (loss <= X["L0"])
        for i in np.flatnonzero(bad)[:_MAX_LISTED]:
            problems.append(
                f"row {sub.index[i]}: loss {loss[i]} <= L0 {X['L0'][i]}, log(L - L0) undefined for an excess fit"
            )
    elif target != "loss":
        raise LawInputError(f"unknown target {target!r}; use 'loss' or 'excess'")
    _raise(problems)
    need = max(form.k, 5)
    if len(sub) < need:
        raise LawInputError(
            f"law {form.name} has {form.k} parameters: need at least {need} points, got {len(sub)}"
        )
    codes, labels = curve_codes(sub)
    return Design(X=X, loss=loss, curve=codes, curve_labels=labels, index=sub.index)
