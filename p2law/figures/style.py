"""One look for every figure: readable at paper column width, PNG and PDF.

Figures are drawn at their printed size (ACL: one column 3.3 in, two columns 6.9 in) with 8 pt
text, so nothing shrinks when a PDF is placed in a paper. Shared helpers keep units, colours and
the "fit did not converge" flag identical across figures.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: figures are files, never windows

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

COLUMN = 3.3  # inches: one ACL column
FULL = 6.9  # inches: both columns (figure*)
PANEL_H = 2.1  # inches per row of panels
LOSS_LABEL = "eval loss (nats/token)"
NOT_CONVERGED = "NOT CONVERGED"


def apply() -> None:
    sns.set_theme(context="paper", style="whitegrid", font_scale=1.0)
    plt.rcParams.update({
        "figure.dpi": 200, "savefig.bbox": "tight", "savefig.pad_inches": 0.03,
        "legend.frameon": False, "font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8,
        "xtick.labelsize": 7, "ytick.labelsize": 7, "legend.fontsize": 7,
        "legend.title_fontsize": 7, "lines.linewidth": 1.0, "lines.markersize": 3,
        "pdf.fonttype": 42,  # TrueType in PDFs, so journals' checkers accept them
    })


def panels(n: int, ncols: int | None = None, width: float = FULL, height: float = PANEL_H,
           sharex: bool = False, sharey: bool = False):
    """A figure with n panels on a grid (unused cells removed); returns (fig, flat axes)."""
    ncols = min(n, ncols or 4)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height * nrows), sharex=sharex,
                             sharey=sharey, squeeze=False, layout="constrained")
    flat = axes.ravel()
    for ax in flat[n:]:
        ax.remove()
    return fig, list(flat[:n])


def d_unit_name(d_unit: float) -> str:
    """'M tokens' for 1e6: the unit every D axis and slope is stated in."""
    from p2law.law.metrics import d_unit_label

    return d_unit_label(d_unit)


def d_label(d_unit: float) -> str:
    return f"post-training tokens D ({d_unit_name(d_unit)})"


def n0_palette(n0s) -> dict:
    n0s = sorted(n0s)
    return dict(zip(n0s, sns.color_palette("flare", len(n0s))))


def converged(fit) -> bool:
    return bool(fit.convergence.get("converged", False))


def flag_fit(ax, fit, where: str = "upper right") -> None:
    """A red box in the panel when the fit did not converge, so no one reads it as a result."""
    if fit is None or converged(fit):
        return
    x, ha = (0.97, "right") if "right" in where else (0.03, "left")
    y, va = (0.95, "top") if "upper" in where else (0.05, "bottom")
    ax.text(x, y, f"{fit.law} fit\n{NOT_CONVERGED}", transform=ax.transAxes, ha=ha, va=va,
            color="white", fontsize=6, fontweight="bold",
            bbox={"boxstyle": "round,pad=0.2", "fc": "crimson", "ec": "none"})


def fit_linestyle(fit) -> str:
    """Non-converged fits are drawn dotted as well as flagged."""
    return "-" if fit is None or converged(fit) else ":"


def save(figure, png_path: str | Path) -> None:
    """Write the PDF, and the PNG beside it rasterized from that PDF.

    Why not a second matplotlib draw: drawing is most of a figure rule's time (~0.6 s per PNG
    with Agg), while PDFium renders the finished PDF page in ~0.05 s. The report's PNG is then
    pixel for pixel the paper's PDF, at the style's dpi.
    """
    png_path = Path(png_path)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    pdf_path = png_path.with_suffix(".pdf")
    _drop_blank_minor_ticks(figure)
    dpi = plt.rcParams["savefig.dpi"]
    dpi = figure.dpi if dpi == "figure" else float(dpi)
    figure.savefig(pdf_path)
    plt.close(figure)
    rasterize(pdf_path, png_path, dpi)


def rasterize(pdf_path: str | Path, png_path: str | Path, dpi: float) -> None:
    """Render the first page of a PDF to a PNG on white (PDFium, via pypdfium2)."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(pdf_path))
    try:
        image = document[0].render(scale=dpi / 72, fill_color=(255, 255, 255, 255)).to_pil()
        image.save(png_path, format="PNG")
    finally:
        document.close()


def _drop_blank_minor_ticks(figure) -> None:
    """Remove minor ticks that show nothing: this style draws no tick marks and grids major ticks
    only, so a minor tick with blank labels (log axes here) is invisible, yet each one costs text
    layout at every draw (~20 % of a figure's drawing time)."""
    import matplotlib.ticker as mticker

    rc = plt.rcParams
    if rc["axes.grid.which"] != "major" or any(
        rc[key] for key in ("xtick.bottom", "xtick.top", "ytick.left", "ytick.right")
    ):
        return
    for ax in figure.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if isinstance(axis.get_minor_formatter(), mticker.NullFormatter):
                axis.set_minor_locator(mticker.NullLocator())


def fmt_count(n: float) -> str:
    """1.236e9 -> '1.24 B', 1.2e5 -> '120 k': parameter and token counts in titles."""
    for scale, name in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= scale:
            return f"{n / scale:.3g} {name}"
    return f"{n:.3g}"


def zero_x(tokens, d_unit: float) -> float:
    """Where D = 0 (the just-pruned point) is drawn on a log axis: half a decade left of the data."""
    positive = np.asarray(tokens, float)
    return float(positive[positive > 0].min()) / d_unit / 10**0.5


def zero_ticks(ax, x_zero: float, lo: float, hi: float) -> None:
    """Decade ticks over [lo, hi] (1-2-5 under 1.5 decades) plus '0' where D = 0 is drawn."""
    import matplotlib.ticker as mticker

    subs = (1.0,) if np.log10(hi / lo) >= 1.5 else (1.0, 2.0, 5.0)
    k0, k1 = int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi)))
    ticks = [m * 10.0**k for k in range(k0, k1 + 1) for m in subs if lo <= m * 10.0**k <= hi * (1 + 1e-9)]
    if not ticks:  # a range inside one 1-2-5 step: label its ends
        ticks = [lo, hi]
    ax.set_xticks([x_zero, *ticks], labels=["0", *[_tick(t) for t in ticks]])
    ax.xaxis.set_minor_formatter(mticker.NullFormatter())


def _tick(value: float) -> str:
    k = np.log10(value)
    return f"$10^{{{int(round(k))}}}$" if np.isclose(k, round(k)) else f"{value:.3g}"


def plain_log_ticks(ax, axis: str = "x", mantissas=(1, 2, 3, 5)) -> None:
    """Plain numbers (0.1, 0.2, 0.3) on a log axis spanning a decade or two: m × 10^k."""
    import matplotlib.ticker as mticker

    def label(value, _pos):
        mantissa = round(value / 10 ** np.floor(np.log10(value)), 6)
        return f"{value:g}" if mantissa in mantissas else ""

    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_formatter(mticker.FuncFormatter(label))
    target.set_minor_formatter(mticker.FuncFormatter(label))


def legend_below(fig, handles, labels, ncol: int | None = None) -> None:
    """One legend for the whole figure, under the panels, so it never covers data."""
    fig.legend(handles, labels, loc="outside lower center", ncol=ncol or len(labels))


def log_ticks(ax, axis: str = "x") -> None:
    """Log-axis labels that never collide: decades only, or 1-2-5 when under 1.5 decades.

    Call after plotting (the span is read from the axis limits).
    """
    import matplotlib.ticker as mticker

    target = ax.xaxis if axis == "x" else ax.yaxis
    lo, hi = ax.get_xlim() if axis == "x" else ax.get_ylim()
    subs = (1.0,) if np.log10(hi / lo) >= 1.5 else (1.0, 2.0, 5.0)
    target.set_major_locator(mticker.LogLocator(base=10, subs=subs))
    target.set_major_formatter(mticker.FuncFormatter(lambda v, _: _tick(v)))
    target.set_minor_formatter(mticker.NullFormatter())


def rate_key(table):
    """Which curves share 'the same ρ' across base models: the requested rate (`rate` column),
    else ρ rounded to 2 digits. Achieved ρ differs a little per model (layers are discrete)."""
    return table["rate"] if "rate" in table else table["rho"].round(2)


def rate_palette(table) -> dict:
    """One colour per requested rate, shared by every panel of a figure."""
    keys = sorted(rate_key(table).unique())
    return dict(zip(keys, sns.color_palette("viridis", len(keys))))


def rate_label(table, key) -> str:
    rho = table.loc[rate_key(table) == key, "rho"]
    lo, hi = rho.min(), rho.max()
    achieved = f"{lo:.3f}" if np.isclose(lo, hi) else f"{lo:.3f}–{hi:.3f}"
    return f"rate {key:g} (ρ = {achieved})" if isinstance(key, (int, float, np.number)) else f"ρ = {achieved}"
