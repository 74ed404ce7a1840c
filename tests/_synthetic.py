"""One synthetic L1 table and a small start grid shared by the figure and analysis tests."""

import numpy as np

from p2law.law.synthetic import make_table

GRID = {"alpha": [0.5], "beta": [0.5, 1.0], "gamma": [-1.0, 0.0], "delta": [0.0, 0.5],
        "N_C": [0.3], "D_C": [0.3], "E": [0.0]}
FIT_KW = {"grid": GRID, "min_tokens": 1e4, "seed": 0, "bootstrap": 6}


def synthetic_table():
    tokens = np.r_[0.0, np.logspace(4, 6, 8)]
    return make_table(rhos=(0.1, 0.2, 0.3), tokens=tokens, noise=0.002, curve_noise=0.002, seed=3)
