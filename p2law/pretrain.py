"""Pretrain a small base model to convergence (embedded profile only).

The law describes pruned models whose base was trained far beyond the post-training
budget on the same kind of data. An under-trained base keeps *pretraining* during
post-training and falls below L0, and the law then says nothing (paper-spec §10.4).
So: several epochs over a corpus that contains the post-training data, a cosine LR
that decays to a small floor, and early stopping on a held-out split that keeps the
best weights.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from p2law.evaluate import NonFiniteLossError, eval_loss


@dataclass(frozen=True)
class PretrainSettings:
    epochs: float  # upper bound; early stopping may end sooner
    batch_size: int
    lr: float
    min_lr_fraction: float  # cosine floor, as a fraction of lr
    warmup_steps: int
    weight_decay: float
    eval_every: int  # optimizer steps between held-out evaluations
    patience: int  # evaluations without improvement before stopping
    seed: int
    # Epochs of cosine decay from lr to the floor; training then goes on at the floor until
    # held-out loss stops improving (or `epochs` run out). None: decay over all `epochs`.
    decay_epochs: float | None = None


def cosine_lr(step: int, decay_steps: int, s: PretrainSettings) -> float:
    """Linear warm-up, cosine from lr to the floor over `decay_steps`, then the floor."""
    if step < s.warmup_steps:
        return s.lr * (step + 1) / s.warmup_steps
    progress = min(1.0, (step - s.warmup_steps) / max(1, decay_steps - s.warmup_steps))
    floor = s.lr * s.min_lr_fraction
    return floor + 0.5 * (s.lr - floor) * (1 + math.cos(math.pi * progress))


def pretrain(
    model: torch.nn.Module,
    train_ids: np.ndarray,
    valid_ids: np.ndarray,
    s: PretrainSettings,
    log=print,
) -> dict:
    """Train in place; on return the model holds the weights with the best held-out loss."""
    generator = np.random.default_rng(s.seed)
    torch.manual_seed(s.seed)
    steps_per_epoch = len(train_ids) // s.batch_size
    total_steps = int(s.epochs * steps_per_epoch)
    decay_steps = total_steps if s.decay_epochs is None else int(s.decay_epochs * steps_per_epoch)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=s.lr, betas=(0.9, 0.95), weight_decay=s.weight_decay
    )
    best = {"loss": eval_loss(model, valid_ids), "step": 0}
    best_state = copy.deepcopy(model.state_dict())
    stale, step, tokens, start = 0, 0, 0, time.time()
    model.train()
    while step < total_steps and stale < s.patience:
        order = generator.permutation(len(train_ids))
        for first in range(0, steps_per_epoch * s.batch_size, s.batch_size):
            if step >= total_steps or stale >= s.patience:
                break
            lr = cosine_lr(step, decay_steps, s)
            for group in optimizer.param_groups:
                group["lr"] = lr
            batch = torch.as_tensor(train_ids[order[first : first + s.batch_size]])
            loss = model(input_ids=batch, labels=batch).loss
            if not torch.isfinite(loss):
                raise NonFiniteLossError(f"pretraining loss is {float(loss)} at step {step}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            step += 1
            tokens += batch.numel()
            if step % s.eval_every == 0 or step == total_steps:
                valid = eval_loss(model, valid_ids)
                if valid < best["loss"] - 1e-4:
                    best, stale = {"loss": valid, "step": step}, 0
                    best_state = copy.deepcopy(model.state_dict())
                else:
                    stale += 1
                elapsed = time.time() - start
                log(
                    f"step {step}/{total_steps} epoch {step / steps_per_epoch:.2f} "
                    f"tokens {tokens} train {loss.item():.4f} valid {valid:.4f} "
                    f"lr {lr:.2e} {tokens / elapsed:.0f} tok/s "
                    f"eta {elapsed / step * (total_steps - step):.0f}s"
                )
    model.load_state_dict(best_state)
    model.eval()
    return {
        "steps": step,
        "tokens": tokens,
        "best_step": best["step"],
        "best_valid_loss": best["loss"],
        "final_lr": cosine_lr(best["step"], decay_steps, s),
        "stopped_early": stale >= s.patience,
        "wall_s": time.time() - start,
    }
