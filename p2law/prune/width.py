"""Width pruning (Minitron style): score heads and channels, slice every layer to the plan.

Attention heads are pruned as GQA structure allows: keep `groups` KV heads and `heads_per_group`
query heads in each kept group; MLP keeps `channels` intermediate channels. Widths are uniform
across layers (an HF config holds one size; `p2law.prune.plan.plan_width` picks them) but each
layer keeps its own most important units.
"""

from __future__ import annotations

import torch
from torch import nn

from p2law.prune.calibration import batches, decoder_layers
from p2law.prune.plan import head_dim


@torch.no_grad()
def activation_scores(model, calib_ids, batch_size: int):
    """Per layer: query-head and MLP-channel importance from calibration activations.

    Minitron-style: a head's score is the L2 norm of its attention output (input of o_proj), a
    channel's the magnitude of its activation (input of down_proj); mean over the sequence, then
    L2 over the calibration sequences.
    """
    config, layers = model.config, decoder_layers(model)
    hd = head_dim(config)
    head_sq = [torch.zeros(config.num_attention_heads, dtype=torch.float64) for _ in layers]
    chan_sq = [torch.zeros(config.intermediate_size, dtype=torch.float64) for _ in layers]

    def on_heads(i):
        def hook(module, args):
            x = args[0]
            per_head = x.unflatten(-1, (-1, hd)).norm(dim=-1).mean(dim=1)  # [batch, heads]
            head_sq[i] += per_head.double().pow(2).sum(0)
        return hook

    def on_channels(i):
        def hook(module, args):
            chan_sq[i] += args[0].abs().mean(dim=1).double().pow(2).sum(0)  # [intermediate]
        return hook

    handles = []
    for i, layer in enumerate(layers):
        handles.append(layer.self_attn.o_proj.register_forward_pre_hook(on_heads(i)))
        handles.append(layer.mlp.down_proj.register_forward_pre_hook(on_channels(i)))
    try:
        for ids in batches(calib_ids, batch_size):
            model.model(input_ids=ids, use_cache=False)
    finally:
        for handle in handles:
            handle.remove()
    return [h.sqrt() for h in head_sq], [c.sqrt() for c in chan_sq]


def _sliced(linear: nn.Linear, rows=None, cols=None) -> nn.Linear:
    weight = linear.weight.data
    weight = weight if rows is None else weight[rows]
    weight = weight if cols is None else weight[:, cols]
    bias = linear.bias
    new = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None,
                    device=weight.device, dtype=weight.dtype)
    new.weight.data.copy_(weight)
    if bias is not None:
        new.bias.data.copy_(bias.data if rows is None else bias.data[rows])
    return new


def _head_rows(heads: list[int], hd: int) -> torch.Tensor:
    return torch.tensor([h * hd + d for h in heads for d in range(hd)], dtype=torch.long)


def apply_width(model, kept_groups: list[list[int]], kept_heads: list[list[int]],
                kept_channels: list[list[int]]):
    """Slice every layer to the given kept KV groups, query heads and channels; fix the config.

    Query heads are listed group by group (head h belongs to KV group h // heads_per_group), so
    the kept heads still map onto the kept KV heads in order.
    """
    config = model.config
    hd = head_dim(config)
    n_groups, n_heads, n_channels = len(kept_groups[0]), len(kept_heads[0]), len(kept_channels[0])
    per_layer = zip(decoder_layers(model), kept_groups, kept_heads, kept_channels, strict=True)
    for layer, groups, heads, channels in per_layer:
        attn, mlp = layer.self_attn, layer.mlp
        q_rows, kv_rows = _head_rows(heads, hd), _head_rows(groups, hd)
        attn.q_proj = _sliced(attn.q_proj, rows=q_rows)
        attn.k_proj = _sliced(attn.k_proj, rows=kv_rows)
        attn.v_proj = _sliced(attn.v_proj, rows=kv_rows)
        attn.o_proj = _sliced(attn.o_proj, cols=q_rows)
        attn.num_key_value_groups = n_heads // n_groups
        index = torch.tensor(channels, dtype=torch.long)
        mlp.gate_proj = _sliced(mlp.gate_proj, rows=index)
        mlp.up_proj = _sliced(mlp.up_proj, rows=index)
        mlp.down_proj = _sliced(mlp.down_proj, cols=index)
        mlp.intermediate_size = n_channels
    config.head_dim = hd  # explicit, or a reload would derive hidden_size // num_attention_heads
    config.num_attention_heads = n_heads
    config.num_key_value_heads = n_groups
    config.intermediate_size = n_channels
    return model


def prune_width(model, plan: dict, calib_ids, batch_size: int = 8):
    """Keep the most important units per layer at the planned uniform widths."""
    config = model.config
    ratio = config.num_attention_heads // config.num_key_value_heads
    g, r, m = plan["groups"], plan["heads_per_group"], plan["channels"]
    head_scores, chan_scores = activation_scores(model, calib_ids, batch_size)
    kept_groups, kept_heads, kept_channels = [], [], []
    for heads, chans in zip(head_scores, chan_scores):
        by_group = heads.view(-1, ratio)
        groups = sorted(by_group.sum(1).topk(g).indices.tolist())
        kept_groups.append(groups)
        best_in_group = {grp: sorted(by_group[grp].topk(r).indices.tolist()) for grp in groups}
        kept_heads.append([grp * ratio + j for grp in groups for j in best_in_group[grp]])
        kept_channels.append(sorted(chans.topk(m).indices.tolist()))
    apply_width(model, kept_groups, kept_heads, kept_channels)
    details = {
        "kept_kv_groups": g,
        "kept_heads": g * r,
        "kept_channels": m,
        "kept_kv_group_indices": kept_groups,
        "kept_head_indices": kept_heads,
        "kept_channel_indices": kept_channels,
        "head_scores": [h.tolist() for h in head_scores],
    }
    return model, details
