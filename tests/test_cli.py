"""The `p2law` CLI: fit → predict round trip, budget, select, trends, and clean errors."""

import json

import numpy as np
import pandas as pd
import pytest

from p2law.cli import main
from p2law.law.synthetic import make_table

GRID = json.dumps({"alpha": [0.5], "beta": [0.5, 1.0], "gamma": [-1.0, 0.0], "delta": [0.0, 0.5],
                   "N_C": [0.3], "D_C": [0.3], "E": [0.0]})


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    df = pd.concat([make_table(noise=0.002), make_table(noise=0.002, method="width", seed=1)])
    df.to_csv(d / "data.csv", index=False)
    return d


def test_fit_predict_roundtrip(data, capsys):
    fit_json, out = data / "fit.json", data / "pred.csv"
    assert main(["fit", str(data / "data.csv"), "--law", "L1", "--method", "depth", "--grid", GRID,
                 "--bootstrap", "10", "-o", str(fit_json)]) == 0
    assert "loss/M tokens" in capsys.readouterr().out
    d = json.loads(fit_json.read_text())
    assert d["converged"] is True and d["n0_unit"] == 1e6 and d["d_unit"] == 1e6
    assert d["meta"]["method"] == ["depth"] and "gamma" in d["bootstrap"]["intervals"]
    assert main(["predict", str(fit_json), str(data / "data.csv"), "-o", str(out), "--bands"]) == 0
    pred = pd.read_csv(out)
    post = pred[(pred.tokens > 0) & (pred.method == "depth")]
    assert np.all(np.abs(post.pred - post.loss) / post.loss < 0.01)
    assert pred.loc[pred.tokens == 0, "pred"].isna().all()
    assert {"ci_lo", "ci_hi", "pi_lo", "pi_hi"} <= set(pred.columns)


def test_budget_select_trends(data, capsys):
    fit_json = data / "fit_b.json"
    main(["fit", str(data / "data.csv"), "--law", "L1", "--method", "depth", "--grid", GRID, "-o", str(fit_json)])
    capsys.readouterr()
    assert main(["budget", str(fit_json), "--n0", "1.8e6", "--rho", "0.3", "--l0", "3.5", "--epsilon", "1e-3"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["d_star"] > 0 and res["epsilon_unit"] == "loss/M tokens"
    sel = data / "sel.csv"
    assert main(["select", str(fit_json), "-o", str(sel)]) == 0
    assert pd.read_csv(sel).selected.item()
    tr, sp = data / "trends.csv", data / "speed.csv"
    assert main(["trends", str(data / "data.csv"), "-o", str(tr), "--speed-output", str(sp)]) == 0
    assert len(pd.read_csv(tr)) > 0 and set(pd.read_csv(sp).method) == {"depth", "width"}


@pytest.mark.parametrize("args,message", [
    (["--law", "L9"], "unknown law 'L9'"),
    (["--law", "L1", "--var", "Q=n0"], "no variable"),
    (["--law", "L1", "--method", "nope"], "no rows with method == 'nope'"),
])
def test_bad_input_exits_2_without_traceback(data, capsys, args, message):
    code = main(["fit", str(data / "data.csv"), *args, "-o", str(data / "x.json")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err


def test_bad_rows_and_empty_file(tmp_path, capsys):
    df = make_table()
    df.loc[3, "rho"] = 0.0
    df.to_csv(tmp_path / "bad.csv", index=False)
    assert main(["fit", str(tmp_path / "bad.csv"), "--law", "L1", "-o", str(tmp_path / "f.json")]) == 2
    assert "row 3, column 'rho': rho must be > 0" in capsys.readouterr().err
    (tmp_path / "empty.csv").write_text("")
    assert main(["fit", str(tmp_path / "empty.csv"), "--law", "L1", "-o", str(tmp_path / "f.json")]) == 2
    assert "empty file" in capsys.readouterr().err


def test_not_converged_is_said_and_can_fail(data, capsys, monkeypatch):
    import p2law.law.fit as fitmod

    monkeypatch.setattr(fitmod, "GRAD_TOL", 0.0)  # nothing can meet a zero gradient tolerance
    out = data / "nc.json"
    args = ["fit", str(data / "data.csv"), "--law", "L1", "--method", "depth", "--grid", GRID, "-o", str(out)]
    assert main(args) == 0
    assert "NOT CONVERGED" in capsys.readouterr().err
    assert json.loads(out.read_text())["converged"] is False
    assert main(args + ["--require-converged"]) == 3
