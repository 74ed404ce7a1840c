"""Pruning plans: what each method would remove, from a model config's sizes alone.

No torch, transformers or safetensors here, directly or through imports: the config check at
every workflow start (and in every cluster job) plans every configured run with this module.
`config` is anything with the HF config attributes read below (an HF config, or the plain
namespace `p2law.config.plan_config` builds). ρ is counted over total parameters, tied
embeddings once (paper-spec §9).
"""

from __future__ import annotations

from p2law.families import MODEL_TYPES, family_of

CRITERIA = {
    "depth": ("bi", "contiguous"),
    "width": ("activation",),
    "sparse24": ("wanda", "sparsegpt", "magnitude"),
}
CHANNEL_STEP = 8  # kept MLP channels are multiples of this (or the full width)
RATE_TOLERANCE = 0.01  # how far a 2:4 rate may be from the fraction 2:4 actually zeroes


class PruneError(ValueError):
    """A pruning request that cannot be met; raised before any work is done."""


def name_of(config) -> str:
    """The name errors and reports use when the caller gives none."""
    return getattr(config, "_name_or_path", "") or getattr(config, "model_type", "model")


def check_rate(config, method: str, rate: float, criterion: str | None = None,
               model_name: str | None = None) -> dict:
    """Validate a request; return the plan (what will be removed) or raise PruneError."""
    name = model_name or name_of(config)
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
    return {"criterion": criterion, **planners[method](config, rate, name)}


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


# ---------------------------------------------------------------- depth
def layers_for_rate(config, rate: float) -> int:
    """Number of layers whose removal lands closest to `rate` over total parameters."""
    per_layer = layer_params(
        config, config.num_attention_heads, config.num_key_value_heads, config.intermediate_size
    )
    n0 = model_params(config)["total"]
    candidates = range(config.num_hidden_layers + 1)
    return min(candidates, key=lambda n: (abs(n * per_layer / n0 - rate), n))


def plan_depth(config, rate: float, name: str) -> dict:
    n_layers, n0 = config.num_hidden_layers, model_params(config)["total"]
    per_layer = layer_params(
        config, config.num_attention_heads, config.num_key_value_heads, config.intermediate_size
    )
    n = layers_for_rate(config, rate)
    if not 1 <= n < n_layers:
        lo, hi = 0.5 * per_layer / n0, (n_layers - 0.5) * per_layer / n0
        raise PruneError(
            f"{name}: depth rate {rate} is closest to removing {n} of {n_layers} layers; depth "
            f"pruning must remove at least 1 and keep at least 1 layer (one layer is "
            f"{per_layer / n0:.4f} of N0={n0}, so usable rates lie in ({lo:.4f}, {hi:.4f}])"
        )
    return {"n_remove": n}


# ---------------------------------------------------------------- width
def _channel_options(config) -> list[int]:
    size = config.intermediate_size
    step = min(CHANNEL_STEP, size)
    return sorted(set(range(step, size + 1, step)) | {size})


def plan_width(config, rate: float, name: str) -> dict:
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
        raise PruneError(
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
        raise PruneError(
            f"{name}: width rate {rate} is below half the smallest width step "
            f"({n_layers * smallest / n0:.4f} of N0={n0}); nothing would be removed"
        )
    rho = n_layers * removed(g, r, channels) / n0
    return {"groups": g, "heads_per_group": r, "channels": channels, "rho_planned": rho}


# ---------------------------------------------------------------- 2:4 sparsity
def zeroed_by_24(config) -> int:
    """Weights 2:4 zeroes: half of every decoder linear weight matrix."""
    hidden, q_out = config.hidden_size, config.num_attention_heads * head_dim(config)
    kv_out = config.num_key_value_heads * head_dim(config)
    per_layer = hidden * (2 * q_out + 2 * kv_out) + 3 * hidden * config.intermediate_size
    return config.num_hidden_layers * per_layer // 2


def plan_sparse24(config, rate: float, name: str) -> dict:
    widths = {
        "hidden_size": config.hidden_size,
        "intermediate_size": config.intermediate_size,
        "num_attention_heads*head_dim": config.num_attention_heads * head_dim(config),
    }
    bad = {key: width for key, width in widths.items() if width % 4}
    if bad:
        raise PruneError(f"{name}: 2:4 sparsity needs every linear input width divisible by 4, "
                         f"got {bad}")
    n0 = model_params(config)["total"]
    achieved = zeroed_by_24(config) / n0
    # 2:4 zeroes a fixed, model-dependent fraction: accept the flat 0.5 or that fraction itself
    if abs(rate - 0.5) > 1e-9 and abs(rate - achieved) > RATE_TOLERANCE:
        raise PruneError(
            f"{name}: 2:4 sparsity zeroes a fixed {achieved:.4f} of N0={n0} (half of every decoder "
            f"linear weight); request 0.5 (flat) or {achieved:.4f}, not {rate}"
        )
    return {"rho_planned": achieved}
