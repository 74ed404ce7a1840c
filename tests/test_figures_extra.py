"""F5 (slope agreement), F6 (candidate comparison), T1 (base models) and the figures-only plan.

The figures are checked for what they show, not just that a file appears: one panel per law,
the slopes ASD averages, bar heights equal to table T5, T1 columns equal to models.csv.
The plan checks run `snakemake -n` only (no job runs, no training).
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from p2law.figures import style
from p2law.figures.candidates import SELECTED, candidate_rows, plot_candidates
from p2law.figures.slopes import plot_slopes, slope_pairs
from p2law.law import fit_law
from p2law.law.selection import selection_table
from p2law.report_tables import write_table
from p2law.tables import MODELS_COLUMNS, MODELS_REPORT_COLUMNS, model_row, models_table, read_models

from _synthetic import FIT_KW, synthetic_table
from _workflow import snakemake as run_snakemake

ROOT = Path(__file__).resolve().parent.parent
EMBEDDED = ROOT / "resources" / "embedded_tables"
KW = {k: v for k, v in FIT_KW.items() if k != "bootstrap"}
ANALYSIS_RULES = {"fit", "bootstrap", "split_fit", "figures"}  # plus table_* and figure_*


@pytest.fixture(scope="module")
def table():
    df = synthetic_table()
    return df.assign(rate=df["rho"])


@pytest.fixture(scope="module")
def fits(table):
    return [fit_law(table, law, grid_strict=False, **KW) for law in ("L1", "H2")]


def saved(figure, tmp_path, name):
    style.save(figure, tmp_path / f"{name}.png")
    png, pdf = tmp_path / f"{name}.png", tmp_path / f"{name}.pdf"
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 10_000
    assert pdf.read_bytes()[:4] == b"%PDF" and pdf.stat().st_size > 5_000


def panel_text(ax) -> str:
    return "\n".join(t.get_text() for t in ax.texts)


# ---- F5 slope agreement ----


def test_slope_pairs_are_what_asd_averages(table, fits):
    used = table[table["tokens"] >= FIT_KW["min_tokens"]]
    n_curves = used.groupby(["model", "rho"]).ngroups
    for fit in fits:
        pairs = slope_pairs(table, fit)
        assert len(pairs) == len(used) - n_curves  # one interval between consecutive points
        asd = np.abs(pairs["observed"] - pairs["predicted"]).mean()
        assert asd == pytest.approx(fit.metrics["asd"], rel=1e-12)
    # one curve by hand: observed slopes are ΔL/ΔD of the data, D in the fit's unit
    fit = fits[0]
    pairs = slope_pairs(table, fit)
    curve = used[(used["model"] == "llama-0") & np.isclose(used["rho"], 0.1)].sort_values("tokens")
    d = curve["tokens"].to_numpy() / fit.d_unit
    mine = pairs[(pairs["model"] == "llama-0") & np.isclose(pairs["rho"], 0.1)]
    assert mine["observed"].to_numpy() == pytest.approx(np.diff(curve["loss"]) / np.diff(d))
    assert mine["d_mid"].to_numpy() == pytest.approx(np.sqrt(d[1:] * d[:-1]))


def test_slopes_figure_has_a_panel_per_law_with_its_asd(table, fits, tmp_path):
    figure = plot_slopes(table, fits, title="t")
    assert len(figure.axes) == len(fits)
    for ax, fit in zip(figure.axes, fits):
        assert ax.get_title().startswith(fit.law)
        assert f"ASD = {fit.metrics['asd']:.3g} loss/M tokens" in panel_text(ax)
        assert ax.get_xscale() == ax.get_yscale() == "log"
        pairs = slope_pairs(table, fit)
        drops = pairs[pairs["predicted"] < 0]
        lines = [ln for ln in ax.lines if ln.get_linestyle() != "None" and len(ln.get_xdata())]
        assert len(lines) == pairs["curve"].nunique()  # one predicted line per curve
        drawn = np.concatenate([ln.get_ydata() for ln in lines])
        assert sorted(drawn) == pytest.approx(sorted(-drops["predicted"]))  # lines: predicted
    assert "M tokens" in figure.axes[0].get_xlabel()
    assert "loss/M tokens" in figure.axes[0].get_ylabel()
    saved(figure, tmp_path, "slopes")


# ---- F6 candidate comparison ----


@pytest.fixture(scope="module")
def selection(fits, tmp_path_factory):
    """Table T5 as the figure rule reads it: through its CSV."""
    path = tmp_path_factory.mktemp("selection") / "selection.csv"
    selection_table(fits).to_csv(path, index=False)
    return pd.read_csv(path)


def test_candidates_figure_bars_equal_table_t5(selection, tmp_path):
    figure = plot_candidates(selection, title="t")
    rows = candidate_rows(selection)
    assert list(rows["law"]) == ["L1", "H2"]  # registry order; no unranked OLS row
    assert len(figure.axes) == 3
    for ax, column in zip(figure.axes, ("r2", "huber", "asd")):
        heights = [bar.get_height() for bar in ax.patches]
        assert heights == pytest.approx(rows[column].to_list()), column
        assert [t.get_text() for t in ax.get_xticklabels()] == ["L1", "H2"]
    assert "R²" in figure.axes[0].get_ylabel() and "Huber" in figure.axes[1].get_ylabel()
    assert figure.axes[2].get_ylabel() == "ASD (loss/M tokens)"
    saved(figure, tmp_path, "candidates")


def test_candidates_figure_marks_the_selected_law(selection):
    forced = selection.assign(selected=selection["law"] == "H2", converged=True)
    figure = plot_candidates(forced)
    for ax in figure.axes:
        dark = [list(bar.get_facecolor()[:3]) == pytest.approx(rgb(SELECTED)) for bar in ax.patches]
        assert dark == [False, True]  # L1, H2


def test_candidates_figure_marks_a_fit_that_did_not_converge(selection):
    bad = selection.assign(converged=[False] + [True] * (len(selection) - 1))
    figure = plot_candidates(bad)
    hatches = [bar.get_hatch() for bar in figure.axes[0].patches]
    assert hatches[0] == "////" and not any(hatches[1:])


def rgb(color):
    import matplotlib.colors as mcolors

    return list(mcolors.to_rgb(color))


# ---- T1 base models ----


def write_base(directory, *, tied=True, source=None):
    directory.mkdir(parents=True, exist_ok=True)
    config = {
        "model_type": "qwen2",
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "hidden_size": 64,
        "num_hidden_layers": 8,
        "intermediate_size": 168,
        "vocab_size": 1024,
        "tie_word_embeddings": tied,
    }
    (directory / "config.json").write_text(json.dumps(config))
    (directory / "l0.json").write_text(
        json.dumps({"l0": 3.52, "params": {"total": 422976, "embedding": 65536, "nonemb": 357440}})
    )
    train = {"tokens": 2310144} if source is None else {"source": source}
    (directory / "train.json").write_text(json.dumps(train))
    return directory


def test_model_row_reads_config_l0_and_train(tmp_path):
    base = write_base(tmp_path / "qwen2-l")
    row = model_row(
        family="qwen2",
        model="qwen2-l",
        config_json=base / "config.json",
        l0_json=base / "l0.json",
        train_json=base / "train.json",
    )
    assert list(row) == MODELS_COLUMNS
    assert (row["n0"], row["n0_nonemb"], row["n_embedding"]) == (422976, 357440, 65536)
    assert (row["layers"], row["hidden"], row["heads"], row["kv_heads"]) == (8, 64, 4, 2)
    assert (row["head_dim"], row["vocab"], row["tied"], row["l0"]) == (16, 1024, True, 3.52)
    assert (row["source"], row["pretrain_tokens"]) == ("built", 2310144)
    hub = write_base(tmp_path / "hub", tied=False, source="Qwen/Qwen2.5-0.5B")
    row = model_row(
        family="qwen2",
        model="hub",
        config_json=hub / "config.json",
        l0_json=hub / "l0.json",
        train_json=hub / "train.json",
    )
    assert (row["source"], row["tied"], row["pretrain_tokens"]) == (
        "Qwen/Qwen2.5-0.5B",
        False,
        None,
    )


def test_models_report_table_has_t1_columns(tmp_path):
    rows = [
        model_row(
            family="qwen2",
            model=name,
            config_json=base / "config.json",
            l0_json=base / "l0.json",
            train_json=base / "train.json",
        )
        for name in ("a", "b")
        for base in [write_base(tmp_path / name)]
    ]
    models_table(rows).to_csv(tmp_path / "models.csv", index=False)
    table = read_models(tmp_path / "models.csv")
    out = {ext: tmp_path / f"t1.{ext}" for ext in ("csv", "md", "tex", "html")}
    columns = MODELS_REPORT_COLUMNS
    write_table(table, out, columns=columns, caption="c", label="tab:models")
    md = [line for line in out["md"].read_text().splitlines() if line.startswith("|")]
    assert [c.strip() for c in md[0].strip("|").split("|")] == list(columns.values())
    assert len(md) == 2 + 2 and "| 4/2 |" in md[2] and "| yes |" in md[2]
    assert r"\toprule" in out["tex"].read_text() and "heads/kv" in out["html"].read_text()
    assert pd.read_csv(out["csv"])["n0"].tolist() == [422976, 422976]


def test_missing_models_csv_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="models.csv is missing.*snakemake table"):
        read_models(tmp_path / "models.csv")


def test_committed_models_csv_agrees_with_the_committed_eval_loss():
    """resources/embedded_tables/models.csv: T1 columns, one row per base model of
    eval_loss.csv, with the same N0, non-embedding N0 and L0."""
    models = read_models(EMBEDDED / "models.csv").set_index("model")
    runs = pd.read_csv(EMBEDDED / "eval_loss.csv").drop_duplicates("model").set_index("model")
    assert sorted(models.index) == sorted(runs.index)
    for column in ("n0", "n0_nonemb", "l0"):
        assert models.loc[runs.index, column].to_numpy(float) == pytest.approx(
            runs[column].to_numpy(float), rel=1e-9
        ), column
    assert (models["n0"] == models["n0_nonemb"] + models["n_embedding"]).all()


# ---- the figures-only plan (dry runs: nothing is executed) ----


def snakemake(*args):
    return run_snakemake(*args, timeout=600)


def planned_jobs(stdout: str) -> dict:
    """Rule -> job count from the 'Job stats' table of a dry run."""
    counts, lines = {}, stdout.split("Job stats:", 1)[-1].splitlines()
    for line in lines[3:]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        counts[parts[0]] = int(parts[1])
    counts.pop("total", None)
    return counts


def test_figures_only_plan_has_no_training_and_one_job_per_figure(tmp_path):
    result = snakemake(
        "-n",
        "figures",
        "--configfile",
        str(ROOT / "config.yaml"),
        "--config",
        f"tables_dir={EMBEDDED}",
        "--directory",
        str(tmp_path),
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    jobs = planned_jobs(result.stdout)
    assert jobs, result.stdout[-2000:]
    training = {
        r for r in jobs if r not in ANALYSIS_RULES and not r.startswith(("table_", "figure_"))
    }
    assert not training, f"training jobs in the figures-only plan: {training}"
    for rule in ("figure_slopes", "figure_candidates", "table_models"):
        assert jobs.get(rule) == 1, (rule, jobs)
    assert all(n == 1 for r, n in jobs.items() if r.startswith(("figure_", "table_"))), jobs
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    families = sorted({spec["family"] for spec in config["models"].values()})
    pairs = [(f, m) for f in families for m in config["pruning"]["methods"]]
    assert jobs["fit"] == jobs["bootstrap"] == jobs["split_fit"] == len(pairs)
    for name in ("slopes", "candidates"):
        for family, method in pairs:
            assert f"results/figures/{name}_{family}_{method}.png" in result.stdout
    assert "results/report_tables/models.html" in result.stdout


def test_figures_only_plan_without_models_csv_says_why(tmp_path):
    old = tmp_path / "old_tables"
    shutil.copytree(EMBEDDED, old)
    (old / "models.csv").unlink()
    result = snakemake(
        "-n",
        "figures",
        "--configfile",
        str(ROOT / "config.yaml"),
        "--config",
        f"tables_dir={old}",
        "--directory",
        str(tmp_path / "run"),
    )
    assert result.returncode != 0
    text = result.stdout + result.stderr
    assert f"{old}/models.csv is missing" in text and "snakemake table" in text, text[-3000:]
