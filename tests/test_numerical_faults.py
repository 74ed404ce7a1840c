"""Numerical faults: a NaN/inf eval loss stops the job; a fit that did not converge is flagged
in every table that reports it (figures: tests/test_figures.py), never shown as a result."""

import copy
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from _synthetic import FIT_KW, synthetic_table
from p2law.evaluate import NonFiniteLossError, eval_loss


def _tiny_model():
    from _tiny import tiny_llama

    return tiny_llama()


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_eval_loss_stops_l0_and_pruned_loss(bad):
    """eval_loss is behind L0 (eval_base) and L(D=0) (prune): neither may write a NaN."""
    model = _tiny_model()
    ids = np.random.default_rng(0).integers(0, 64, (4, 16))
    assert math.isfinite(eval_loss(model, ids, 2))
    with torch.no_grad():
        model.model.norm.weight.fill_(bad)
    with pytest.raises(NonFiniteLossError, match="eval loss is"):
        eval_loss(model, ids, 2)


def test_non_finite_eval_loss_in_post_training_names_run_step_and_tokens():
    from p2law.posttrain.engine import PosttrainRun

    class Engine:  # a DeepSpeed engine whose forward pass gives a NaN loss
        device = "cpu"

        def eval(self):
            pass

        def train(self):
            pass

        def __call__(self, input_ids, labels):
            return SimpleNamespace(loss=torch.tensor(float("nan")))

    run = object.__new__(PosttrainRun)  # the evaluation alone, without a launcher
    run.run_id, run.engine, run.world, run.rank = "llama-s/depth/rho~0.2", Engine(), 1, 0
    run.eval_ids, run.tokens_per_step = np.zeros((4, 8), np.int64), 1024
    run.s = SimpleNamespace(eval_batch=2)
    run._all_reduce = lambda values, op=None: torch.tensor(values, dtype=torch.float64)
    with pytest.raises(
        NonFiniteLossError,
        match=r"^llama-s/depth/rho~0.2: eval loss is nan at "
        r"step 16 \(D=16384 tokens\); stopping",
    ):
        run.evaluate(16)


@pytest.fixture(scope="module")
def fits():
    """The same fit, converged and not: only the flag differs."""
    from p2law.law import fit_law

    fit = fit_law(synthetic_table(), "L1", **FIT_KW)
    good, bad = copy.deepcopy(fit), copy.deepcopy(fit)
    bad.meta = {**bad.meta, "method": ["width"]}  # a second family x method row
    good.convergence = {**fit.convergence, "converged": True}
    bad.convergence = {**fit.convergence, "converged": False}
    return good, bad


def test_non_converged_fit_is_flagged_in_its_json(fits, tmp_path):
    import json

    _, bad = fits
    bad.save(tmp_path / "fit.json")
    assert json.loads((tmp_path / "fit.json").read_text())["converged"] is False


def test_non_converged_fit_is_flagged_and_never_selected_in_tables(fits):
    from p2law.analysis import budget_table, diagnostics_table, params_table
    from p2law.law.selection import selection_table

    good, bad = fits
    selection = selection_table([good, bad])
    assert not selection.loc[~selection["converged"], "selected"].any()
    for table in (params_table([good, bad]), diagnostics_table([good, bad])):
        assert set(table["converged"]) == {True, False}
    same_runs = copy.deepcopy(bad)
    same_runs.meta = good.meta  # the runs the table has
    budget = budget_table([same_runs], synthetic_table(), [1.0], 0.95)
    assert len(budget) and not budget["converged"].any()
