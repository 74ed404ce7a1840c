"""Law fitting for p2law: the P² law L1, competing forms, metrics, uncertainty, splits, budget.

    from p2law.law import fit_law, load_fit, LAWS
"""

from .errors import LawInputError
from .fit import Fit, fit_law, load_fit
from .forms import LAWS, Form, get_form

__all__ = ["LAWS", "Fit", "Form", "LawInputError", "fit_law", "get_form", "load_fit"]
