"""Bad input gives a LawInputError that names the row or column and says why."""

import numpy as np
import pytest

from p2law.law import LawInputError, fit_law
from p2law.law.io import parse_vars, read_table
from p2law.law.synthetic import make_table

GRID = {"alpha": [0.5], "beta": [0.5], "gamma": [-1.0], "delta": [0.5], "N_C": [0.3], "D_C": [0.3], "E": [0.0]}


@pytest.fixture
def df():
    return make_table(noise=0.001)


def _fit(df, **kw):
    return fit_law(df, "L1", grid=GRID, **kw)


def test_missing_column(df):
    with pytest.raises(LawInputError, match="missing column 'rho'"):
        _fit(df.drop(columns="rho"))


def test_non_numeric_value_names_row_and_column(df):
    df = df.astype({"loss": object})
    df.loc[5, "loss"] = "abc"
    with pytest.raises(LawInputError, match=r"row 5, column 'loss': non-numeric value 'abc'"):
        _fit(df)


def test_nan_names_row(df):
    df.loc[7, "l0"] = np.nan
    with pytest.raises(LawInputError, match=r"row 7, column 'l0': missing or non-finite"):
        _fit(df)


@pytest.mark.parametrize("col,name", [("n0", "N0"), ("rho", "rho"), ("l0", "L0")])
def test_non_positive_variables(df, col, name):
    df.loc[3, col] = 0.0
    with pytest.raises(LawInputError, match=rf"row 3, column '{col}': {name} must be > 0"):
        _fit(df)


def test_negative_tokens(df):
    df.loc[4, "tokens"] = -5.0
    with pytest.raises(LawInputError, match=r"row 4, column 'tokens': D \(tokens\) must be >= 0"):
        _fit(df)


def test_loss_below_l0_for_excess_fit(df):
    df.loc[10, "loss"] = df.loc[10, "l0"] - 0.01
    with pytest.raises(LawInputError, match=r"row 10: loss .* <= L0 .*excess"):
        _fit(df, target="excess")
    _fit(df, target="loss")  # fitting log L is still defined


def test_excess_needs_an_l0_anchor(df):
    with pytest.raises(LawInputError, match="no L0 anchor"):
        fit_law(df, "Chinchilla", target="excess")


def test_fewer_points_than_parameters(df):
    small = df[df.tokens > 0].head(6)
    with pytest.raises(LawInputError, match="7 parameters: need at least 7 points, got 6"):
        _fit(small)


def test_unknown_law(df):
    with pytest.raises(LawInputError, match="unknown law 'L9'.*L1"):
        fit_law(df, "L9")


def test_unknown_variable_mapping(df):
    with pytest.raises(LawInputError, match=r"no variable\(s\) \['X'\]"):
        _fit(df, columns={"X": "n0"})
    with pytest.raises(LawInputError, match="VARIABLE=column"):
        parse_vars(["N0"])


def test_only_just_pruned_points(df):
    with pytest.raises(LawInputError, match="no points with tokens >= 1"):
        _fit(df[df.tokens == 0])


def test_empty_and_header_only_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(LawInputError, match="empty file"):
        read_table(empty)
    header = tmp_path / "header.csv"
    header.write_text("family,model,n0,rho,l0,tokens,loss\n")
    with pytest.raises(LawInputError, match="no data rows"):
        read_table(header)
    with pytest.raises(LawInputError, match="no such file"):
        read_table(tmp_path / "missing.csv")


def test_all_violations_reported_together(df):
    df.loc[3, "rho"] = -1.0
    df.loc[8, "n0"] = 0.0
    with pytest.raises(LawInputError) as e:
        _fit(df)
    assert "row 3" in str(e.value) and "row 8" in str(e.value)
