"""The compression-law baseline's own fitting method: OLS on log L (arXiv 2504.04342).

log L = a·log L0 + b·log(1 + ρ) + c·log(1 + 1/(D + 1)) is linear in (a, b, c) with no intercept,
so statsmodels OLS fits it exactly; the common Huber fit (used for ranking) starts from it too.
"""

from __future__ import annotations

import numpy as np
import statsmodels.api as sm

from .forms import _comp_design


def ols_fit(design) -> dict:
    u, v, w = _comp_design(design.X)
    res = sm.OLS(np.log(design.loss), np.column_stack([u, v, w])).fit()
    theta = np.asarray(res.params, float)
    return {"theta": theta.tolist(), "params": dict(zip("abc", theta.tolist())),
            "bse": dict(zip("abc", np.asarray(res.bse, float).tolist())),
            "r2_log_uncentered": float(res.rsquared)}
