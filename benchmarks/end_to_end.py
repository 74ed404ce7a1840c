"""End-to-end wall time of the workflow from an empty results/, and of the no-op rerun after it.

Runs `snakemake -s Snakefile --directory DIR --cores N --configfile CONFIG` in a fresh working
directory (a temporary one unless --directory is given), so nothing of this checkout's results/
is reused. Installation is not timed: the venv must exist, and the checkout's DeepSpeed op cache
(.cache/torch_extensions, compiled on first use) is reused as every run of this checkout does. Then the same command again, which
must find nothing to do. Per-rule totals come from the run's Snakemake benchmark TSVs
(benchmarks/stage_memory.py).

    python benchmarks/end_to_end.py [--configfile config.yaml] [--cores 2] [--directory DIR]
    python benchmarks/end_to_end.py --configfile tests/configs/smoke.yaml   # minutes, not tens

Targets (embedded default, 2 cores): first run <= 10 min, no-op rerun <= 3 s. --quick only plans
(`snakemake -n`, twice): seconds, a check of the command line. Human-readable lines first; the
last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from stage_memory import summarise  # noqa: E402

TARGET_FIRST_S = 600.0
TARGET_NOOP_S = 3.0


def environment() -> dict:
    """What `make demo` gives the workflow: the venv first on PATH, offline hubs."""
    env = dict(os.environ)
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
    env.setdefault("TORCH_EXTENSIONS_DIR", str(ROOT / ".cache" / "torch_extensions"))
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("HF_DATASETS_OFFLINE", "1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    return env


def snakemake_command(args, directory: Path, dry_run: bool) -> list[str]:
    exe = args.snakemake or str(Path(sys.executable).with_name("snakemake"))
    cmd = [exe, "-s", str(ROOT / "Snakefile"), "--directory", str(directory),
           "--cores", str(args.cores), "--configfile", str(args.configfile.resolve())]
    if dry_run:
        cmd.append("-n")
    return cmd + list(args.snakemake_args)


def timed(cmd: list[str], log: Path, env: dict) -> tuple[float, int, str]:
    start = time.perf_counter()
    with log.open("w") as handle:
        done = subprocess.run(cmd, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
    elapsed = time.perf_counter() - start
    return elapsed, done.returncode, log.read_text(errors="replace")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configfile", type=Path, default=ROOT / "config.yaml")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--directory", type=Path,
                        help="working directory for the run (must have no results/); default: a "
                             "fresh temporary directory, removed afterwards unless --keep")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--snakemake", help="snakemake executable (default: the venv's)")
    parser.add_argument("--quick", action="store_true",
                        help="plan only (snakemake -n, twice): seconds; checks the command line")
    parser.add_argument("snakemake_args", nargs="*",
                        help="extra arguments passed to snakemake (after --)")
    args = parser.parse_args(argv)
    if not args.configfile.is_file():
        parser.error(f"no config file {args.configfile}")

    temporary = args.directory is None
    directory = Path(tempfile.mkdtemp(prefix="p2law-e2e-")) if temporary else args.directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / "results").exists():
        print(f"{directory}/results exists: an end-to-end run must start from an empty results/",
              file=sys.stderr)
        return 2
    env = environment()
    load = os.getloadavg()
    print(f"config {args.configfile}; cores {args.cores}; directory {directory}; "
          f"load average {load[0]:.2f}", flush=True)
    try:
        first_cmd = snakemake_command(args, directory, args.quick)
        print("$ " + " ".join(first_cmd), flush=True)
        first_s, rc, text = timed(first_cmd, directory / "end_to_end.first.log", env)
        print(f"{'plan' if args.quick else 'first run'}: {first_s:.1f} s (exit {rc}); log {directory / 'end_to_end.first.log'}",
              flush=True)
        if rc:
            print(text[-4000:], file=sys.stderr)
            return 1
        noop_s, rc2, text2 = timed(first_cmd, directory / "end_to_end.noop.log", env)
        nothing = None if args.quick else "Nothing to be done" in text2
        if args.quick:
            print(f"second plan: {noop_s:.2f} s (exit {rc2}; plan only, nothing was run)", flush=True)
        else:
            print(f"no-op rerun: {noop_s:.2f} s (exit {rc2}; "
                  f"{'nothing to be done' if nothing else 'JOBS WERE SCHEDULED'})", flush=True)
        if rc2:
            print(text2[-4000:], file=sys.stderr)
        rules = {}
        bench = directory / "results" / "benchmarks"
        if bench.is_dir():
            rules = summarise(bench)
            print(f"{'rule':24s} {'jobs':>4s} {'wall s total':>12s} {'max_rss MB':>10s}")
            for rule, r in sorted(rules.items(), key=lambda kv: -kv[1]["wall_s_total"]):
                print(f"{rule:24s} {r['jobs']:4d} {r['wall_s_total']:12.1f} {r['max_rss_mb']:10.1f}")
        result = {
            "configfile": str(args.configfile), "cores": args.cores, "quick": args.quick,
            "first_run_s": round(first_s, 2), "noop_rerun_s": round(noop_s, 2),
            "noop_nothing_to_do": nothing, "exit_codes": [rc, rc2],
            "target_first_run_s": TARGET_FIRST_S, "target_noop_s": TARGET_NOOP_S,
            "rules": {rule: {"jobs": r["jobs"], "wall_s_total": r["wall_s_total"],
                             "cpu_s_total": r["cpu_s_total"], "max_rss_mb": r["max_rss_mb"]}
                      for rule, r in rules.items()},
            "load_average": [round(load[0], 2), round(os.getloadavg()[0], 2)],
        }
        print(json.dumps(result), flush=True)
        return 0 if rc2 == 0 else 1
    finally:
        if temporary and not args.keep:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
