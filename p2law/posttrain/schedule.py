"""When to evaluate and how fast to learn during post-training.

A constant LR after a short warm-up makes the loss at token count D along one run stand for
"post-trained on D tokens"; the warm-up must end before the first eval point, or it
swallows the early, steep part of the curve (paper-spec §10.3-10.4).
"""

from __future__ import annotations

import numpy as np


def log_spaced_tokens(first: int, last: int, points: int) -> list[int]:
    """`points` token counts from `first` to `last`, evenly spaced in log D."""
    if not 0 < first < last:
        raise ValueError(f"eval token range must satisfy 0 < first < last, got {first}, {last}")
    if points < 2:
        raise ValueError(f"need at least 2 eval points, got {points}")
    return [int(round(x)) for x in np.geomspace(first, last, points)]


def eval_steps(eval_tokens: list[int], tokens_per_step: int) -> list[int]:
    """Optimizer steps at which to evaluate: each requested D rounded to a whole step.

    The tables record the exact tokens seen (step x tokens_per_step), never the request.
    """
    steps = sorted({max(1, round(d / tokens_per_step)) for d in eval_tokens})
    if len(steps) < len(eval_tokens):
        raise ValueError(
            f"eval points {eval_tokens} collapse to {len(steps)} distinct steps at "
            f"{tokens_per_step} tokens per step: use a smaller batch or wider spacing"
        )
    return steps


def warmup_then_constant(warmup_steps: int):
    """LR multiplier: linear warm-up over `warmup_steps`, then 1."""
    return lambda step: min(1.0, (step + 1) / max(1, warmup_steps))
