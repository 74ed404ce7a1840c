"""Peak memory and wall time per stage (rule), from Snakemake's benchmark TSVs.

Every rule with a `benchmark:` directive writes one TSV per job under results/benchmarks/
(`{rule}.tsv` or `{rule}/{wildcards...}.tsv`) with Snakemake's columns: s, h:m:s, max_rss,
max_vms, max_uss, max_pss, io_in, io_out, mean_load, cpu_time (memory in MB). This script
groups the jobs by rule (the first path component below the benchmark folder) and prints, per
rule, the number of jobs, the largest max_rss and the sum and max of wall and CPU seconds.

    python benchmarks/stage_memory.py [--benchmarks results/benchmarks] [--quick]

Human-readable lines first; the last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NUMERIC = ("s", "max_rss", "max_vms", "max_uss", "max_pss", "io_in", "io_out", "mean_load", "cpu_time")


def _number(text) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return math.nan  # Snakemake writes "-" or "NA" where psutil could not measure
    return value


def read_tsv(path: Path) -> list[dict]:
    """The rows of one benchmark TSV (one per repeat) as {column: float}."""
    with path.open(newline="") as handle:
        return [{k: _number(row.get(k)) for k in NUMERIC} for row in csv.DictReader(handle, delimiter="\t")]


def rule_of(path: Path, root: Path) -> str:
    parts = path.relative_to(root).parts
    return parts[0] if len(parts) > 1 else Path(parts[0]).stem


def _max(values) -> float:
    values = [v for v in values if not math.isnan(v)]
    return max(values) if values else math.nan


def _sum(values) -> float:
    return sum(v for v in values if not math.isnan(v))


def summarise(root: Path) -> dict:
    """{rule: {jobs, max_rss_mb, wall_s_total, wall_s_max, cpu_s_total, cpu_s_max}}."""
    jobs: dict[str, list[dict]] = {}
    for path in sorted(root.rglob("*.tsv")):
        rows = read_tsv(path)
        if rows:  # a repeated benchmark (repeat("...", n)) counts its mean as the job's time
            job = {k: _max(r[k] for r in rows) if k.startswith("max_") else
                   _sum(r[k] for r in rows) / len(rows) for k in NUMERIC}
            jobs.setdefault(rule_of(path, root), []).append(job)
    out = {}
    for rule, items in sorted(jobs.items()):
        out[rule] = {
            "jobs": len(items),
            "max_rss_mb": round(_max(j["max_rss"] for j in items), 2),
            "max_uss_mb": round(_max(j["max_uss"] for j in items), 2),
            "wall_s_total": round(_sum(j["s"] for j in items), 3),
            "wall_s_max": round(_max(j["s"] for j in items), 3),
            "cpu_s_total": round(_sum(j["cpu_time"] for j in items), 3),
            "cpu_s_max": round(_max(j["cpu_time"] for j in items), 3),
        }
    return out


def _json_safe(value):
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    return None if isinstance(value, float) and math.isnan(value) else value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--benchmarks", type=Path, default=ROOT / "results" / "benchmarks",
                        help="folder of Snakemake benchmark TSVs (default: results/benchmarks)")
    parser.add_argument("--quick", action="store_true",
                        help="sanity run: the same summary (it takes well under a second anyway)")
    args = parser.parse_args(argv)
    root = args.benchmarks.resolve()
    if not root.is_dir():
        print(f"no benchmark folder {root}: run the workflow first", file=sys.stderr)
        return 2
    rules = summarise(root)
    if not rules:
        print(f"no benchmark TSVs under {root}", file=sys.stderr)
        return 2
    print(f"{'rule':24s} {'jobs':>4s} {'max_rss MB':>10s} {'wall s total':>12s} {'wall s max':>10s} "
          f"{'cpu s total':>11s}")
    for rule, r in sorted(rules.items(), key=lambda kv: -kv[1]["wall_s_total"]):
        print(f"{rule:24s} {r['jobs']:4d} {r['max_rss_mb']:10.1f} {r['wall_s_total']:12.1f} "
              f"{r['wall_s_max']:10.1f} {r['cpu_s_total']:11.1f}")
    total = {
        "jobs": sum(r["jobs"] for r in rules.values()),
        "max_rss_mb": round(_max(r["max_rss_mb"] for r in rules.values()), 2),
        "wall_s_total": round(_sum(r["wall_s_total"] for r in rules.values()), 3),
        "cpu_s_total": round(_sum(r["cpu_s_total"] for r in rules.values()), 3),
    }
    peak = max(rules, key=lambda k: -math.inf if math.isnan(rules[k]["max_rss_mb"]) else rules[k]["max_rss_mb"])
    print(f"{'TOTAL':24s} {total['jobs']:4d} {total['max_rss_mb']:10.1f} {total['wall_s_total']:12.1f}"
          f" {'':10s} {total['cpu_s_total']:11.1f}   (job wall times summed, not the run's wall time)")
    print(f"peak memory: {rules[peak]['max_rss_mb']:.1f} MB in rule {peak}")
    print(json.dumps(_json_safe({"benchmarks": str(root), "rules": rules, "total": total,
                                 "peak_rule": peak})), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
