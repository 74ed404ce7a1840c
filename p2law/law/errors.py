"""Errors raised by the law-fitting library.

One exception type so the CLI can turn every input problem into a one-line message and a
nonzero exit instead of a traceback.
"""


class LawInputError(ValueError):
    """Bad input to a fit: names the row and/or column and says why."""
