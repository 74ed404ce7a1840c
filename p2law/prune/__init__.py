"""Pruning library: depth, width and 2:4 semi-structured pruning of Llama and Qwen2 models.

`check_rate` validates a request from the config alone (so a workflow can fail before loading
weights or writing anything); `prune_model` re-runs the same check and then prunes.
ρ is counted over total parameters, tied embeddings once (paper-spec §9).

Importing this package loads no torch: the config check at every workflow start imports
`p2law.prune.plan`, which runs this file first. The names that need torch are imported from
their modules on first use (PEP 562).
"""

from __future__ import annotations

import importlib

from p2law.prune.plan import PruneError, check_rate

_TORCH_NAMES = {  # name -> the module defining it
    "PruneResult": "p2law.prune.apply",
    "prune_model": "p2law.prune.apply",
    "save_masks": "p2law.prune.sparse",
    "load_masks": "p2law.prune.sparse",
    "assert_24": "p2law.prune.sparse",
    "block_influence": "p2law.prune.depth",
}

__all__ = ["PruneError", "check_rate", *_TORCH_NAMES]


def __getattr__(name: str):
    if name in _TORCH_NAMES:
        return getattr(importlib.import_module(_TORCH_NAMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
