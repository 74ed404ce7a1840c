"""The analysis adapters give the law library's own answers, one fit or split per job."""

import pandas as pd
import pytest

from p2law.analysis import (add_bootstrap, budget_table, diagnostics_table, fit_split,
                            generalization_rows, load_split, params_table, save_json)
from p2law.law import fit_law
from p2law.law.budget import data_budget
from p2law.law.splits import generalization_table

from _synthetic import FIT_KW, synthetic_table



@pytest.fixture(scope="module")
def table():
    return synthetic_table()


def test_add_bootstrap_equals_fitting_with_bootstrap(table):
    kw = {k: v for k, v in FIT_KW.items() if k != "bootstrap"}
    later = add_bootstrap(fit_law(table, "L1", **kw), table, n_boot=6, seed=0, level=0.95)
    at_once = fit_law(table, "L1", bootstrap=6, **kw)
    for name, bounds in at_once.bootstrap["intervals"].items():
        assert later.bootstrap["intervals"][name] == pytest.approx(bounds), name


def test_split_fits_score_like_generalization_table(table, tmp_path):
    files = {}
    for split in ("larger_D", "larger_N0", "higher_rho"):
        path = tmp_path / f"{split}.json"
        save_json(fit_split(table, split, "L1", 0.6, **FIT_KW), path)
        files[("llama", "depth", split, "L1")] = path
    ours = generalization_rows(table, files, level=0.95).set_index("split")
    library = generalization_table(table, ["L1"], d_fraction=0.6, **FIT_KW).set_index("split")
    for column in ("n_train", "n_heldout", "r2", "huber", "asd", "mape", "pi_coverage"):
        assert ours[column].to_numpy(float) == pytest.approx(
            library.loc[ours.index, column].to_numpy(float), nan_ok=True), column
    fit, info = load_split(files[("llama", "depth", "larger_N0", "L1")])
    assert fit is not None and info["status"] in ("ok", "NOT CONVERGED")
    assert fit.crosscheck["skipped"] and fit.convergence["crosscheck_max_rel_diff"] is None


def test_split_that_does_not_apply_says_why(table, tmp_path):
    one_size = table[table["n0"] == table["n0"].min()]
    record = fit_split(one_size, "larger_N0", "L1", 0.6, **FIT_KW)
    assert record["split"]["status"] == "not applicable" and "training sizes" in record["split"]["note"]
    save_json(record, tmp_path / "n0.json")
    fit, info = load_split(tmp_path / "n0.json")
    assert fit is None and info["status"] == "not applicable"
    rows = generalization_rows(one_size, {("llama", "depth", "larger_N0", "L1"): tmp_path / "n0.json"}, 0.95)
    assert rows["status"].tolist() == ["not applicable"]


def test_params_diagnostics_and_budget_tables(table):
    fit = fit_law(table, "L1", **FIT_KW)
    params = params_table([fit])
    assert list(params["param"]) == list(fit.params) and (params["lo"] <= params["hi"]).all()
    assert params["estimate"].tolist() == pytest.approx(list(fit.params.values()))
    diag = diagnostics_table([fit])
    assert diag.loc[0, "n_starts"] == fit.convergence["n_starts"] and diag.loc[0, "k"] == 7
    budget = budget_table([fit], table, [1.0, 0.1], level=0.95)
    runs = table.groupby(["model", "rho"]).ngroups
    assert len(budget) == 2 * runs
    row = budget.iloc[0]
    direct = data_budget(fit, row["n0"], row["rho"], row["l0"], epsilon=row["epsilon"])
    assert row["d_star"] == pytest.approx(direct["d_star"])
    assert row["epsilon_unit"] == "loss/M tokens"
    assert isinstance(budget, pd.DataFrame) and (budget["d_star_lo"] <= budget["d_star_hi"]).all()
