"""Law fitting for p2law: the P² law L1, competing forms, metrics, uncertainty, splits, budget.

    from p2law.law import fit_law, load_fit, LAWS

The forms (numpy only) load with the package; the fitting names load pandas and scipy on
first use, so the config check, which only needs the law names, stays fast at every start.
"""

from .errors import LawInputError
from .forms import LAWS, Form, get_form

__all__ = ["LAWS", "Fit", "Form", "LawInputError", "fit_law", "get_form", "load_fit"]

_FIT_NAMES = {"Fit", "fit_law", "load_fit"}


def __getattr__(name):
    if name in _FIT_NAMES:
        from . import fit

        return getattr(fit, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
