"""The figures-only path: from the committed tables, no training job is planned, every fit,
table and figure is built, and the offline report shows every figure and table."""

import time
from pathlib import Path

import pytest
import yaml
from _workflow import snakemake as run_snakemake

ROOT = Path(__file__).resolve().parent.parent
TABLES = ROOT / "resources" / "embedded_tables"
ANALYSIS_RULES = {"fit", "bootstrap", "split_fit", "figures"}  # plus table_* and figure_*
FIGURES = ("curves", "trend1", "trend2", "fitquality", "slopes", "candidates", "generalization",
           "budget")
TABLES_OUT = ("models", "selection", "generalization", "params", "diagnostics", "budget",
              "trend1_speed", "trend2_rho", "pruning")


def snakemake(*args, cwd=ROOT, timeout=900):
    return run_snakemake(*args, cwd=cwd, timeout=timeout)


def planned_jobs(stdout: str) -> dict:
    """Rule -> job count from the 'Job stats' table of a dry run."""
    counts, lines = {}, stdout.split("Job stats:", 1)[-1].splitlines()
    for line in lines[3:]:  # after the header and its rule line
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        counts[parts[0]] = int(parts[1])
    counts.pop("total", None)
    return counts


@pytest.fixture(scope="module")
def figures_only(tmp_path_factory):
    """Plan, run and report the `figures` target in a fresh directory (bootstrap kept small)."""
    workdir = tmp_path_factory.mktemp("figures_only")
    overlay = workdir / "overlay.yaml"
    overlay.write_text(yaml.safe_dump({"tables_dir": str(TABLES), "analysis": {"bootstrap": 8}}))
    args = ("figures", "--cores", "2", "--configfile", str(ROOT / "config.yaml"), str(overlay),
            "--directory", str(workdir))
    plan = snakemake("-n", *args)
    assert plan.returncode == 0, (plan.stdout + plan.stderr)[-4000:]
    start = time.monotonic()
    run = snakemake(*args)
    seconds = time.monotonic() - start
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    report = snakemake(*args, "--report", str(workdir / "report.html"))
    assert report.returncode == 0, (report.stdout + report.stderr)[-4000:]
    print(f"figures-only run: {seconds:.1f} s")
    return {"dir": workdir, "plan": plan.stdout, "seconds": seconds}


def config():
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def family_methods():
    cfg = config()
    families = {spec["family"] for spec in cfg["models"].values()}
    return [(f, m) for f in sorted(families) for m in cfg["pruning"]["methods"]]


def test_plan_has_only_analysis_jobs(figures_only):
    jobs = planned_jobs(figures_only["plan"])
    assert jobs, figures_only["plan"][-2000:]
    training = {r for r in jobs if r not in ANALYSIS_RULES and not r.startswith(("table_", "figure_"))}
    assert not training, f"training jobs planned by the figures-only target: {training}"
    for rule in ("base_model", "prune", "posttrain", "table"):
        assert rule not in jobs
    # one job per family x method fits every law; one job per figure or table draws every pair
    assert jobs["fit"] == jobs["bootstrap"] == jobs["split_fit"] == len(family_methods())
    assert all(n == 1 for rule, n in jobs.items() if rule.startswith(("table_", "figure_")))


def test_every_figure_and_table_is_built(figures_only):
    out = figures_only["dir"] / "results"
    for figure in FIGURES:
        for family, method in family_methods():
            png = out / "figures" / f"{figure}_{family}_{method}.png"
            pdf = png.with_suffix(".pdf")
            assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 10_000, png
            assert pdf.read_bytes()[:4] == b"%PDF" and pdf.stat().st_size > 5_000, pdf
    for name in TABLES_OUT:
        for ext in ("csv", "md", "tex", "html"):
            assert (out / "report_tables" / f"{name}.{ext}").stat().st_size > 0, (name, ext)
        tex = (out / "report_tables" / f"{name}.tex").read_text()
        assert r"\toprule" in tex and r"\bottomrule" in tex and tex.count(r"\begin{") == tex.count(r"\end{")
        md = (out / "report_tables" / f"{name}.md").read_text().splitlines()
        rows = [line for line in md if line.startswith("|")]
        assert len(rows) >= 3 and len({line.count(" | ") for line in rows}) == 1, name


def test_report_shows_every_figure_and_table(figures_only):
    html = (figures_only["dir"] / "report.html").read_text()
    assert len(html) > 100_000
    for figure in FIGURES:
        for family, method in family_methods():
            assert f"{figure}_{family}_{method}.png" in html, figure
    for name in TABLES_OUT:
        assert f"{name}.html" in html, name
    for category in ("1 Loss curves", "2 Trends", "3 Fit quality", "4 Generalization",
                     "5 Data budget", "6 Tables"):
        assert category in html
    assert str(TABLES) in html  # the front page says which tables everything was built from


def test_all_laws_overlay_plans_every_candidate_law(tmp_path):
    """config/all_laws.yaml on the figures-only path fits, bootstraps and split-fits all seven
    forms of paper-spec §6 (a plan: the run itself is what docs/performance.md times)."""
    laws = yaml.safe_load((ROOT / "config" / "all_laws.yaml").read_text())["fit"]["laws"]
    assert laws == ["L1", "H2", "H3", "H4", "H5", "Chinchilla", "compression"]
    plan = snakemake("-n", "figures", "--configfile", str(ROOT / "config.yaml"),
                     str(ROOT / "config" / "all_laws.yaml"), "--config", f"tables_dir={TABLES}",
                     "--directory", str(tmp_path))
    assert plan.returncode == 0, (plan.stdout + plan.stderr)[-4000:]
    for family, method in family_methods():
        for law in laws:
            for stage in ("fits", "bootstrap"):
                assert f"results/{stage}/{family}/{method}/{law}.json" in plan.stdout, (stage, law)
            assert f"results/splits/{family}/{method}/larger_D/{law}.json" in plan.stdout, law
