"""The DAG plans on the default config and runs end to end on the smoke config."""

import json
import os

import pandas as pd
import yaml
from _workflow import ROOT, SMOKE, smoke_args, snakemake

from p2law.config import rate_label
from p2law.malloc import MALLOC_ENV
from p2law.provenance import PACKAGES, config_hash, run_spec


def test_default_config_plans_every_job(tmp_path):
    result = snakemake("-n", "--cores", "2", "--configfile", str(ROOT / "config.yaml"),
                       "--directory", str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    runs = len(config["models"]) * sum(
        len(m["rates"]) for m in config["pruning"]["methods"].values())
    counts = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    assert counts["posttrain"] == runs
    assert counts["prune"] == runs
    assert counts["base_model"] == len(config["models"])


def test_smoke_run_produces_tables_fit_and_figure(smoke_run):
    workdir, _ = smoke_run
    config = yaml.safe_load(SMOKE.read_text())
    table = pd.read_csv(workdir / "results/tables/eval_loss.csv")
    methods = config["pruning"]["methods"]
    runs = len(config["models"]) * sum(len(spec["rates"]) for spec in methods.values())
    points = config["posttrain"]["eval_tokens"]["points"] + 1  # plus D = 0
    assert len(table) == runs * points
    assert table.groupby(["model", "method", "rate"]).size().eq(points).all()
    assert (table["tokens"] == 0).sum() == runs
    assert set(table["method"]) == set(methods) and set(table["family"]) == {"llama", "qwen2"}
    assert table["loss"].notna().all() and (table["loss"] > 0).all()
    assert table.groupby("model")["n0"].nunique().eq(1).all()
    assert table["n0"].nunique() == len(config["models"])
    fit = yaml.safe_load((workdir / "results/fits/llama/depth/L1.json").read_text())
    assert {"r2", "asd", "huber"} <= set(fit["metrics"])
    png = workdir / "results/figures/curves_llama_depth.png"
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    pruning = pd.read_csv(workdir / "results/tables/pruning.csv")
    assert len(pruning) == runs
    assert (pruning["params_kept"] < pruning["n0"]).all()
    # every job inherits the Snakefile's malloc settings (p2law/malloc.py; the caller's own win)
    run = json.loads(next((workdir / "results/posttrain").rglob("run.json")).read_text())
    assert run["malloc_env"] == {key: os.environ.get(key, v) for key, v in MALLOC_ENV.items()}


def test_second_run_has_nothing_to_do(smoke_run):
    workdir, args = smoke_run
    result = snakemake("-n", *args)
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


def test_every_result_records_its_provenance(smoke_run):
    workdir, _ = smoke_run
    config = yaml.safe_load(SMOKE.read_text())
    for model in config["models"]:
        train = json.loads((workdir / f"results/base/{model}/train.json").read_text())
        assert train["provenance"]["seed"] == config["seed"]
        for rate in config["pruning"]["methods"]["depth"]["rates"]:
            run = (model, "depth", rate_label(rate))
            folder = f"{model}/depth/rho~{rate_label(rate)}"
            post = json.loads((workdir / f"results/posttrain/{folder}/run.json").read_text())
            prov = post["provenance"]
            assert prov["config_sha256"] == config_hash(run_spec(config, *run)), folder
            assert prov["seed"] == config["seed"] and set(prov["packages"]) == set(PACKAGES)
            assert prov["git_commit"] != ""
            prune = json.loads((workdir / f"results/pruned/{folder}/prune.json").read_text())
            assert prune["provenance"]["config_sha256"] == config_hash(
                run_spec(config, *run, stage="prune"))


def test_a_second_run_from_scratch_gives_identical_results(smoke_run, tmp_path_factory):
    """Byte-identical tables and fits: nothing random, nothing timed, in what is reported."""
    first, _ = smoke_run
    second = tmp_path_factory.mktemp("smoke-again")
    result = snakemake(*smoke_args(second))
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    tables = ["eval_loss.csv", "curve_checks.csv", "pruning.csv"]
    for name in tables:
        a, b = (d / "results/tables" / name for d in (first, second))
        assert a.read_bytes() == b.read_bytes(), f"{name}:\n{a.read_text()}\n{b.read_text()}"
    fits = sorted((first / "results/fits").rglob("*.json"))
    fits += sorted((first / "results/bootstrap").rglob("*.json"))
    assert fits
    for path in fits:
        other = second / path.relative_to(first)
        assert path.read_bytes() == other.read_bytes(), path.relative_to(first)
    for path in sorted((first / "results/posttrain").rglob("run.json")):
        a, b = (json.loads(p.read_text())["provenance"]
                for p in (path, second / path.relative_to(first)))
        assert a["config_sha256"] == b["config_sha256"]
