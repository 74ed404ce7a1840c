"""Conditions, bootstrap, budget, selection, splits and trends on synthetic data with known truth."""

import numpy as np
import pandas as pd
import pytest

from p2law.law import LawInputError, fit_law
from p2law.law.bootstrap import bands
from p2law.law.budget import _l1_values, _numeric_values, data_budget
from p2law.law.conditions import check_conditions
from p2law.law.selection import selection_table
from p2law.law.splits import generalization_table, split_higher_rho, split_larger_d, split_larger_n0
from p2law.law.synthetic import L1_TRUTH, make_table
from p2law.law.trends import rho_trend, speed_trend

GRID = {"alpha": [0.5], "beta": [0.5, 1.0], "gamma": [-1.0, 0.0], "delta": [0.0, 0.5],
        "N_C": [0.3], "D_C": [0.3], "E": [0.0]}


@pytest.fixture(scope="module")
def l1_fit():
    return fit_law(make_table(noise=0.002, curve_noise=0.002, seed=4), "L1", grid=GRID, bootstrap=40, seed=1)


@pytest.mark.parametrize("change", [
    {}, {"gamma": 0.5}, {"delta": -0.2}, {"beta": 0.0}, {"E": -0.5}, {"gamma": -0.2},
    {"E": -0.3, "N_C": 0.05}, {"delta": 0.0},
])
def test_l1_conditions_numeric_agree_with_analytic(l1_fit, change):
    """For L1 the finite-difference conditions equal the closed-form ones (paper-spec §3)."""
    params = dict(L1_TRUTH, **change)
    c = check_conditions(l1_fit, theta=l1_fit.form.from_public(params))
    assert c["analytic_agrees"], (c, c["analytic"])


def test_truth_passes_all_conditions_and_failures_are_detected(l1_fit):
    truth = check_conditions(l1_fit, theta=l1_fit.form.from_public(L1_TRUTH))
    assert truth["all"]
    bad = check_conditions(l1_fit, theta=l1_fit.form.from_public(dict(L1_TRUTH, gamma=0.5, delta=-0.1)))
    assert bad["C2"] is False and bad["C3"] is False and bad["C4"] is False


def test_bootstrap_intervals_and_bands(l1_fit):
    b = l1_fit.bootstrap
    assert b["n"] == 40 and b["n_failed"] == 0 and b["unit"] == "curves (runs)"
    for name in ("beta", "gamma", "delta", "D_C"):  # the well-identified parameters cover the truth
        lo, hi = b["intervals"][name]
        assert lo <= L1_TRUTH[name] <= hi, name
    df = make_table()
    bd = bands(l1_fit, df)[df.tokens > 0]
    assert (bd.pi_lo <= bd.ci_lo).mean() > 0.95 and (bd.ci_hi <= bd.pi_hi).mean() > 0.95
    assert ((bd.ci_lo <= bd.pred + 1e-9) & (bd.pred <= bd.ci_hi + 1e-9)).mean() > 0.9


def test_bootstrap_restarts_once_from_each_distinct_best_start():
    from p2law.law.bootstrap import distinct_starts

    a, b = np.array([0.5, -1.0, 2.0]), np.array([0.5, -0.9, 2.0])
    twins = [a, a + 3e-8, b, a - 2e-7, b + 1e-8]  # one optimum polished thrice, another twice
    kept = distinct_starts(twins, 3)
    assert kept.shape == (2, 3)
    np.testing.assert_array_equal(kept[0], a)  # the best of each group, in the fit's order
    np.testing.assert_array_equal(kept[1], b)
    assert distinct_starts([], 3).shape == (0, 3)


def test_a_converged_restart_beats_a_lower_objective_still_moving():
    from p2law.law.bootstrap import best_restart
    from p2law.law.optimize import StartResult

    def run(fun):
        return StartResult(np.array([fun]), fun, False, "", 1)

    first, moving, done, better_done = run(1.0), run(0.5), run(2.0), run(1.5)
    assert best_restart(first, [moving, done, better_done], [False, True, True]) is better_done
    # none converged: the lowest objective of all, the first attempt included
    assert best_restart(first, [run(3.0), run(4.0)], [False, False]) is first
    assert best_restart(first, [moving], [False]) is moving


def test_budget_closed_form_matches_numeric(l1_fit):
    p = l1_fit.params
    for eps, target in [(1e-3, 3.6), (1e-2, 3.62), (1e-4, 3.45)]:
        analytic = _l1_values(p, 1.8, 0.3, 3.5, eps, target)
        numeric = _numeric_values(l1_fit, l1_fit.theta, 1.8e6, 0.3, 3.5, eps, target)
        assert numeric[0] == pytest.approx(analytic[0], rel=1e-6)
        if np.isinf(analytic[1]):
            assert np.isinf(numeric[1])
        else:
            assert numeric[1] == pytest.approx(analytic[1], rel=1e-6)


def test_budget_reports_unreachable_and_intervals(l1_fit):
    r = data_budget(l1_fit, 1.8e6, 0.3, 3.5, epsilon=1e-3, target_loss=3.5001)
    assert r["d_target_unreachable"] and r["d_target"] == np.inf
    assert r["d_star_interval"][0] <= r["d_star"] <= r["d_star_interval"][1]
    assert r["epsilon_unit"] == "loss/M tokens"
    with pytest.raises(LawInputError):
        data_budget(l1_fit, 1.8e6, 0.3, 3.5)


def test_selection_table_ranks_and_selects():
    df = make_table(noise=0.002)
    fits = [fit_law(df, law, grid=GRID, grid_strict=False) for law in ("L1", "H2", "compression")]
    t = selection_table(fits)
    assert set(t.law) == {"L1", "H2", "compression", "compression-OLS"}
    assert t.loc[t.law == "L1", "selected"].item() and t.selected.sum() == 1
    assert (t.l1_rank == 1).all() and t.asd_unit.eq("loss/M tokens").all()
    assert np.isnan(t.loc[t.law == "compression-OLS", "asd_rank"]).all()


def test_splits():
    df = make_table()
    post = df[df.tokens > 0]
    train, test = split_larger_d(df, 0.6)
    assert len(train) + len(test) == len(post) and test.groupby(["model", "rho"]).ngroups == 12
    cut = 10 ** (4 + 0.6 * 3)  # 60 % of the log range 1e4 .. 1e7
    assert train.tokens.max() <= cut * 1.0001 < test.tokens.min()
    train, test = split_larger_n0(df)
    assert set(test.n0) == {5e6} and set(train.n0) == {0.5e6, 1.8e6}
    with pytest.raises(LawInputError, match="at least 2 training sizes"):
        split_larger_n0(df[df.n0 < 5e6])
    train, test = split_higher_rho(df)
    assert set(test.rho) == {0.4}
    sparse = make_table(method="sparse24", rhos=(0.45,))
    with pytest.raises(LawInputError, match="2:4 sparsity has one rho per model"):
        split_higher_rho(sparse)


def test_generalization_table_one_row_per_split_and_law():
    df = pd.concat([make_table(noise=0.002), make_table(noise=0.002, method="sparse24", rhos=(0.45,))])
    t = generalization_table(df, ["L1"], grid=GRID)
    depth = t[t.method == "depth"]
    assert set(depth.split) == {"larger_D", "larger_N0", "higher_rho"} and (depth.status == "ok").all()
    assert (depth.mape < 0.01).all() and depth.asd_unit.eq("loss/M tokens").all()
    na = t[(t.method == "sparse24") & (t.split == "higher_rho")]
    assert na.status.item() == "not applicable" and "2:4" in na.note.item()


def test_trends_recover_rho_exponent_and_size_effect():
    df = make_table(noise=0.0)
    df.loc[df.index[5], "loss"] = df.loc[df.index[5], "l0"] - 0.01  # one point below L0: listed
    t = rho_trend(df)
    pooled = t[t.tokens.astype(str) == "all"]
    assert np.allclose(pooled.slope, -L1_TRUTH["gamma"], atol=0.02)  # log(L−L0) ∝ −γ log ρ
    assert (pooled.slope_lo <= pooled.slope).all() and (pooled.slope <= pooled.slope_hi).all()
    assert "loss=" in t.excluded_L_le_L0.str.cat()
    s = speed_trend(make_table(noise=0.0))
    assert s.smaller_recover_faster.item() and s.coef_lnN0.item() == pytest.approx(-L1_TRUTH["delta"], abs=0.05)


def test_chinchilla_on_pretraining_columns():
    """Ordinary pretraining data (params, tokens) through the --var mapping."""
    rng = np.random.default_rng(0)
    N = np.repeat([10e6, 30e6, 100e6, 300e6], 12)
    D = np.tile(np.logspace(8, 10, 12), 4)
    true = dict(A=2.0, B=3.0, E=1.8, alpha=0.35, beta=0.3)
    L = true["E"] + true["A"] / (N / 1e6) ** true["alpha"] + true["B"] / (D / 1e9) ** true["beta"]
    df = pd.DataFrame({"model": N.astype(str), "params": N, "tokens": D, "loss": L * np.exp(1e-4 * rng.standard_normal(N.size))})
    fit = fit_law(df, "Chinchilla", columns={"N": "params"}, d_unit=1e9)
    assert fit.convergence["converged"] and fit.conditions is None
    for k, v in true.items():
        assert fit.params[k] == pytest.approx(v, rel=0.05), k
