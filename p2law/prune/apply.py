"""Prune a model: re-check the request against its config, apply the method, report ρ."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch

from p2law.models import count_parameters
from p2law.prune.depth import prune_depth
from p2law.prune.plan import PruneError, check_rate, model_params, name_of
from p2law.prune.sparse import prune_sparse24
from p2law.prune.width import prune_width


@dataclass
class PruneResult:
    model: torch.nn.Module
    masks: dict[str, torch.Tensor] = field(default_factory=dict)
    info: dict = field(default_factory=dict)


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
    name = model_name or name_of(config)
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
