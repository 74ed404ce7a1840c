"""`p2law` command line: fit, predict, budget, select, generalize, trends.

Thin over p2law.law (the workflow calls the same functions). Bad input exits 2 with one clear
message; an unexpected error exits 1, also with one line (the traceback if P2LAW_DEBUG is set).
A fit that did not converge is written (its JSON says so) and warned about, and exits 3 only
with --require-converged, so the caller decides.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import pandas as pd

from p2law.atomic import atomic_path, write_text
from p2law.law import LAWS, LawInputError, fit_law, load_fit
from p2law.law.io import parse_grid, parse_vars, read_table

EXIT_INTERNAL, EXIT_INPUT, EXIT_NOT_CONVERGED = 1, 2, 3
DEBUG_ENV = "P2LAW_DEBUG"  # set to see the traceback of an unexpected error


def _units(p):
    p.add_argument("--n0-unit", type=float, default=1e6, help="N0 unit (1e6 embedded, 1e9 paper profile)")
    p.add_argument("--d-unit", type=float, default=1e6, help="D unit in tokens (1e6 embedded, 1e9 paper)")
    p.add_argument("--huber-delta", type=float, default=1e-3)
    p.add_argument("--min-tokens", type=float, default=0, help="exclude points with fewer tokens (warm-up)")
    p.add_argument("--grid", help="start grid: JSON object or file, {param: [values]}")
    p.add_argument("--family", help="keep only this family")
    p.add_argument("--method", help="keep only this method")


def _fit_kw(a) -> dict:
    return {"n0_unit": a.n0_unit, "d_unit": a.d_unit, "huber_delta": a.huber_delta,
            "min_tokens": a.min_tokens, "grid": parse_grid(a.grid)}


def _write_csv(df: pd.DataFrame, path):
    with atomic_path(path) as tmp:  # an interrupted command leaves no half-written output
        df.to_csv(tmp, index=False)


def cmd_fit(a) -> int:
    df = read_table(a.data, a.family, a.method)
    fit = fit_law(df, a.law, bootstrap=a.bootstrap, seed=a.seed, columns=parse_vars(a.var),
                  target=a.target, **_fit_kw(a))
    fit.save(a.output)
    m, c = fit.metrics, fit.convergence
    print(f"{a.law}: R2={m['r2']:.6g} Huber={m['huber']:.4g} ASD={m['asd']:.4g} {m['asd_unit']} "
          f"MAPE={m['mape']:.4g} n={m['n_points']} -> {a.output}")
    for w in c["warnings"]:
        print(f"p2law: warning: {w}", file=sys.stderr)
    if not c["converged"]:
        print("p2law: warning: fit NOT CONVERGED (the JSON says converged: false)", file=sys.stderr)
        return EXIT_NOT_CONVERGED if a.require_converged else 0
    return 0


def cmd_predict(a) -> int:
    fit = load_fit(a.fit)
    df = read_table(a.data)
    out = df.copy()
    if a.bands:
        from p2law.law.bootstrap import bands

        try:
            b = bands(fit, df, level=a.level)
        except ValueError as e:
            raise LawInputError(str(e)) from None
        out = pd.concat([out, b], axis=1)
    else:
        out["pred"] = fit.predict(df)
    _write_csv(out, a.output)
    return 0


def cmd_budget(a) -> int:
    from p2law.law.budget import data_budget

    res = data_budget(load_fit(a.fit), a.n0, a.rho, a.l0, a.epsilon, a.target_loss)
    text = json.dumps(res, indent=2, allow_nan=True)
    if a.output:
        write_text(a.output, text + "\n")
    print(text)
    return 0


def cmd_select(a) -> int:
    from p2law.law.selection import selection_table

    _write_csv(selection_table([load_fit(p) for p in a.fits]), a.output)
    return 0


def cmd_generalize(a) -> int:
    from p2law.law.splits import generalization_table

    df = read_table(a.data, a.family, a.method)
    kw = _fit_kw(a)
    table = generalization_table(df, a.laws, splits=a.splits, d_fraction=a.d_fraction,
                                 bootstrap=a.bootstrap, seed=a.seed, **kw)
    _write_csv(table, a.output)
    return 0


def cmd_trends(a) -> int:
    from p2law.law.trends import curve_speeds, rho_trend, speed_trend

    df = read_table(a.data, a.family, a.method)
    _write_csv(rho_trend(df), a.output)
    if a.speed_output:
        _write_csv(speed_trend(df, d_unit=a.d_unit, min_tokens=a.min_tokens), a.speed_output)
    if a.curves_output:
        _write_csv(curve_speeds(df, d_unit=a.d_unit, min_tokens=a.min_tokens), a.curves_output)
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="p2law", description="Fit and use post-training scaling laws.")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("fit", help="fit one law to a tidy CSV, write a fit JSON")
    p.add_argument("data")
    p.add_argument("--law", required=True, help=f"one of {', '.join(LAWS)}")
    p.add_argument("--var", action="append", metavar="VAR=COLUMN", help="map a law variable to a column")
    p.add_argument("--target", choices=["loss", "excess"], default="loss")
    p.add_argument("--bootstrap", type=int, default=0, help="run-level bootstrap resamples (0 = none)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--require-converged", action="store_true", help="exit 3 if the fit did not converge")
    p.add_argument("-o", "--output", required=True)
    _units(p)
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("predict", help="predict loss for the rows of a CSV from a fit JSON")
    p.add_argument("fit")
    p.add_argument("data")
    p.add_argument("--bands", action="store_true", help="add bootstrap confidence / prediction bands")
    p.add_argument("--level", type=float, default=0.95)
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("budget", help="tokens for a marginal gain or a target loss")
    p.add_argument("fit")
    p.add_argument("--n0", type=float, required=True, help="parameters before pruning (raw count)")
    p.add_argument("--rho", type=float, required=True)
    p.add_argument("--l0", type=float, required=True)
    p.add_argument("--epsilon", type=float, help="marginal gain, loss per d_unit tokens")
    p.add_argument("--target-loss", type=float)
    p.add_argument("-o", "--output")
    p.set_defaults(func=cmd_budget)

    p = sub.add_parser("select", help="model-selection table from fit JSONs")
    p.add_argument("fits", nargs="+")
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=cmd_select)

    p = sub.add_parser("generalize", help="larger-D / larger-N0 / higher-rho splits for every law")
    p.add_argument("data")
    p.add_argument("--laws", nargs="+", default=list(LAWS))
    p.add_argument("--splits", nargs="+", default=["larger_D", "larger_N0", "higher_rho"])
    p.add_argument("--d-fraction", type=float, default=0.6)
    p.add_argument("--bootstrap", type=int, default=0, help="> 0 adds prediction-interval coverage")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--output", required=True)
    _units(p)
    p.set_defaults(func=cmd_generalize)

    p = sub.add_parser("trends", help="Trend 2 (loss vs rho) and Trend 1 (speed vs N0) tables")
    p.add_argument("data")
    p.add_argument("--family")
    p.add_argument("--method")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--speed-output", help="Trend 1 table: drop rate vs N0")
    p.add_argument("--curves-output", help="per-curve drop rates")
    p.add_argument("--d-unit", type=float, default=1e6)
    p.add_argument("--min-tokens", type=float, default=0)
    p.set_defaults(func=cmd_trends)
    return ap


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with np.errstate(all="ignore"):
            return args.func(args)
    except LawInputError as e:
        print(f"p2law: error: {e}", file=sys.stderr)
        return EXIT_INPUT
    except MemoryError:
        print("p2law: error: out of memory (input too large for this machine)", file=sys.stderr)
        return EXIT_INPUT
    except Exception as e:  # a bug, not bad input: one line, the traceback on request
        if os.environ.get(DEBUG_ENV):
            raise
        print(f"p2law: internal error: {type(e).__name__}: {e} (set {DEBUG_ENV}=1 for the "
              "traceback)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
