"""Keep 2:4 masks exact through post-training under every ZeRO stage.

Two mechanisms, both local to each rank (no collectives, so they cost nothing per step):

- A gradient hook zeroes the gradient of every pruned entry before DeepSpeed reduces it, so
  gradient clipping and the Adam moments see the sparse model only, and a pruned weight
  receives an update of exactly zero (AdamW with zero gradient and zero weight stays zero).
- After each optimizer step the masks are re-applied to the fp32 master copy the optimizer
  updates (ZeRO-1/2 and the bf16 optimizer keep it in flat partitions; ZeRO-3 in per-rank
  partitions) and to the weights the forward pass uses (ZeRO-3: each rank's partition of
  them, and the full copy of parameters that stay gathered between steps). Zeroing only `module.weight` would be
  undone at the next step, because ZeRO rebuilds the module weights from the fp32 masters.

`full_fp32_state_dict` reads the post-trained weights back from those masters.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from deepspeed.utils import (
    safe_get_full_fp32_param,
    safe_get_local_fp32_param,
    safe_set_local_fp32_param,
)

Pair = tuple[torch.nn.Parameter, torch.Tensor]


def masked_parameters(model: torch.nn.Module, masks: dict[str, torch.Tensor]) -> list[Pair]:
    params = dict(model.named_parameters())
    missing = sorted(set(masks) - set(params))
    if missing:
        raise KeyError(f"masks name parameters the model does not have: {missing[:3]}")
    pairs = []
    for name, mask in masks.items():
        shape = tuple(getattr(params[name], "ds_shape", params[name].shape))
        if tuple(mask.shape) != shape:
            raise ValueError(f"mask {name} has shape {tuple(mask.shape)}, parameter {shape}")
        pairs.append((params[name], mask.bool()))
    return pairs


def mask_gradients(pairs: list[Pair]) -> list:
    """Register hooks that zero pruned entries of each gradient; returns the handles."""
    handles = []
    for param, mask in pairs:
        keep = mask.to(param.device)

        def hook(grad, keep=keep):
            return grad * keep.to(grad.dtype)

        handles.append(param.register_hook(hook))
    return handles


def _zero3_local(param, mask: torch.Tensor, numel: int, dtype, device) -> torch.Tensor:
    """The slice of the flattened mask that this rank's ZeRO-3 partition holds (pad kept)."""
    size = param.ds_tensor.ds_numel
    rank = dist.get_rank(group=param.ds_process_group)
    local = torch.ones(size, dtype=dtype, device=device)
    flat = mask.reshape(-1)
    start = rank * size
    n = max(0, min(size, flat.numel() - start))
    if n:
        local[:n] = flat[start : start + n].to(device, dtype)
    return local[:numel]


@torch.no_grad()
def apply_masks(pairs: list[Pair]) -> None:
    """Zero pruned entries of the fp32 masters and of the module weights, on this rank only."""
    for param, mask in pairs:
        if hasattr(param, "ds_id"):  # ZeRO-3: each rank holds a partition of both copies
            master = safe_get_local_fp32_param(param)
            if master is not None:
                local = _zero3_local(param, mask, master.numel(), master.dtype, master.device)
                safe_set_local_fp32_param(param, master.reshape(-1) * local)
            lp = param.ds_tensor
            lp.data.mul_(_zero3_local(param, mask, lp.numel(), lp.dtype, lp.device).view_as(lp))
            if param.data.numel() == mask.numel():
                # Gathered in full: persistent small parameters (below
                # stage3_param_persistence_threshold) stay gathered between steps, and the
                # step re-gathered them before this call, so the forward pass uses this copy.
                param.data.mul_(mask.to(param.device, param.dtype).view_as(param.data))
            continue
        mapping = getattr(param, "_hp_mapping", None)  # ZeRO-1/2, bf16 optimizer
        if mapping is not None:
            address = mapping.lp_fragment_address
            fragment = mapping.get_hp_fragment()
            keep = mask.reshape(-1).narrow(0, address.start, address.numel)
            fragment.data.mul_(keep.to(fragment.device, fragment.dtype).view_as(fragment))
        param.data.mul_(mask.to(param.device, param.dtype))


def full_fp32_state_dict(module: torch.nn.Module, rank: int) -> dict[str, torch.Tensor]:
    """Full fp32 weights, from the optimizer's masters where ZeRO or bf16 keeps them.

    Collective under ZeRO: every rank must call it; only rank 0 gets the tensors.
    """
    state = {}
    for name, param in module.named_parameters():
        full = safe_get_full_fp32_param(param)
        if full is None:  # no separate master (ZeRO-0 in fp32): the module weight is it
            full = param.detach().float()
        if rank == 0:
            state[name] = full.detach().cpu().clone().contiguous()
    return state
