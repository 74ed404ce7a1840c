"""Every figure draws from a synthetic table, writes PNG + PDF, and flags a non-converged fit."""

import copy

import pytest

from p2law.analysis import budget_table, fit_split, load_split, save_json
from p2law.figures import style
from p2law.figures.budget import plot_budget
from p2law.figures.curves import plot_curves
from p2law.figures.fitquality import plot_fitquality
from p2law.figures.generalization import plot_generalization
from p2law.figures.trend1 import plot_trend1
from p2law.figures.trend2 import plot_trend2
from p2law.law import fit_law
from p2law.law.trends import rho_trend, speed_trend

from _synthetic import FIT_KW, synthetic_table



@pytest.fixture(scope="module")
def table():
    df = synthetic_table()
    return df.assign(rate=df["rho"])


@pytest.fixture(scope="module")
def fit(table):
    return fit_law(table, "L1", **FIT_KW)


def texts(figure) -> str:
    found = [t.get_text() for ax in figure.axes for t in ax.texts]
    found += [t.get_text() for t in figure.texts]
    return "\n".join(found)


def saved(figure, tmp_path, name):
    style.save(figure, tmp_path / f"{name}.png")
    png, pdf = tmp_path / f"{name}.png", tmp_path / f"{name}.pdf"
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 10_000
    assert pdf.read_bytes()[:4] == b"%PDF"
    _png_is_the_pdf_rendered(png, pdf)


def _png_is_the_pdf_rendered(png, pdf):
    """The PNG is the PDF's page at the style's dpi, drawn (dark text on white), not blank."""
    import numpy as np
    import pypdfium2 as pdfium
    from PIL import Image

    document = pdfium.PdfDocument(str(pdf))
    width_pt, height_pt = document[0].get_size()
    document.close()
    image = np.asarray(Image.open(png).convert("L"))
    scale = 200 / 72  # style.apply: figure.dpi 200
    assert abs(image.shape[1] - width_pt * scale) <= 1 and abs(image.shape[0] - height_pt * scale) <= 1
    assert image[0, 0] == 255 and (image < 80).mean() > 0.005  # white page, some dark ink


def test_every_figure_draws_and_saves(table, fit, tmp_path):
    saved(plot_curves(table, fit, title="t"), tmp_path, "curves")
    saved(plot_trend1(table, speed_trend(table, min_tokens=1e4), title="t"), tmp_path, "trend1")
    saved(plot_trend2(table, rho_trend(table), min_tokens=1e4, title="t"), tmp_path, "trend2")
    saved(plot_fitquality(table, [fit, fit], title="t"), tmp_path, "fitquality")
    records = []
    for split in ("larger_D", "larger_N0", "higher_rho"):
        record = fit_split(table, split, "L1", 0.6, **FIT_KW)
        save_json(record, tmp_path / f"{split}.json")
        records.append(load_split(tmp_path / f"{split}.json"))
    saved(plot_generalization(table, records, title="t"), tmp_path, "generalization")
    saved(plot_budget(table, fit, budget_table([fit], table, [1.0], 0.95), title="t"), tmp_path, "budget")


def test_split_that_does_not_apply_is_written_in_its_panel(table, tmp_path):
    info = {"name": "higher_rho", "law": "L1", "status": "not applicable", "note": "one rho per model"}
    figure = plot_generalization(table, [(None, info)])
    assert "not applicable" in texts(figure) and "one rho per model" in texts(figure)


def test_non_converged_fit_is_flagged(table, fit):
    bad, good = copy.deepcopy(fit), copy.deepcopy(fit)
    bad.convergence["converged"], good.convergence["converged"] = False, True
    for figure in (plot_curves(table, bad), plot_fitquality(table, [bad]),
                   plot_budget(table, bad, budget_table([bad], table, [1.0], 0.95))):
        assert style.NOT_CONVERGED in texts(figure)
    dotted = lambda f: [ln for ax in f.axes for ln in ax.lines if ln.get_linestyle() == ":"]  # noqa: E731
    assert dotted(plot_curves(table, bad)) and not dotted(plot_curves(table, good))
    assert style.NOT_CONVERGED not in texts(plot_curves(table, good))


def test_d_zero_has_its_own_tick(table, fit):
    figure = plot_curves(table, fit)
    labels = [t.get_text() for t in figure.axes[0].get_xticklabels()]
    assert labels[0] == "0" and all("10^" in lab for lab in labels[1:])
