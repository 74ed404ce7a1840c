"""Tables as Markdown, LaTeX (booktabs) and HTML: formatting, escaping, one row per input row."""

import numpy as np
import pandas as pd

from p2law.report_tables import display, fmt, to_html, to_latex, to_markdown, write_table

FRAME = pd.DataFrame({
    "law": ["L1", "H_2 & co"], "r2": [0.999123456, np.nan], "n0": [120000.0, 3.0e5],
    "ok": [True, False], "asd": [1.2e-6, np.inf], "note": ["50% | done", "#1 {x}"],
})
COLUMNS = {"law": "law", "r2": "R²", "n0": "N0", "ok": "C1", "asd": "ASD (loss/M tokens)",
           "note": "note"}


def test_cells_are_formatted():
    assert fmt(0.999123456) == "0.9991"
    assert fmt(120000.0) == "120000" and fmt(np.int64(7)) == "7"
    assert fmt(np.nan) == "–" and fmt(None) == "–"
    assert fmt(np.bool_(True)) == "yes" and fmt(False) == "no"
    assert fmt(np.inf) == "∞" and fmt(1.2e-6) == "1.2e-06"


def test_markdown_has_one_row_per_input_row_and_aligned_columns():
    text = to_markdown(display(FRAME, COLUMNS), caption="Caption")
    lines = [line for line in text.splitlines() if line.startswith("|")]
    assert len(lines) == 2 + len(FRAME)
    assert {line.count(" | ") for line in lines} == {len(COLUMNS) - 1}  # the pipe in a cell is escaped
    assert lines[1].split(" | ")[1] == "---:"  # R² is numeric: right-aligned
    assert r"50% \| done" in text and text.startswith("**Caption**")


def test_latex_is_booktabs_and_escaped():
    text = to_latex(display(FRAME, COLUMNS), caption="ρ & 50%", label="tab:x")
    for needle in (r"\toprule", r"\midrule", r"\bottomrule", r"\label{tab:x}",
                   r"\begin{tabular}{lrrlrl}", r"H\_2 \& co", r"50\% | done", r"\#1 \{x\}",
                   r"R$^2$", r"$\rho$ \& 50\%", r"$\infty$"):
        assert needle in text, needle
    body = text.split(r"\midrule")[1].split(r"\bottomrule")[0]
    assert body.count(r"\\") == len(FRAME)
    assert text.count(r"\begin{") == text.count(r"\end{")
    wide = to_latex(display(pd.DataFrame({c: [1.0] for c in "abcdefghij"})))
    assert r"\begin{table*}" in wide and r"\end{table*}" in wide


def test_html_escapes_and_writes_all_four_files(tmp_path):
    html = to_html(display(FRAME, COLUMNS), caption="a <caption>")
    assert "&lt;caption&gt;" in html and html.count("<tr>") == 1 + len(FRAME)
    out = {ext: tmp_path / f"t.{ext}" for ext in ("csv", "md", "tex", "html")}
    write_table(FRAME, out, columns=COLUMNS, caption="c", label="tab:t")
    assert all(p.stat().st_size > 0 for p in out.values())
    back = pd.read_csv(out["csv"])
    assert list(back.columns) == list(FRAME.columns)  # the CSV keeps every column, full precision
    assert back["r2"].iloc[0] == FRAME["r2"].iloc[0]
