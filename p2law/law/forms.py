"""The law registry: each candidate form's formula, parameters, bounds, start grid and gradient.

Every form predicts the loss L̂ from named variables (N0, D, rho, L0, N) and an internal parameter
vector θ. Internal parameters named ``log_X`` are optimised in log space (paper-spec §5.2: N_C = e^n)
and reported as ``X = exp(log_X)``. ``value`` and ``grad`` broadcast over leading axes of θ, so the
fitter can score thousands of starts in one numpy call:

    θ: (..., k), variables: (n,)  ->  value: (..., n), grad: (..., n, k) = ∂L̂/∂θ
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .errors import LawInputError

# How each law variable is read from the tidy table when no --var mapping is given, and which
# unit scales it (paper-spec §5.2: N0 and D in O(1) units so the optimizer behaves).
VARIABLE_KIND = {"N0": "n", "N": "n", "D": "d", "rho": None, "L0": None}
DEFAULT_COLUMN = {"N0": "n0", "D": "tokens", "rho": "rho", "L0": "l0", "N": None}
LOSS_COLUMN = "loss"

# Shared start values (paper-spec §5.2 grid for L1), reused so every form is fitted alike.
_ALPHA = (0.0, 0.5, 1.0, 2.0)
_BETA = (0.25, 0.5, 1.0, 2.0)
_LOGC = (-4.0, -1.0, 2.0)
_E_EXCESS = (-0.5, 0.0, 0.5)  # E inside an excess over L0: small, either sign
_E_LEVEL = (0.5, 2.0, 4.0)  # E carrying the whole loss level (no L0 anchor)


@dataclass(frozen=True)
class Form:
    name: str
    formula: str
    variables: tuple[str, ...]
    params: tuple[str, ...]  # internal names; log_X is reported as X = exp(log_X)
    bounds: tuple[tuple[float, float], ...]
    grid: dict[str, tuple[float, ...]]
    value: Callable[[np.ndarray, dict], np.ndarray] = field(repr=False)
    grad: Callable[[np.ndarray, dict], np.ndarray] = field(repr=False)
    note: str = ""
    # (value, grad) from one pass over the shared intermediates; the same numbers as calling
    # value and grad apart (same expressions), at about half the numpy calls
    value_grad: Callable[[np.ndarray, dict], tuple] | None = field(default=None, repr=False)

    @property
    def k(self) -> int:
        return len(self.params)

    def value_and_grad(self, theta, X) -> tuple[np.ndarray, np.ndarray]:
        if self.value_grad is not None:
            return self.value_grad(theta, X)
        return self.value(theta, X), self.grad(theta, X)

    @property
    def public_names(self) -> tuple[str, ...]:
        return tuple(p[4:] if p.startswith("log_") else p for p in self.params)

    def to_public(self, theta) -> dict[str, float]:
        # the unbounded cross-check can end at log_X > 709: X is then inf, and says so in the JSON
        with np.errstate(over="ignore"):
            return {
                pub: float(np.exp(t) if p.startswith("log_") else t)
                for p, pub, t in zip(self.params, self.public_names, np.asarray(theta, float))
            }

    def from_public(self, values: dict) -> np.ndarray:
        missing = [p for p in self.public_names if p not in values]
        if missing:
            raise LawInputError(f"law {self.name}: missing parameters {missing}")
        out = []
        for p, pub in zip(self.params, self.public_names):
            v = float(values[pub])
            if p.startswith("log_"):
                if v <= 0:
                    raise LawInputError(f"law {self.name}: parameter {pub} must be > 0, got {v}")
                v = np.log(v)
            out.append(v)
        return np.array(out)

    def start_grid(self, grid: dict | None = None, strict: bool = True) -> np.ndarray:
        """Cartesian product of start values; ``grid`` keys may be internal or public names.

        ``grid`` may also map law names to grids ({"L1": {...}, "H2": {...}}). strict=False drops
        keys this form lacks, so one flat grid can serve several laws.
        """
        g = dict(self.grid)
        grid = dict(grid or {})
        if any(k in LAWS for k in grid):
            grid = dict(grid.get(self.name, {}))
        names = set(self.params) | set(self.public_names)
        if not strict:
            grid = {k: v for k, v in grid.items() if k in names}
        for key, vals in grid.items():
            name = key if key in self.params else self._internal(key)
            vals = [float(v) for v in np.atleast_1d(vals)]
            if name != key and name.startswith("log_"):
                vals = [float(np.log(v)) for v in vals]  # public value given, e.g. N_C
            g[name] = tuple(vals)
        axes = [np.asarray(g[p], float) for p in self.params]
        mesh = np.meshgrid(*axes, indexing="ij")
        starts = np.stack([m.ravel() for m in mesh], axis=-1)
        lo, hi = np.array(self.bounds).T
        return np.clip(starts, lo, hi)

    def _internal(self, key: str) -> str:
        for p, pub in zip(self.params, self.public_names):
            if key == pub:
                return p
        raise LawInputError(f"law {self.name}: unknown grid parameter {key!r}; has {list(self.params)}")


def _unpack(theta):
    """Split θ (..., k) into k arrays of shape (..., 1) that broadcast against (n,) variables."""
    theta = np.asarray(theta, float)
    return [theta[..., i, None] for i in range(theta.shape[-1])]


def _stack(*cols):
    """Columns (broadcast to one shape) stacked on a new last axis: (..., n) -> (..., n, k)."""
    out = np.empty(np.broadcast_shapes(*(np.shape(c) for c in cols)) + (len(cols),))
    for j, c in enumerate(cols):
        out[..., j] = c
    return out


# Below this many elements (θ rows × points) a term is computed on every point directly.
_MIN_GROUPED = 2048
_GROUPS: dict = {}


def _groups(arrays):
    """(index of the first point of each distinct value tuple, inverse) of 1-D variables, or None
    when grouping would not pay (about as many distinct tuples as points). Cached per array
    object (the cache holds the arrays, so an id is never reused while cached): variable arrays
    are never modified in place once built (inputs.extract makes new ones)."""
    key = tuple(id(a) for a in arrays)
    hit = _GROUPS.get(key)
    if hit is not None and all(x is a for x, a in zip(hit[0], arrays)):
        return hit[1]
    result = None
    if (all(isinstance(a, np.ndarray) and a.ndim == 1 and a.dtype == np.float64 for a in arrays)
            and len({a.size for a in arrays}) == 1 and arrays[0].size):
        stacked = np.stack(arrays, axis=-1)
        if np.all(np.isfinite(stacked)):
            _, first, inv = np.unique(stacked, axis=0, return_index=True, return_inverse=True)
            if 2 * len(first) <= len(stacked):
                result = (first, inv.reshape(-1))
    if len(_GROUPS) >= 64:
        _GROUPS.clear()
    _GROUPS[key] = (arrays, result)
    return result


def _by_value(f, theta: np.ndarray, *arrays):
    """``f(*arrays)`` for a term that depends only on θ and these variables, evaluated once per
    distinct variable value (tuple) and gathered to the points.

    Why: the exps dominate the objective's cost when many θ are scored at once, and a variable
    like N0 or ρ takes a handful of values (one per curve), D a few dozen. Each gathered element
    is the very same operations on the very same doubles as the direct computation, so the
    numbers are identical (tests/test_law_fit.py checks it).
    """
    if theta.size // theta.shape[-1] * np.size(arrays[0]) < _MIN_GROUPED:  # θ rows × points
        return f(*arrays)
    groups = _groups(arrays)
    if groups is None:
        return f(*arrays)
    first, inv = groups
    # np.take keeps C order ([..., inv] would not), so later per-row sums add in the same order
    return np.take(f(*(a[first] for a in arrays)), inv, axis=-1)


# ---- L1 and the forms sharing its Chinchilla bracket C = N_C/N0^α + D_C/D^β + E ----


def _bracket(theta, ln_c, ln_d, e, a, b, N, D):
    """A = exp(ln_c − α ln N), B = exp(ln_d − β ln D), C = A + B + E (per distinct N, D)."""
    A = _by_value(lambda N: np.exp(ln_c - a * np.log(N)), theta, N)
    B = _by_value(lambda D: np.exp(ln_d - b * np.log(D)), theta, D)
    return A, B, A + B + e


def _l1_parts(theta, X, anchor: bool, prefactor: bool):
    theta = np.asarray(theta, float)
    if prefactor:
        n, d, e, a, b, g, dl = _unpack(theta)
    else:
        n, d, e, a, b, g = _unpack(theta)
        dl = 0.0
    lnN, lnD, lnr = np.log(X["N0"]), np.log(X["D"]), np.log(X["rho"])
    A, B, C = _bracket(theta, n, d, e, a, b, X["N0"], X["D"])
    P = _by_value(lambda r, N: np.exp(-g * np.log(r) - dl * np.log(N)), theta, X["rho"], X["N0"])
    L = P * C + (X["L0"] if anchor else 0.0)
    return L, P, A, B, C, lnN, lnD, lnr


def _l1_family(anchor: bool, prefactor: bool):
    def value(theta, X):
        return _l1_parts(theta, X, anchor, prefactor)[0]

    def grad(theta, X):
        return value_grad(theta, X)[1]

    def value_grad(theta, X):
        L, P, A, B, C, lnN, lnD, lnr = _l1_parts(theta, X, anchor, prefactor)
        cols = [P * A, P * B, P + 0 * A, -P * A * lnN, -P * B * lnD, -lnr * P * C]
        if prefactor:
            cols.append(-lnN * P * C)
        return L, _stack(*cols)

    return value, grad, value_grad


_L1_BOUNDS = ((-20, 20), (-20, 20), (-5, 5), (0, 4), (0, 4), (-4, 4), (-4, 4))
_L1_GRID = {
    "log_N_C": _LOGC, "log_D_C": _LOGC, "E": _E_EXCESS, "alpha": _ALPHA, "beta": _BETA,
    "gamma": (-1.5, -0.75, 0.0, 0.5), "delta": (0.0, 0.5, 1.0),
}
_L1_PARAMS = ("log_N_C", "log_D_C", "E", "alpha", "beta", "gamma", "delta")


def _make_l1_like(name, formula, anchor, prefactor, grid=None, note=""):
    value, grad, value_grad = _l1_family(anchor, prefactor)
    k = 7 if prefactor else 6
    g = dict(_L1_GRID, **(grid or {}))
    if not prefactor:
        g.pop("delta")
    return Form(
        name=name, formula=formula,
        variables=("N0", "D", "rho", "L0") if anchor else ("N0", "D", "rho"),
        params=_L1_PARAMS[:k], bounds=_L1_BOUNDS[:k], grid=g, value=value, grad=grad, note=note,
        value_grad=value_grad,
    )


# ---- H4: additive pruning term ----


def _h4_parts(theta, X):
    theta = np.asarray(theta, float)
    n, d, e, a, b, G, g = _unpack(theta)
    lnN, lnD, lnr = np.log(X["N0"]), np.log(X["D"]), np.log(X["rho"])
    A, B, C = _bracket(theta, n, d, e, a, b, X["N0"], X["D"])
    R = _by_value(lambda r: np.exp(g * np.log(r)), theta, X["rho"])
    return X["L0"] + C + G * R, A, B, R, G, lnN, lnD, lnr


def _h4_value(theta, X):
    return _h4_parts(theta, X)[0]


def _h4_grad(theta, X):
    return _h4_value_grad(theta, X)[1]


def _h4_value_grad(theta, X):
    L, A, B, R, G, lnN, lnD, lnr = _h4_parts(theta, X)
    one = np.ones_like(A)
    return L, _stack(A, B, one, -A * lnN, -B * lnD, R * one, G * R * lnr)


# ---- Chinchilla on the pruned size N, and H5 = Chinchilla times (N0/N)^γ ----


def _chin_parts(theta, X, pruned_factor: bool):
    theta = np.asarray(theta, float)
    if pruned_factor:
        a_, b_, e, a, b, g = _unpack(theta)
    else:
        a_, b_, e, a, b = _unpack(theta)
    lnN, lnD = np.log(X["N"]), np.log(X["D"])
    A = _by_value(lambda N: np.exp(a_ - a * np.log(N)), theta, X["N"])
    B = _by_value(lambda D: np.exp(b_ - b * np.log(D)), theta, X["D"])
    if not pruned_factor:
        return e + A + B, A, B, 1.0, None, lnN, lnD
    lnq = np.log(X["N0"]) - lnN  # log(N0/N)
    Q = _by_value(lambda N0, N: np.exp(g * (np.log(N0) - np.log(N))), theta, X["N0"], X["N"])
    return e + Q * (A + B), A, B, Q, lnq, lnN, lnD


def _chin_family(pruned_factor: bool):
    def value(theta, X):
        return _chin_parts(theta, X, pruned_factor)[0]

    def grad(theta, X):
        return value_grad(theta, X)[1]

    def value_grad(theta, X):
        L, A, B, Q, lnq, lnN, lnD = _chin_parts(theta, X, pruned_factor)
        cols = [Q * A, Q * B, np.ones_like(A), -Q * A * lnN, -Q * B * lnD]
        if pruned_factor:
            cols.append(lnq * Q * (A + B))
        return L, _stack(*cols)

    return value, grad, value_grad


# ---- Compression law (arXiv 2504.04342): log L linear in (a, b, c) ----


def _comp_design(X):
    return np.log(X["L0"]), np.log1p(X["rho"]), np.log1p(1.0 / (X["D"] + 1.0))


def _comp_value(theta, X):
    a, b, c = _unpack(theta)
    u, v, w = _comp_design(X)
    return np.exp(a * u + b * v + c * w)


def _comp_grad(theta, X):
    return _comp_value_grad(theta, X)[1]


def _comp_value_grad(theta, X):
    L = _comp_value(theta, X)
    u, v, w = _comp_design(X)
    return L, _stack(L * u, L * v, L * w)


def _build_registry() -> dict[str, Form]:
    forms = [
        _make_l1_like("L1", "L0 + rho^-gamma N0^-delta (N_C/N0^alpha + D_C/D^beta + E)", True, True),
        _make_l1_like("H2", "L0 + rho^-gamma (N_C/N0^alpha + D_C/D^beta + E)", True, False),
        _make_l1_like("H3", "rho^-gamma N0^-delta (N_C/N0^alpha + D_C/D^beta + E)", False, True,
                      grid={"E": _E_LEVEL}),
        Form(
            name="H4", formula="L0 + N_C/N0^alpha + D_C/D^beta + E + G rho^gamma",
            variables=("N0", "D", "rho", "L0"),
            params=("log_N_C", "log_D_C", "E", "alpha", "beta", "G", "gamma"),
            bounds=((-20, 20), (-20, 20), (-5, 5), (0, 4), (0, 4), (-20, 20), (-4, 4)),
            grid={"log_N_C": _LOGC, "log_D_C": _LOGC, "E": _E_EXCESS, "alpha": _ALPHA,
                  "beta": _BETA, "G": (0.1, 1.0, 5.0), "gamma": (0.5, 1.0, 2.0)},
            value=_h4_value, grad=_h4_grad, value_grad=_h4_value_grad,
        ),
        Form(
            name="H5", formula="E + (N0/N)^gamma (A/N^alpha + B/D^beta), N = (1 - rho) N0",
            variables=("N0", "N", "D"),
            params=("log_A", "log_B", "E", "alpha", "beta", "gamma"),
            bounds=((-20, 20), (-20, 20), (-5, 5), (0, 4), (0, 4), (-4, 4)),
            grid={"log_A": _LOGC, "log_B": _LOGC, "E": _E_LEVEL, "alpha": _ALPHA,
                  "beta": _BETA, "gamma": (0.0, 1.0, 3.0)},
            value=_chin_family(True)[0], grad=_chin_family(True)[1],
            value_grad=_chin_family(True)[2],
        ),
        Form(
            name="Chinchilla", formula="E + A/N^alpha + B/D^beta (N defaults to (1 - rho) N0)",
            variables=("N", "D"),
            params=("log_A", "log_B", "E", "alpha", "beta"),
            bounds=((-20, 20), (-20, 20), (-5, 5), (0, 4), (0, 4)),
            grid={"log_A": _LOGC, "log_B": _LOGC, "E": _E_LEVEL, "alpha": _ALPHA, "beta": _BETA},
            value=_chin_family(False)[0], grad=_chin_family(False)[1],
            value_grad=_chin_family(False)[2],
        ),
        Form(
            name="compression", formula="L0^a (1 + rho)^b (1 + 1/(D + 1))^c",
            variables=("D", "rho", "L0"),
            params=("a", "b", "c"),
            bounds=((-10, 10), (-10, 10), (-10, 10)),
            grid={"a": (0.5, 1.0, 1.5), "b": (-1.0, 0.0, 1.0, 2.0), "c": (-1.0, 0.0, 1.0, 2.0)},
            value=_comp_value, grad=_comp_grad, value_grad=_comp_value_grad,
            note="the 1/(D+1) term makes this form strongly dependent on the D unit",
        ),
    ]
    return {f.name: f for f in forms}


LAWS: dict[str, Form] = _build_registry()


def get_form(name: str) -> Form:
    if name not in LAWS:
        raise LawInputError(f"unknown law {name!r}; known laws: {', '.join(LAWS)}")
    return LAWS[name]
