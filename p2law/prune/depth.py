"""Depth pruning: remove whole decoder layers.

Criteria: ShortGPT Block Influence (drop the lowest-BI layers, not necessarily adjacent) or an
LLM-Streamline-style contiguous block (the n consecutive layers whose input and output are most
similar; the paper's replacement layer is not trained).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from p2law.prune.calibration import batches, decoder_layers, residual_stream


def _mean_token_cosine(model, calib_ids, pairs, batch_size) -> list[float]:
    """Mean over all calibration tokens of cos(h_a, h_b) for each (a, b) in `pairs`."""
    sums = torch.zeros(len(pairs), dtype=torch.float64)
    tokens = 0
    for ids in batches(calib_ids, batch_size):
        states = residual_stream(model, ids)
        for k, (a, b) in enumerate(pairs):
            # per-token cosine (ShortGPT's reference builds a T x T matrix; we need the diagonal)
            sums[k] += F.cosine_similarity(states[a].double(), states[b].double(), dim=-1).sum()
        tokens += ids.numel()
    return (sums / tokens).tolist()


def block_influence(model, calib_ids: torch.Tensor, batch_size: int = 8) -> list[float]:
    """BI_i = 1 - mean_tokens cos(h_i, h_{i+1}) on the residual stream before the final norm."""
    n_layers = len(decoder_layers(model))
    pairs = [(i, i + 1) for i in range(n_layers)]
    cosines = _mean_token_cosine(model, calib_ids, pairs, batch_size)
    return [1.0 - c for c in cosines]


def block_similarity(model, calib_ids: torch.Tensor, n: int, batch_size: int = 8) -> list[float]:
    """cos(h_i, h_{i+n}) for every start i: how little the block of layers i..i+n-1 changes."""
    n_layers = len(decoder_layers(model))
    pairs = [(i, i + n) for i in range(n_layers - n + 1)]
    return _mean_token_cosine(model, calib_ids, pairs, batch_size)


def remove_layers(model, removed: list[int]):
    """Delete decoder layers in place and make config and layer indices consistent again."""
    config = model.config
    keep = [i for i in range(len(decoder_layers(model))) if i not in set(removed)]
    old = decoder_layers(model)
    model.model.layers = nn.ModuleList([old[i] for i in keep])
    for new_index, layer in enumerate(model.model.layers):
        layer.self_attn.layer_idx = new_index  # the KV cache is indexed by it
    config.num_hidden_layers = len(keep)
    if getattr(config, "layer_types", None) is not None:
        # Qwen2 reads layer_types[i] for layer i; keep each survivor's own type
        config.layer_types = [config.layer_types[i] for i in keep]
    return model


def prune_depth(model, n_remove: int, calib_ids, criterion: str, batch_size: int = 8):
    """Remove `n_remove` layers chosen by `criterion`; returns (model, method details)."""
    if criterion == "bi":
        scores = block_influence(model, calib_ids, batch_size)
        removed = sorted(sorted(range(len(scores)), key=lambda i: scores[i])[:n_remove])
        details = {"scores": scores, "score": "block_influence"}
    elif criterion == "contiguous":
        scores = block_similarity(model, calib_ids, n_remove, batch_size)
        start = max(range(len(scores)), key=lambda i: scores[i])
        removed = list(range(start, start + n_remove))
        details = {"scores": scores, "score": f"cos(h_i, h_i+{n_remove})"}
    else:
        raise ValueError(f"unknown depth criterion {criterion!r}")
    remove_layers(model, removed)
    return model, {"removed_layers": removed, **details}
