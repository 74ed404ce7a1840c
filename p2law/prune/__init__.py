"""Pruning library: depth, width and 2:4 semi-structured pruning of Llama and Qwen2 models.

`check_rate` validates a request from the config alone (so a workflow can fail before loading
weights or writing anything); `prune_model` re-runs the same check and then prunes.
ρ is counted over total parameters, tied embeddings once (paper-spec §9).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch

from p2law.models import MODEL_TYPES, count_parameters
from p2law.prune.depth import block_influence, plan_depth, prune_depth
from p2law.prune.sparse import assert_24, load_masks, plan_sparse24, prune_sparse24, save_masks
from p2law.prune.width import model_params, plan_width, prune_width

__all__ = [
    "PruneError",
    "PruneResult",
    "check_rate",
    "prune_model",
    "save_masks",
    "load_masks",
    "assert_24",
    "block_influence",
]

CRITERIA = {
    "depth": ("bi", "contiguous"),
    "width": ("activation",),
    "sparse24": ("wanda", "sparsegpt", "magnitude"),
}


class PruneError(ValueError):
    """A pruning request that cannot be met; raised before any work is done."""


@dataclass
class PruneResult:
    model: torch.nn.Module
    masks: dict[str, torch.Tensor] = field(default_factory=dict)
    info: dict = field(default_factory=dict)


def _model_name(config) -> str:
    return getattr(config, "_name_or_path", "") or getattr(config, "model_type", "model")


def check_rate(config, method: str, rate: float, criterion: str | None = None,
               model_name: str | None = None) -> dict:
    """Validate a request; return the plan (what will be removed) or raise PruneError."""
    name = model_name or _model_name(config)
    model_type = getattr(config, "model_type", None)
    if model_type not in MODEL_TYPES:
        raise PruneError(f"{name}: model type {model_type!r} is not supported; "
                         f"the pruner handles {sorted(MODEL_TYPES)}")
    if method not in CRITERIA:
        raise PruneError(f"{name}: unknown pruning method {method!r}; "
                         f"choose one of {sorted(CRITERIA)}")
    criterion = criterion or CRITERIA[method][0]
    if criterion not in CRITERIA[method]:
        raise PruneError(f"{name}: unknown {method} criterion {criterion!r}; "
                         f"choose one of {list(CRITERIA[method])}")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate < 1:
        raise PruneError(f"{name}: pruning rate must be a number in (0, 1), got {rate!r}")
    planners = {"depth": plan_depth, "width": plan_width, "sparse24": plan_sparse24}
    return {"criterion": criterion, **planners[method](config, rate, name, PruneError)}


def _validate_calib(calib_ids, config, name: str) -> None:
    if (not isinstance(calib_ids, torch.Tensor) or calib_ids.dtype != torch.long
            or calib_ids.dim() != 2 or calib_ids.numel() == 0):
        raise PruneError(f"{name}: calib_ids must be a non-empty LongTensor [n_seq, seq_len]")
    if int(calib_ids.min()) < 0 or int(calib_ids.max()) >= config.vocab_size:
        raise PruneError(f"{name}: calib_ids hold token ids outside [0, {config.vocab_size})")


def _own_config(model) -> None:
    """Give the model a private config: HF modules share the caller's config object, and
    pruning rewrites it (layer count, widths), which must not leak into other models."""
    old, new = model.config, copy.deepcopy(model.config)
    for module in model.modules():
        if getattr(module, "config", None) is old:
            module.config = new


def prune_model(model, method: str, rate: float, calib_ids, criterion: str | None = None, *,
                model_name: str | None = None, batch_size: int = 8) -> PruneResult:
    """Prune `model` (modified in place) and describe what was done in a JSON-ready dict."""
    config = model.config
    name = model_name or _model_name(config)
    plan = check_rate(config, method, rate, criterion, name)
    criterion = plan["criterion"]
    needs_calibration = not (method == "sparse24" and criterion == "magnitude")
    if needs_calibration:
        _validate_calib(calib_ids, config, name)
    counts = count_parameters(model)
    n0, n0_nonemb = counts["total"], counts["nonemb"]
    expected = model_params(config)["total"]
    if n0 != expected:
        raise PruneError(f"{name}: parameter layout differs from a plain {config.model_type} model "
                         f"(N0 {n0}, expected {expected}); not supported")

    _own_config(model)
    model.eval()
    masks: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        if method == "depth":
            model, details = prune_depth(model, plan["n_remove"], calib_ids, criterion, batch_size)
        elif method == "width":
            model, details = prune_width(model, plan, calib_ids, batch_size)
        else:
            masks = prune_sparse24(model, calib_ids, criterion, batch_size)
            details = {}

    if method == "sparse24":
        removed = sum(int((~m).sum()) for m in masks.values())
        rho_flat = 0.5
    else:
        removed = n0 - count_parameters(model)["total"]
        rho_flat = removed / n0
    info = {
        "model": name,
        "method": method,
        "criterion": criterion,
        "rate_requested": float(rate),
        "rho": removed / n0,
        "rho_nonemb": removed / n0_nonemb,
        "rho_flat": rho_flat,
        "n0": n0,
        "n0_nonemb": n0_nonemb,
        "params_kept": n0 - removed,
        **details,
    }
    return PruneResult(model=model, masks=masks, info=info)
