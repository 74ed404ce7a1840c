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


# Bad data: every case exits 2 with one line naming the problem, writes nothing, no traceback.


def _csv(change=None) -> str:
    """The synthetic table as CSV text, after `change` (in place, or returning a new frame)."""
    df = make_table()
    if change is not None:
        changed = change(df)
        df = df if changed is None else changed
    return df.to_csv(index=False)


def _set(column, value):
    def change(df):
        df[column] = df[column].astype(object)
        df.loc[5, column] = value

    return change


BAD_DATA = [
    # (case, command, file content, message fragment)
    ("missing column", "fit", _csv(lambda df: df.drop(columns=["loss"])), "missing column 'loss'"),
    ("missing column", "trends", _csv(lambda df: df.drop(columns=["l0"])), "needs columns ['l0']"),
    ("text in a number column", "fit", _csv(_set("loss", "abc")),
     "row 5, column 'loss': non-numeric value 'abc'"),
    ("text in a number column", "trends", _csv(_set("tokens", "many")),
     "row 5, column 'tokens': non-numeric value 'many'"),
    ("text in a number column", "predict", _csv(_set("rho", "half")),
     "row 5, column 'rho': non-numeric value 'half'"),
    ("NaN", "fit", _csv(_set("loss", float("nan"))), "row 5, column 'loss': missing or non-finite"),
    ("NaN", "trends", _csv(_set("l0", float("nan"))), "row 5, column 'l0': missing or non-finite"),
    ("infinity", "fit", _csv(_set("loss", float("inf"))), "column 'loss': missing or non-finite"),
    ("negative tokens", "fit", _csv(_set("tokens", -5)), "D (tokens) must be >= 0, got -5"),
    ("negative tokens", "trends", _csv(_set("tokens", -5)), "'tokens': must be >= 0, got -5"),
    ("negative loss", "fit", _csv(_set("loss", -1.0)), "loss must be > 0, got -1"),
    ("negative n0", "fit", _csv(_set("n0", -1)), "column 'n0': N0 must be > 0"),
    ("negative n0", "trends", _csv(_set("n0", -1)), "column 'n0': n0 must be > 0"),
    ("negative n0", "predict", _csv(_set("n0", -1)), "column 'n0': N0 must be > 0"),
    ("rate of one", "fit", _csv(_set("rho", 1.0)), "rho (fraction of parameters removed) must"),
    ("empty file", "fit", "", "empty file (no header, no rows)"),
    ("empty file", "trends", "", "empty file (no header, no rows)"),
    ("header only", "fit", _csv().splitlines()[0] + "\n", "header only, no data rows"),
    ("ragged rows", "fit", "n0,rho\n1,2\n3,4,5,6\n", "not a readable CSV"),
    ("not text", "fit", b"family,loss\n\xff\xfe\x00,1\n", "not UTF-8 text"),
    ("not text", "predict", b"\xff\xfe\x00\x01" * 100, "not UTF-8 text"),
]


@pytest.fixture(scope="module")
def fit_json(data):
    path = data / "fit_for_bad_data.json"
    assert main(["fit", str(data / "data.csv"), "--law", "L1", "--method", "depth", "--grid",
                 GRID, "-o", str(path)]) == 0
    return path


def _command(command, path, out, fit_json):
    return {"fit": ["fit", str(path), "--law", "L1", "--grid", GRID, "-o", str(out)],
            "trends": ["trends", str(path), "-o", str(out)],
            "predict": ["predict", str(fit_json), str(path), "-o", str(out)]}[command]


@pytest.mark.parametrize("case,command,content,message", BAD_DATA,
                         ids=[f"{b[1]}: {b[0]}" for b in BAD_DATA])
def test_bad_data_exits_2_with_a_clear_message(tmp_path, capsys, fit_json, case, command,
                                               content, message):
    path, out = tmp_path / "bad.csv", tmp_path / "out.csv"
    (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
    code = main(_command(command, path, out, fit_json))
    err = capsys.readouterr().err
    assert code == 2, f"{case}: exit {code}, stderr {err}"
    assert err.startswith("p2law: error: ") and message in err, err
    assert "Traceback" not in err
    assert not out.exists()


def test_a_table_above_the_size_limit_is_refused_before_reading(data, tmp_path, capsys,
                                                                monkeypatch):
    # the limit stands in for a file too large to read: set small here, 1 GiB by default
    monkeypatch.setenv("P2LAW_MAX_TABLE_BYTES", "1000")
    code = main(["trends", str(data / "data.csv"), "-o", str(tmp_path / "t.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "bytes is above the 1000-byte limit" in err
    assert "P2LAW_MAX_TABLE_BYTES" in err and not (tmp_path / "t.csv").exists()


def test_an_unexpected_error_is_one_line_with_exit_1(data, tmp_path, capsys, monkeypatch):
    import p2law.law.trends as trends

    def broken(*args, **kwargs):
        raise RuntimeError("something inside broke")

    monkeypatch.setattr(trends, "rho_trend", broken)
    args = ["trends", str(data / "data.csv"), "-o", str(tmp_path / "t.csv")]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err == ("p2law: internal error: RuntimeError: something inside broke "
                   "(set P2LAW_DEBUG=1 for the traceback)\n")
    monkeypatch.setenv("P2LAW_DEBUG", "1")
    with pytest.raises(RuntimeError):
        main(args)


def test_python_m_p2law_prints_no_traceback(tmp_path):
    """The real entry point: what a user sees on stderr, not only what main() returns."""
    import subprocess
    import sys

    (tmp_path / "bad.csv").write_text(_csv(_set("loss", "abc")))
    done = subprocess.run([sys.executable, "-m", "p2law", "fit", str(tmp_path / "bad.csv"),
                           "--law", "L1", "-o", str(tmp_path / "f.json")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert "non-numeric value 'abc'" in done.stderr and "Traceback" not in done.stderr


def test_budget_refuses_a_rate_of_one_or_more(fit_json, capsys):
    code = main(["budget", str(fit_json), "--n0", "1e6", "--rho", "1.5", "--l0", "3",
                 "--epsilon", "1e-3"])
    assert code == 2 and "rho is the fraction of parameters removed" in capsys.readouterr().err
