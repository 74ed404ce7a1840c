"""Wall time of the full fit suite: every law in the registry, the full start grid, and a run-level
bootstrap, for every family × method of an eval-loss table.

Each (family × method, law) is fitted as the workflow's `fit` rule does (scripts/fit.py:
p2law.law.fit_law with the config's units, Huber delta, min_tokens and seed, the law's full
default start grid), then bootstrapped as the `bootstrap` rule does (scripts/analysis_bootstrap.py:
p2law.analysis.add_bootstrap, --bootstrap resamples, the config's level), and the model-selection
table is built from all fits (p2law.law.selection.selection_table). With --splits the three
generalization splits are fitted too, as the `split_fit` rule does. With --jobs N the
(group, law) tasks run in a pool of N processes (each fit and its bootstrap in one worker).

    python benchmarks/fit_suite.py [--table resources/embedded_tables/eval_loss.csv]
                                   [--bootstrap 1000] [--jobs 1] [--splits] [--profile out.txt]

Wall and CPU seconds per stage and in total; the machine's load average is printed with them,
since wall time on a shared machine says little on its own. BLAS libraries get --blas-threads threads
(default 1), as Snakemake gives each 1-thread job: OpenBLAS's default of one thread per core
makes the many tiny BLAS calls of L-BFGS-B several times slower on a busy 2-core machine. Human-readable lines first; the last
line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BLAS_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "GOTO_NUM_THREADS",
            "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
COST_HINT = {"H4": 5, "H3": 4, "Chinchilla": 4, "L1": 3, "H2": 2, "H5": 1, "compression": 0}
QUICK_GRID = {"alpha": [0.5], "beta": [0.5, 1.0], "gamma": [-1.0, 0.0], "delta": [0.0, 0.5],
              "log_N_C": [-1.0], "log_D_C": [-1.0], "E": [0.0]}


def settings(configfile: Path) -> dict:
    config = yaml.safe_load(configfile.read_text())
    return {"units": config["units"], "huber_delta": config["fit"]["huber_delta"],
            "min_tokens": config["fit"]["min_tokens"], "seed": config["seed"],
            "level": config["analysis"]["level"], "d_fraction": config["analysis"]["d_fraction"]}


def _clock():
    return time.perf_counter(), time.process_time()


def _since(start) -> tuple[float, float]:
    wall, cpu = _clock()
    return wall - start[0], cpu - start[1]


def run_task(table_path: str, family: str, method: str, law: str, s: dict, n_boot: int,
             splits: bool, grid) -> dict:
    """One (family × method, law): fit, bootstrap, optional splits; timings and a summary."""
    import numpy as np
    import pandas as pd

    from p2law.analysis import add_bootstrap, fit_split, select
    from p2law.law import LawInputError, fit_law

    rows = select(pd.read_csv(table_path), family, method)
    out = {"family": family, "method": method, "law": law, "times": {}}
    start = _clock()
    try:
        fit = fit_law(rows, law=law, n0_unit=s["units"]["n0"], d_unit=s["units"]["d"],
                      huber_delta=s["huber_delta"], min_tokens=s["min_tokens"], seed=s["seed"],
                      grid=grid, grid_strict=grid is None)
    except LawInputError as e:  # a law the table cannot support (e.g. too few points)
        out["times"]["fit"] = _since(start)
        out["error"] = str(e)
        return out
    out["times"]["fit"] = _since(start)
    out["n_starts"] = fit.convergence["n_starts"]
    out["converged"] = bool(fit.convergence["converged"])
    if n_boot:
        start = _clock()
        add_bootstrap(fit, rows, n_boot, s["seed"], s["level"])
        out["times"]["bootstrap"] = _since(start)
        b = fit.bootstrap
        out["bootstrap"] = {k: b[k] for k in ("n", "n_converged", "n_failed", "n_scipy", "n_restarted")}
    if splits:
        from p2law.law.splits import SPLITS

        start = _clock()
        status = {}
        for split in SPLITS:
            record = fit_split(rows, split, law, s["d_fraction"], n0_unit=s["units"]["n0"],
                               d_unit=s["units"]["d"], huber_delta=s["huber_delta"],
                               min_tokens=s["min_tokens"], seed=s["seed"], bootstrap=n_boot)
            status[split] = record["split"]["status"]
        out["times"]["splits"] = _since(start)
        out["splits"] = status
    # the exact numbers, to compare two versions of the library: fitted θ, LM check, bootstrap θ
    digest = hashlib.sha256(np.asarray(fit.theta, float).tobytes())
    digest.update(json.dumps(fit.convergence, sort_keys=True, default=str).encode())
    if fit.bootstrap:
        digest.update(np.asarray(fit.bootstrap["theta"], float).tobytes())
    out["digest"] = digest.hexdigest()[:16]
    out["fit"] = fit.to_dict()
    out["fit"]["bootstrap"] = None  # the selection table needs no replicates; keep the pipe small
    out["theta"] = [float(v) for v in np.asarray(fit.theta)]
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", type=Path,
                        default=ROOT / "resources" / "embedded_tables" / "eval_loss.csv",
                        help="tidy eval-loss table (default: the committed embedded one)")
    parser.add_argument("--configfile", type=Path, default=ROOT / "config.yaml",
                        help="units, Huber delta, min_tokens, seed and level come from here")
    parser.add_argument("--groups", nargs="*", metavar="FAMILY/METHOD",
                        help="only these family x method groups (default: all in the table)")
    parser.add_argument("--laws", nargs="*", help="laws to fit (default: every law in the registry)")
    parser.add_argument("--bootstrap", type=int, default=1000, help="resamples per fit (0: none)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="worker processes over (family x method, law) tasks (default 1)")
    parser.add_argument("--splits", action="store_true",
                        help="also fit the three generalization splits (with bootstrap)")
    parser.add_argument("--blas-threads", type=int, default=1,
                        help="OpenBLAS/OpenMP threads (default 1, what Snakemake gives a 1-thread "
                             "job); 0 leaves the environment alone")
    parser.add_argument("--profile", type=Path,
                        help="run under cProfile (in-process, --jobs 1) and write the top "
                             "functions by cumulative and own time to this file")
    parser.add_argument("--quick", action="store_true",
                        help="seconds-long sanity run: the first family x method, L1 only, "
                             "a 16-start grid, 20 resamples")
    args = parser.parse_args(argv)
    if args.blas_threads:  # before numpy loads OpenBLAS; Snakemake sets these for every job
        for var in BLAS_ENV:
            os.environ[var] = str(args.blas_threads)

    import pandas as pd

    from p2law.law import LAWS

    s = settings(args.configfile)
    laws = args.laws or list(LAWS)
    grid = None
    if args.quick:
        laws, grid, args.bootstrap = (args.laws or ["L1"]), QUICK_GRID, min(args.bootstrap, 20)
    unknown = [law for law in laws if law not in LAWS]
    if unknown:
        parser.error(f"unknown law(s) {unknown}; known: {list(LAWS)}")
    table = pd.read_csv(args.table)
    groups = sorted(table.groupby(["family", "method"]).groups)
    if args.groups:
        unknown = sorted(set(args.groups) - {f"{f}/{m}" for f, m in groups})
        if unknown:
            parser.error(f"no group(s) {unknown} in the table; it has "
                         f"{[f'{f}/{m}' for f, m in groups]}")
        groups = [(f, m) for f, m in groups if f"{f}/{m}" in args.groups]
    if args.quick:
        groups = groups[:1]
    tasks = [(str(args.table), f, m, law, s, args.bootstrap, args.splits, grid)
             for f, m in groups for law in laws]
    load_before = os.getloadavg()
    print(f"table {args.table} ({len(table)} rows, {len(groups)} family x method group(s)); "
          f"laws {laws}; bootstrap {args.bootstrap}; jobs {args.jobs}; "
          f"load average {load_before[0]:.2f}", flush=True)

    start = _clock()
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    if args.jobs > 1 and not args.profile:
        # longest first (bootstraps of the laws without the L0 anchor send most replicates to
        # L-BFGS-B), so the workers finish together
        order = sorted(range(len(tasks)), key=lambda i: -COST_HINT.get(tasks[i][3], 1))
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            futures = {i: pool.submit(run_task, *tasks[i]) for i in order}
            results = [futures[i].result() for i in range(len(tasks))]
    else:
        results = [run_task(*t) for t in tasks]

    from p2law.law.fit import Fit
    from p2law.law.selection import selection_table

    sel_start = _clock()
    selection = selection_table([Fit.from_dict(r["fit"]) for r in results if "fit" in r])
    selection_time = _since(sel_start)
    total = _since(start)
    if profiler is not None:
        import io
        import pstats

        profiler.disable()
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("tottime").print_stats(30)
        args.profile.write_text(text.getvalue())
        print(f"profile written to {args.profile}")

    stages: dict[str, dict] = {}
    for r in results:
        line = [f"{r['family']}/{r['method']} {r['law']:12s}"]
        for stage, (wall, cpu) in r["times"].items():
            agg = stages.setdefault(stage, {"wall_s": 0.0, "cpu_s": 0.0, "tasks": 0})
            agg["wall_s"] += wall
            agg["cpu_s"] += cpu
            agg["tasks"] += 1
            line.append(f"{stage} {wall:7.2f} s (cpu {cpu:6.2f})")
        if "error" in r:
            line.append(f"not fitted: {r['error'].splitlines()[0]}")
        else:
            line.append(f"starts {r['n_starts']}, converged {r['converged']}")
        if "bootstrap" in r:
            b = r["bootstrap"]
            line.append(f"boot {b['n_converged']}/{b['n']} ok, {b['n_scipy']} to scipy")
        print("  ".join(line), flush=True)
    stages["selection"] = {"wall_s": selection_time[0], "cpu_s": selection_time[1], "tasks": 1}
    load_after = os.getloadavg()
    for stage, agg in stages.items():
        print(f"stage {stage:10s} {agg['wall_s']:8.2f} s wall (summed over tasks), "
              f"{agg['cpu_s']:8.2f} s cpu")
    print(f"total {total[0]:.2f} s wall, {total[1]:.2f} s cpu in this process"
          f"{' (workers not included)' if args.jobs > 1 else ''}; target <= 60 s on 2 cores; "
          f"load average {load_after[0]:.2f}")
    result = {
        "table": str(args.table), "groups": len(groups), "laws": laws,
        "bootstrap": args.bootstrap, "jobs": args.jobs, "splits": args.splits, "quick": args.quick,
        "stages": {k: {"wall_s": round(v["wall_s"], 3), "cpu_s": round(v["cpu_s"], 3),
                       "tasks": v["tasks"]} for k, v in stages.items()},
        "total_wall_s": round(total[0], 3),
        "tasks": [{"family": r["family"], "method": r["method"], "law": r["law"],
                   **{f"{k}_wall_s": round(v[0], 3) for k, v in r["times"].items()},
                   **{f"{k}_cpu_s": round(v[1], 3) for k, v in r["times"].items()},
                   "converged": r.get("converged"), "error": r.get("error"),
                   "digest": r.get("digest"),
                   "bootstrap": r.get("bootstrap"), "splits": r.get("splits")} for r in results],
        "selected": [row["law"] for _, row in selection.iterrows() if row.get("selected")]
        if len(selection) else [],
        "blas_threads": args.blas_threads, "load_average": [round(load_before[0], 2), round(load_after[0], 2)],
        "cpu_count": os.cpu_count(), "target_wall_s": 60,
    }
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    from p2law.malloc import reexec_with_malloc_env

    reexec_with_malloc_env()  # measure with the malloc settings workflow jobs get
    sys.exit(main())
