"""Calibration passes shared by the pruners.

Two ways to look at a model on calibration data:
- `residual_stream`: one full forward per batch, with hooks on every decoder layer, giving the
  hidden states h_0..h_L *before* the final norm (HF's `output_hidden_states` normalises the
  last entry, which would bias the last layer's Block Influence).
- `capture_layer_inputs` + `run_layer`: the "Catcher" pattern for sequential layer-by-layer
  pruning (Wanda, SparseGPT). transformers 5 hands decoder layers `position_embeddings`,
  `position_ids`, masks and more as kwargs, so every kwarg is captured, not a fixed list.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn


class _StopForward(Exception):
    """Raised from a hook to skip the rest of the model once layer 0's inputs are captured."""


def decoder_layers(model: nn.Module) -> nn.ModuleList:
    return model.model.layers


def batches(calib_ids: torch.Tensor, batch_size: int) -> Iterator[torch.Tensor]:
    for start in range(0, calib_ids.shape[0], batch_size):
        yield calib_ids[start : start + batch_size]


def _output_tensor(output):
    # transformers 5 decoder layers return a tensor; older ones returned a tuple.
    return output[0] if isinstance(output, tuple) else output


@torch.no_grad()
def residual_stream(model: nn.Module, ids: torch.Tensor) -> list[torch.Tensor]:
    """[h_0, ..., h_L] for one batch: the input of layer 0, then each layer's output (pre-norm)."""
    layers = decoder_layers(model)
    states: list[torch.Tensor | None] = [None] * (len(layers) + 1)

    def grab_input(module, args, kwargs):
        states[0] = args[0] if args else kwargs["hidden_states"]

    def grab_output(index):
        def hook(module, args, output):
            states[index + 1] = _output_tensor(output)

        return hook

    handles = [layers[0].register_forward_pre_hook(grab_input, with_kwargs=True)]
    handles += [layer.register_forward_hook(grab_output(i)) for i, layer in enumerate(layers)]
    try:
        model.model(input_ids=ids, use_cache=False)
    finally:
        for handle in handles:
            handle.remove()
    return states


@torch.no_grad()
def capture_layer_inputs(
    model: nn.Module, calib_ids: torch.Tensor, batch_size: int
) -> list[tuple[torch.Tensor, dict]]:
    """(hidden_states, all kwargs) that layer 0 receives, one entry per calibration batch."""
    captured: list[tuple[torch.Tensor, dict]] = []

    def catch(module, args, kwargs):
        kwargs = dict(kwargs)
        hidden = args[0] if args else kwargs.pop("hidden_states")
        captured.append((hidden, kwargs))
        raise _StopForward

    handle = decoder_layers(model)[0].register_forward_pre_hook(catch, with_kwargs=True)
    try:
        for ids in batches(calib_ids, batch_size):
            try:
                model.model(input_ids=ids, use_cache=False)
            except _StopForward:
                pass
    finally:
        handle.remove()
    return captured


@torch.no_grad()
def run_layer(layer: nn.Module, hidden: torch.Tensor, kwargs: dict) -> torch.Tensor:
    return _output_tensor(layer(hidden, **kwargs))
