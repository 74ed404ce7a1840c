"""Reading tidy tables and CLI-style options, with LawInputError instead of pandas tracebacks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from .errors import LawInputError


# A tidy table of a whole paper-scale grid is a few MB; far larger input is a wrong file, and
# refusing it up front beats a machine swapping. The environment variable raises the limit.
MAX_TABLE_BYTES = 1 << 30
MAX_BYTES_ENV = "P2LAW_MAX_TABLE_BYTES"


def read_table(path, family: str | None = None, method: str | None = None) -> pd.DataFrame:
    """Read a tidy CSV, optionally keeping one family and/or method."""
    p = Path(path)
    if not p.is_file():
        raise LawInputError(f"no such file: {path}")
    limit = int(os.environ.get(MAX_BYTES_ENV) or MAX_TABLE_BYTES)
    if p.stat().st_size > limit:
        raise LawInputError(f"{path}: {p.stat().st_size} bytes is above the {limit}-byte limit "
                            f"for a table (set {MAX_BYTES_ENV} to raise it)")
    try:
        df = pd.read_csv(p)
    except pd.errors.EmptyDataError:
        raise LawInputError(f"{path}: empty file (no header, no rows)") from None
    except pd.errors.ParserError as e:
        raise LawInputError(f"{path}: not a readable CSV: {e}") from None
    except UnicodeDecodeError as e:
        raise LawInputError(f"{path}: not UTF-8 text, so not a CSV table: {e}") from None
    if df.empty:
        raise LawInputError(f"{path}: header only, no data rows")
    for col, value in (("family", family), ("method", method)):
        if value is None:
            continue
        if col not in df.columns:
            raise LawInputError(f"{path}: cannot select {col}={value}: no column {col!r}")
        df = df[df[col].astype(str) == value]
        if df.empty:
            raise LawInputError(f"{path}: no rows with {col} == {value!r}")
    return df


def parse_vars(items) -> dict[str, str]:
    """['N=params', 'D=tokens'] -> {'N': 'params', 'D': 'tokens'}."""
    out = {}
    for item in items or []:
        var, sep, col = item.partition("=")
        if not sep or not var or not col:
            raise LawInputError(f"--var expects VARIABLE=column, got {item!r}")
        out[var.strip()] = col.strip()
    return out


def parse_grid(text: str | None) -> dict | None:
    """A grid given as a JSON object, or a path to a JSON file: {param: [start values]}."""
    if not text:
        return None
    try:
        src = Path(text).read_text() if Path(text).is_file() else text
        grid = json.loads(src)
    except (OSError, json.JSONDecodeError) as e:
        raise LawInputError(f"--grid is neither a JSON object nor a JSON file: {e}") from None
    if not isinstance(grid, dict):
        raise LawInputError("--grid must be a JSON object {param: [values]}")
    return grid
