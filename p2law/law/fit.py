"""fit_law: one law fitted to one (family × method) table, with its convergence evidence.

The result keeps parameters at full float64 (paper-spec §5.2 "no rounding"), states its units, and
says plainly when it did not converge; the caller decides what to do with such a fit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import LawInputError
from .forms import Form, get_form
from .inputs import DEFAULT_COLUMN, Design, extract, prepare
from .metrics import all_metrics, asd
from .optimize import Objective, crosscheck, multistart, projected_grad_norm
from .schema import FIT_SCHEMA as SCHEMA

GRAD_TOL = 1e-4  # projected-gradient inf-norm on the scaled objective (O(1) at the optimum)
AGREE_RTOL = 1e-6  # polished starts within this relative objective of the best "agree"
MIN_AGREE = 3  # fewer agreeing starts -> warning (paper-spec §5.2)
N_BEST_STARTS = 5  # bootstrap refits start from these (paper-spec §5.4)


@dataclass
class Fit:
    law: str
    theta: np.ndarray  # internal parameters (log_X for exp-parameterised ones)
    n0_unit: float
    d_unit: float
    huber_delta: float
    min_tokens: float = 0.0
    columns: dict = field(default_factory=dict)
    target: str = "loss"
    metrics: dict = field(default_factory=dict)
    convergence: dict = field(default_factory=dict)
    crosscheck: dict = field(default_factory=dict)  # paper-spec §5.5, see optimize.crosscheck
    domain: dict = field(default_factory=dict)
    per_curve: dict = field(default_factory=dict)
    residuals: np.ndarray = field(default_factory=lambda: np.zeros(0))  # log residuals, for PIs
    best_starts: list = field(default_factory=list)
    conditions: dict | None = None
    bootstrap: dict | None = None
    extra: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)  # which families/methods/models the fit saw

    @property
    def form(self) -> Form:
        return get_form(self.law)

    @property
    def params(self) -> dict[str, float]:
        return self.form.to_public(self.theta)

    def variables(self, df: pd.DataFrame) -> dict:
        problems: list[str] = []
        X = extract(df, self.form, self.n0_unit, self.d_unit, self.columns, problems)
        if problems:
            raise LawInputError("invalid input:\n  " + "\n  ".join(problems))
        return X

    def predict(self, df: pd.DataFrame, theta=None) -> np.ndarray:
        """Predicted loss for each row; NaN where D ≤ 0 (the law diverges at D = 0)."""
        X = self.variables(df)
        return predict_X(self.form, self.theta if theta is None else theta, X)

    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "law": self.law,
            "formula": self.form.formula,
            "params": self.params,
            "theta": {p: float(t) for p, t in zip(self.form.params, self.theta)},
            "n0_unit": self.n0_unit,
            "d_unit": self.d_unit,
            "huber_delta": self.huber_delta,
            "min_tokens": self.min_tokens,
            "columns": self.columns,
            "target": self.target,
            "converged": bool(self.convergence.get("converged", False)),
            "metrics": self.metrics,
            "convergence": self.convergence,
            "crosscheck": self.crosscheck,
            "conditions": self.conditions,
            "bootstrap": self.bootstrap,
            "domain": self.domain,
            "per_curve": self.per_curve,
            "residuals": [float(r) for r in self.residuals],
            "best_starts": [[float(v) for v in s] for s in self.best_starts],
            "extra": self.extra,
            "meta": self.meta,
        }

    def save(self, path) -> None:
        from p2law.atomic import write_text  # a killed job leaves no fit JSON that looks done

        write_text(path, json.dumps(_jsonable(self.to_dict()), indent=2, allow_nan=True) + "\n")

    @classmethod
    def from_dict(cls, d: dict) -> "Fit":
        form = get_form(d["law"])
        theta = np.array([d["theta"][p] for p in form.params], float)
        keep = {k: d[k] for k in ("n0_unit", "d_unit", "huber_delta", "min_tokens", "columns", "target",
                                  "metrics", "convergence", "crosscheck", "domain", "per_curve", "conditions",
                                  "bootstrap", "extra", "meta") if k in d}
        return cls(law=d["law"], theta=theta, residuals=np.asarray(d.get("residuals", []), float),
                   best_starts=[np.asarray(s, float) for s in d.get("best_starts", [])], **keep)


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.floating, np.integer, np.bool_)):
        return x.item()
    return x


def load_fit(path) -> Fit:
    try:
        d = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise LawInputError(f"cannot read fit JSON {path}: {e}") from e
    if d.get("schema") != SCHEMA:
        raise LawInputError(f"{path} is not a p2law fit JSON (schema {d.get('schema')!r})")
    return Fit.from_dict(d)


def predict_X(form: Form, theta, X: dict) -> np.ndarray:
    with np.errstate(all="ignore"):
        out = form.value(theta, X)
    return np.where(X["D"] > 0, out, np.nan) if "D" in X else out


def _domain(df: pd.DataFrame, design: Design, columns: dict) -> dict:
    """Where the fit was made, in raw counts: the grid for conditions C1–C5 and budget defaults."""
    if columns or not {"n0", "rho", "l0"} <= set(df.columns):
        return {}  # custom variables (e.g. pretraining data): conditions are not defined
    used = df.loc[design.index]
    models = used.groupby("n0")["l0"].first().sort_index()
    tokens = used[DEFAULT_COLUMN["D"]].astype(float)
    return {"n0": [float(v) for v in models.index], "l0": [float(v) for v in models.to_numpy()],
            "rho": sorted(float(v) for v in used["rho"].unique()),
            "tokens_min": float(tokens.min()), "tokens_max": float(tokens.max())}


def _convergence(form, obj, polished, info) -> dict:
    best = polished[0]
    _, g = obj(best.theta)
    grad_norm = projected_grad_norm(best.theta, g, form.bounds)
    lo, hi = np.array(form.bounds, float).T
    tol = 1e-6 * (hi - lo)
    at_bound = [p for p, t, a, b, e in zip(form.public_names, best.theta, lo, hi, tol) if t - a <= e or b - t <= e]
    agree = [r for r in polished if abs(r.fun - best.fun) <= AGREE_RTOL * abs(best.fun)]
    n_agree = sum(r.count for r in agree)  # starts (twins included) that reached the best
    finite = bool(np.isfinite(best.fun) and np.all(np.isfinite(best.theta)))
    # L-BFGS-B reports ABNORMAL when the line search hits machine precision at the optimum;
    # the projected gradient, not the flag, decides convergence.
    converged = finite and grad_norm <= GRAD_TOL
    warnings = []
    if not converged:
        warnings.append(f"NOT CONVERGED: projected gradient norm {grad_norm:.3g} > {GRAD_TOL:g}")
    if n_agree < MIN_AGREE:
        warnings.append(f"only {n_agree} polished start(s) reached the best objective")
    if at_bound:
        warnings.append(f"parameter(s) at a bound (suspect): {at_bound}")
    return {"converged": converged, "success": bool(best.success), "message": best.message,
            "objective": best.fun, "grad_norm": grad_norm, "n_agree": int(n_agree),
            "n_agree_polished": len(agree),
            "at_bound": at_bound, "nit": best.nit, "warnings": warnings, **info}


def fit_law(df: pd.DataFrame, law: str = "L1", n0_unit: float = 1e6, d_unit: float = 1e6,
            huber_delta: float = 1e-3, grid: dict | None = None, min_tokens: float = 0,
            bootstrap: int = 0, seed: int = 0, columns: dict | None = None, target: str = "loss",
            n_polish: int = 20, polish_iter: int = 20000, check_conditions: bool = True, grid_strict: bool = True,
            extra_starts=(), cross_check: bool = True) -> Fit:
    """Fit one law by Huber on log loss, multi-start L-BFGS-B; see paper-spec §5."""
    form = get_form(law)
    columns = dict(columns or {})
    design = prepare(df, form, n0_unit, d_unit, min_tokens, columns, target)
    offset = design.X["L0"] if target == "excess" else 0.0
    obj = Objective(form, design.X, design.loss, huber_delta, offset)
    starts = form.start_grid(grid, strict=grid_strict)
    extra = {}
    if form.name == "compression":  # the authors' OLS on log L is both a baseline and a start
        from .compression import ols_fit
        extra["ols"] = ols_fit(design)
        extra_starts = list(extra_starts) + [extra["ols"]["theta"]]
    polished, screened, info = multistart(obj, starts, form.bounds, n_polish=n_polish,
                                          polish_iter=polish_iter, extra_starts=extra_starts)
    if not polished:
        raise LawInputError(f"law {law}: no start in the grid gives a positive prediction on every point")
    best = polished[0]
    pred = form.value(best.theta, design.X)
    m = all_metrics(design.X["D"], design.loss, pred, design.curve, huber_delta, d_unit)
    _, per_c = asd(design.X["D"], design.loss, pred, design.curve)
    # Split fits skip it (cross_check=False): it vets headline fits (T8) and is ~half their time
    check = crosscheck(form, design.X, design.loss, best.theta, screened) if cross_check else {
        "skipped": True, "max_rel_diff": None, "flagged": False, "theta": None}
    conv = _convergence(form, obj, polished, info)
    conv["crosscheck_max_rel_diff"] = check["max_rel_diff"]
    if check["flagged"]:
        conv["warnings"].append(f"least-squares cross-check differs by {check['max_rel_diff']:.3g} "
                                "(> 1 %) in predictions")
    check_out = {k: v for k, v in check.items() if k != "theta"}
    check_out["params"] = form.to_public(check["theta"]) if check["theta"] is not None else None
    fit = Fit(law=law, theta=best.theta, n0_unit=n0_unit, d_unit=d_unit, huber_delta=huber_delta,
              min_tokens=float(min_tokens), columns=columns, target=target, metrics=m, convergence=conv,
              crosscheck=check_out, domain=_domain(df, design, columns),
              per_curve={design.curve_labels[k]: v for k, v in per_c.items()},
              residuals=obj.residuals(best.theta)[0], best_starts=[r.theta for r in polished[:N_BEST_STARTS]],
              extra=extra)
    used = df.loc[design.index]
    fit.meta = {c: sorted(str(v) for v in used[c].unique()) for c in ("family", "model", "method")
                if c in used.columns}
    if "ols" in extra:
        pred_ols = form.value(np.asarray(extra["ols"]["theta"]), design.X)
        extra["ols"]["metrics"] = all_metrics(design.X["D"], design.loss, pred_ols, design.curve,
                                              huber_delta, d_unit)
    if check_conditions and fit.domain:
        from .conditions import check_conditions as _check
        fit.conditions = _check(fit)
    if bootstrap:
        from .bootstrap import run_bootstrap
        fit.bootstrap = run_bootstrap(fit, design, n_boot=bootstrap, seed=seed)
    return fit
