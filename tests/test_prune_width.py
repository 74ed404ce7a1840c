"""Width pruning: GQA-aware head and MLP-channel slicing, activation importance, planning, round-trip."""

import json

import pytest
import torch
from transformers import AutoModelForCausalLM

from p2law.models import build_config, build_model, count_parameters, save_model
from p2law.prune import check_rate, prune_model
from p2law.prune.plan import CHANNEL_STEP, layer_params, model_params
from p2law.prune.width import apply_width

torch.set_num_threads(1)
# (family, attention_bias): Llama with biases exercises the o_proj bias, Qwen2 has q/k/v biases
VARIANTS = [("llama", False), ("llama", True), ("qwen2", None)]


def tiny(family, bias=None, layers=4, heads=4, kv_heads=2, seed=0):
    config = build_config(family, vocab_size=128, hidden_size=32, num_layers=layers, num_heads=heads,
                          num_kv_heads=kv_heads, intermediate_size=64, max_position_embeddings=64)
    if bias is not None:
        config.attention_bias = bias
    return build_model(config, seed).eval()


def calib(n=4, length=16):
    return torch.randint(0, 128, (n, length), generator=torch.Generator().manual_seed(0))


def logits(model, ids):
    with torch.no_grad():
        return model(ids).logits


@pytest.mark.parametrize("family, bias", VARIANTS)
def test_parameter_formula_matches_the_built_model(family, bias):
    model = tiny(family, bias)
    assert model_params(model.config) == {k: v for k, v in count_parameters(model).items() if k != "embedding"}


@pytest.mark.parametrize("family, bias", VARIANTS)
def test_width_prune_round_trips_and_hits_the_rate(family, bias, tmp_path):
    model, ids = tiny(family, bias), calib()
    if family == "qwen2":
        del model.config.head_dim  # hub Qwen2 configs derive it; a reload must not re-derive it
    result = prune_model(model, "width", 0.3, ids)
    info, config = result.info, result.model.config
    assert config.num_attention_heads == info["kept_heads"] and config.num_key_value_heads == info["kept_kv_groups"]
    assert config.num_attention_heads % config.num_key_value_heads == 0
    assert config.intermediate_size == info["kept_channels"] and info["kept_channels"] % CHANNEL_STEP == 0
    assert config.head_dim == 8
    if family == "qwen2":
        attn = result.model.model.layers[0].self_attn
        assert attn.q_proj.bias.shape == (info["kept_heads"] * 8,) and attn.k_proj.bias.shape == (info["kept_kv_groups"] * 8,)

    save_model(result.model, tmp_path)
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    assert reloaded.config.head_dim == 8
    assert count_parameters(reloaded)["total"] == info["params_kept"]
    torch.testing.assert_close(logits(reloaded, ids), logits(result.model, ids))

    # MLP channels fill what heads leave: within half a channel step of the request
    channel_step = 4 * (layer_params(model.config, 4, 2, 64) - layer_params(model.config, 4, 2, 64 - CHANNEL_STEP))
    assert abs(info["rho"] - 0.3) <= channel_step / info["n0"] / 2
    json.dumps(info)
    assert len(info["kept_channel_indices"]) == 4 and all(len(c) == info["kept_channels"] for c in info["kept_channel_indices"])


@pytest.mark.parametrize("family, bias", VARIANTS)
def test_keeping_everything_reproduces_logits_exactly(family, bias):
    model, ids = tiny(family, bias), calib()
    before = logits(model, ids)
    everything = 4 * [list(range(2))], 4 * [list(range(4))], 4 * [list(range(64))]
    apply_width(model, *everything)
    assert torch.equal(logits(model, ids), before)


@pytest.mark.parametrize("family", ["llama", "qwen2"])
@pytest.mark.parametrize("groups, heads", [([1], [2, 3]), ([0, 1], [1, 3])])  # drop a KV group / a head per group
def test_slicing_equals_zeroing_the_dropped_units(family, groups, heads):
    """Sliced heads and channels must be the ones whose contribution disappears (GQA mapping)."""
    sliced, ids = tiny(family), calib()
    zeroed = tiny(family)
    channels = list(range(0, 64, 2))
    with torch.no_grad():
        for layer in zeroed.model.layers:
            for h in set(range(4)) - set(heads):
                layer.self_attn.o_proj.weight[:, h * 8 : (h + 1) * 8] = 0
            layer.mlp.down_proj.weight[:, 1::2] = 0
    apply_width(sliced, 4 * [groups], 4 * [heads], 4 * [channels])
    torch.testing.assert_close(logits(sliced, ids), logits(zeroed, ids))


@pytest.mark.parametrize("family", ["llama", "qwen2"])
def test_importance_drops_dead_heads_and_channels(family):
    model, ids = tiny(family), calib()
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.v_proj.weight[8:16] = 0  # KV group 1 outputs nothing...
            if layer.self_attn.v_proj.bias is not None:
                layer.self_attn.v_proj.bias[8:16] = 0
            layer.mlp.up_proj.weight[:8] = 0  # ...and channels 0-7 never activate
    assert check_rate(model.config, "width", 0.45)["groups"] == 1  # this rate drops a whole group
    result = prune_model(model, "width", 0.45, ids)
    assert result.info["kept_kv_groups"] == 1 and result.info["kept_kv_group_indices"] == 4 * [[0]]
    assert all(not set(range(8)) & set(kept) for kept in result.info["kept_channel_indices"])


@pytest.mark.parametrize("rate", [0.1, 0.2, 0.3, 0.45, 0.6])
def test_plan_lands_within_half_a_channel_step(rate):
    config = tiny("qwen2", heads=8, kv_heads=2, layers=4).config
    plan = check_rate(config, "width", rate)
    n0 = model_params(config)["total"]
    achieved = 1 - model_params(config, heads=plan["groups"] * plan["heads_per_group"],
                                kv_heads=plan["groups"], channels=plan["channels"])["total"] / n0
    step = 4 * 3 * 32 * CHANNEL_STEP / n0
    assert abs(achieved - rate) <= step / 2 + 1e-12
    assert plan["rho_planned"] == pytest.approx(achieved)
