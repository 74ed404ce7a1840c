"""2:4 semi-structured sparsity with explicit masks (CPU has no semi-structured sparse kernels).

In every output row, each group of 4 consecutive input columns keeps exactly 2 weights.
Criteria: Wanda (|W_ij| * ||X_j||_2), SparseGPT (blockwise OBS with weight updates) and
magnitude (|W_ij|). Wanda and SparseGPT run layer by layer: each layer's calibration inputs come
from the already-pruned layers before it, as in both papers.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from p2law.prune.calibration import capture_layer_inputs, decoder_layers, run_layer

LINEARS = (
    "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
    "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj",
)
MASKS_FILE = "masks.safetensors"


def mask_24(score: torch.Tensor) -> torch.Tensor:
    """Keep-mask: the 2 highest scores of every 4 consecutive input columns, per output row."""
    out_features, in_features = score.shape
    groups = score.reshape(out_features, in_features // 4, 4)
    keep = torch.zeros_like(groups, dtype=torch.bool)
    keep.scatter_(-1, groups.topk(2, dim=-1).indices, True)
    return keep.reshape(out_features, in_features)


def _linears(layer):
    return {name: layer.get_submodule(name) for name in LINEARS}


@torch.no_grad()
def sparsegpt_24(weight: torch.Tensor, hessian: torch.Tensor, blocksize: int = 128,
                 percdamp: float = 0.01) -> tuple[torch.Tensor, torch.Tensor]:
    """SparseGPT (Frantar & Alistarh 2023) with a 2:4 pattern; returns (new weight, keep-mask).

    Works in float64 on CPU: the Hessian of tiny calibration sets is badly conditioned.
    """
    W = weight.double().clone()
    H = hessian.double().clone()
    cols = W.shape[1]
    dead = torch.diag(H) == 0  # inputs that never fire: nothing to preserve there
    H[dead, dead] = 1
    W[:, dead] = 0
    H += percdamp * torch.diag(H).mean() * torch.eye(cols, dtype=H.dtype)
    # upper Cholesky factor of H^-1: its row i is the OBS update direction for column i once
    # columns < i are fixed
    Hinv = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(H)), upper=True)
    keep = torch.ones_like(W, dtype=torch.bool)
    for start in range(0, cols, blocksize):
        end = min(start + blocksize, cols)
        W1, Hinv1 = W[:, start:end].clone(), Hinv[start:end, start:end]
        errors = torch.zeros_like(W1)
        for i in range(end - start):
            if i % 4 == 0:  # choose the group's mask with the OBS saliency w^2 / [H^-1]_jj^2
                saliency = W1[:, i : i + 4] ** 2 / torch.diag(Hinv1)[i : i + 4] ** 2
                keep[:, start + i : start + i + 4] = mask_24(saliency)
            w = W1[:, i]
            q = torch.where(keep[:, start + i], w, torch.zeros_like(w))
            err = (w - q) / Hinv1[i, i]
            W1[:, i:] -= err.unsqueeze(1) * Hinv1[i, i:].unsqueeze(0)  # compensate on later columns
            W1[:, i] = q
            errors[:, i] = err
        W[:, start:end] = W1
        W[:, end:] -= errors @ Hinv[start:end, end:]
    return (W * keep).to(weight.dtype), keep


@torch.no_grad()
def prune_sparse24(model, calib_ids, criterion: str, batch_size: int = 8) -> dict:
    """Apply 2:4 masks to q,k,v,o,gate,up,down of every layer; return {param name: keep-mask}."""
    layers = decoder_layers(model)
    prefix = {id(module): name for name, module in model.named_modules()}
    masks = {}
    inputs = None
    if criterion != "magnitude":
        inputs = capture_layer_inputs(model, calib_ids, batch_size)
    for layer in layers:
        linears = _linears(layer)
        stats = {}
        if inputs is not None:
            stats = _input_statistics(layer, linears, inputs, criterion)
        for name, linear in linears.items():
            W = linear.weight.data
            if criterion == "magnitude":
                keep = mask_24(W.abs())
            elif criterion == "wanda":
                keep = mask_24(W.abs() * stats[name].sqrt().to(W.dtype))
            else:
                new, keep = sparsegpt_24(W, stats[name])
                W.copy_(new)
            W.mul_(keep)
            masks[f"{prefix[id(layer)]}.{name}.weight"] = keep
        if inputs is not None:  # the next layer sees this layer's pruned outputs
            inputs = [(run_layer(layer, hidden, kwargs), kwargs) for hidden, kwargs in inputs]
    return masks


def _input_statistics(layer, linears, inputs, criterion):
    """Per linear: sum over tokens of x_j^2 (Wanda) or of x x^T (SparseGPT's Hessian)."""
    stats = {}

    def hook(name):
        def accumulate(module, args):
            x = args[0].reshape(-1, args[0].shape[-1]).double()
            update = x.pow(2).sum(0) if criterion == "wanda" else x.T @ x
            stats[name] = stats.get(name, 0) + update
        return accumulate

    handles = [linear.register_forward_pre_hook(hook(name)) for name, linear in linears.items()]
    try:
        for hidden, kwargs in inputs:
            run_layer(layer, hidden, kwargs)
    finally:
        for handle in handles:
            handle.remove()
    return stats


def save_masks(masks: dict[str, torch.Tensor], directory: str | Path) -> Path:
    path = Path(directory) / MASKS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in masks.items()}, str(path))
    return path


def load_masks(directory: str | Path) -> dict[str, torch.Tensor]:
    return load_file(str(Path(directory) / MASKS_FILE))


def assert_24(model, masks: dict[str, torch.Tensor]) -> None:
    """Raise AssertionError unless every mask is 2:4 along the input dim and the weights obey it."""
    if not masks:
        raise AssertionError("no 2:4 masks given")
    params = dict(model.named_parameters())
    for name, keep in masks.items():
        if name not in params:
            raise AssertionError(f"mask {name} matches no parameter of the model")
        weight = params[name]
        if keep.shape != weight.shape or keep.dtype != torch.bool or keep.shape[1] % 4:
            raise AssertionError(f"mask {name}: {tuple(keep.shape)} {keep.dtype} does not fit "
                                 f"weight {tuple(weight.shape)} (bool, input width a multiple of 4)")
        per_group = keep.reshape(keep.shape[0], -1, 4).sum(-1)
        if not bool((per_group == 2).all()):
            raise AssertionError(f"mask {name} is not 2:4 along the input dimension")
        if bool((weight.detach()[~keep.to(weight.device)] != 0).any()):
            raise AssertionError(f"weight {name} is nonzero where its 2:4 mask is False")
