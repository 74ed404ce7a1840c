"""Eval loss of a causal LM on a fixed token set: the one measure behind L0, L(D=0) and L(D)."""

from __future__ import annotations

import math

import numpy as np
import torch


class NonFiniteLossError(RuntimeError):
    """A loss that is NaN or infinite: the run is broken and must not produce a result."""


@torch.no_grad()
def eval_loss(model: torch.nn.Module, eval_ids: np.ndarray, batch_size: int = 32) -> float:
    """Mean next-token cross-entropy (nats) over every predicted token of `eval_ids` [n, T].

    Every sequence has the same length, so the mean of per-batch means weighted by batch
    size is the exact per-token mean; the same ids give the same number on every call.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    total, count = 0.0, 0
    for start in range(0, len(eval_ids), batch_size):
        batch = torch.as_tensor(eval_ids[start : start + batch_size], device=device)
        out = model(input_ids=batch, labels=batch)
        total += float(out.loss) * batch.shape[0]
        count += batch.shape[0]
    if was_training:
        model.train()
    loss = total / count
    if not math.isfinite(loss):
        raise NonFiniteLossError(f"eval loss is {loss}")
    return loss
