"""Width pruning (Minitron style) and the analytic parameter counts all pruners plan with.

Attention heads are pruned as GQA structure allows: keep `groups` KV heads and `heads_per_group`
query heads in each kept group; MLP keeps `channels` intermediate channels. Widths are uniform
across layers (an HF config holds one size) but each layer keeps its own most important units.
"""

from __future__ import annotations

import torch
from torch import nn

from p2law.models import family_of
from p2law.prune.calibration import batches, decoder_layers


# ---------------------------------------------------------------- analytic parameter counts
def head_dim(config) -> int:
    return getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads


def _biases(config) -> tuple[bool, bool, bool]:
    """(q/k/v bias, o bias, mlp bias) per family: Qwen2 hard-codes q/k/v biases."""
    if family_of(config) == "qwen2":
        return True, False, False
    attention_bias = bool(getattr(config, "attention_bias", False))
    return attention_bias, attention_bias, bool(getattr(config, "mlp_bias", False))


def layer_params(config, heads: int, kv_heads: int, channels: int) -> int:
    """Parameters of one decoder layer at the given widths (norms and biases included)."""
    hidden, hd = config.hidden_size, head_dim(config)
    qkv_bias, o_bias, mlp_bias = _biases(config)
    q_out, kv_out = heads * hd, kv_heads * hd
    attention = hidden * (q_out + 2 * kv_out) + q_out * hidden
    attention += qkv_bias * (q_out + 2 * kv_out) + o_bias * hidden
    mlp = 3 * hidden * channels + mlp_bias * (2 * channels + hidden)
    return attention + mlp + 2 * hidden


def model_params(config, layers=None, heads=None, kv_heads=None, channels=None) -> dict[str, int]:
    """Total and non-embedding counts as `p2law.models.count_parameters` would report them."""
    layers = config.num_hidden_layers if layers is None else layers
    heads = config.num_attention_heads if heads is None else heads
    kv_heads = config.num_key_value_heads if kv_heads is None else kv_heads
    channels = config.intermediate_size if channels is None else channels
    embedding = config.vocab_size * config.hidden_size
    if not getattr(config, "tie_word_embeddings", True):
        embedding *= 2
    nonemb = layers * layer_params(config, heads, kv_heads, channels) + config.hidden_size
    return {"total": embedding + nonemb, "nonemb": nonemb}


# ---------------------------------------------------------------- choosing the widths
CHANNEL_STEP = 8  # kept MLP channels are multiples of this (or the full width)


def _channel_options(config) -> list[int]:
    size = config.intermediate_size
    step = min(CHANNEL_STEP, size)
    return sorted(set(range(step, size + 1, step)) | {size})


def plan_width(config, rate: float, name: str, error: type[Exception]) -> dict:
    """Uniform widths whose removal lands closest to `rate` of total parameters.

    Attention is cut first, to the head option whose share of removed attention parameters is
    closest to the layer-wide removal fraction without overshooting the target; MLP channels then
    fill the remainder, so the achieved ρ is within half a channel step of the request.
    """
    n_layers, groups = config.num_hidden_layers, config.num_key_value_heads
    ratio, channel_options = config.num_attention_heads // groups, _channel_options(config)
    n0 = model_params(config)["total"]
    full = layer_params(config, groups * ratio, groups, config.intermediate_size)

    def removed(g, r, m):  # per layer, keeping g KV groups of r query heads and m channels
        return full - layer_params(config, g * r, g, m)

    rho_max = n_layers * removed(1, 1, channel_options[0]) / n0
    if rate > rho_max:
        raise error(
            f"{name}: width rate {rate} exceeds the maximum {rho_max:.4f} for N0={n0}: even "
            f"keeping 1 of {groups} KV groups with 1 of {ratio} query heads and {channel_options[0]} of "
            f"{config.intermediate_size} MLP channels per layer (embeddings are not width-pruned)"
        )
    need = rate * n0 / n_layers
    attn_total = removed(0, 0, config.intermediate_size)
    fraction = need / removed(0, 0, 0)
    heads = [(g, r) for g in range(1, groups + 1) for r in range(1, ratio + 1)
             if removed(g, r, config.intermediate_size) <= need]
    g, r = min(heads, key=lambda o: (  # ties: keep more heads, then more groups
        abs(removed(*o, config.intermediate_size) / attn_total - fraction), -o[0] * o[1], -o[0]))
    channels = min(channel_options, key=lambda m: (abs(removed(g, r, m) - need), -m))

    if removed(g, r, channels) == 0:
        smallest = min(removed(g_, r_, m) for g_ in range(1, groups + 1)
                       for r_ in range(1, ratio + 1) for m in channel_options if removed(g_, r_, m))
        raise error(
            f"{name}: width rate {rate} is below half the smallest width step "
            f"({n_layers * smallest / n0:.4f} of N0={n0}); nothing would be removed"
        )
    rho = n_layers * removed(g, r, channels) / n0
    return {"groups": g, "heads_per_group": r, "channels": channels, "rho_planned": rho}


# ---------------------------------------------------------------- importance and slicing
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
