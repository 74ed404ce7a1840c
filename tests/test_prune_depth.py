"""Depth pruning: BI on the pre-norm residual stream, layer removal, config fix-ups, round-trip."""

import json

import pytest
import torch
from transformers import AutoModelForCausalLM

from p2law.models import build_config, build_model, count_parameters, save_model
from p2law.prune import PruneError, block_influence, check_rate, prune_model
from p2law.prune.depth import block_similarity, remove_layers
from p2law.prune.plan import layer_params, model_params

torch.set_num_threads(1)
FAMILIES = ["llama", "qwen2"]


def tiny(family, layers=6, seed=0):
    config = build_config(family, vocab_size=128, hidden_size=32, num_layers=layers, num_heads=4,
                          num_kv_heads=2, intermediate_size=64, max_position_embeddings=64)
    if family == "qwen2":  # mixed layer types: removal must keep each survivor's own type
        config.use_sliding_window, config.sliding_window = True, 4
        config.layer_types = [("full_attention", "sliding_attention")[i % 2] for i in range(layers)]
    return build_model(config, seed).eval()


def calib(n=4, length=16, seed=0):
    return torch.randint(0, 128, (n, length), generator=torch.Generator().manual_seed(seed))


def logits(model, ids):
    with torch.no_grad():
        return model(ids).logits


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("criterion", ["bi", "contiguous"])
def test_depth_prunes_chosen_layers_and_round_trips(family, criterion, tmp_path):
    model, ids = tiny(family), calib()
    reference = tiny(family)  # identical weights, kept unpruned
    result = prune_model(model, "depth", 0.3, ids, criterion)
    removed, info = result.info["removed_layers"], result.info

    # the pruned model computes exactly what the original does with the removed layers skipped
    skips = [reference.model.layers[i].register_forward_hook(lambda m, a, o: a[0]) for i in removed]
    torch.testing.assert_close(logits(result.model, ids), logits(reference, ids), rtol=0, atol=0)
    for handle in skips:
        handle.remove()

    config = result.model.config
    assert config.num_hidden_layers == 6 - len(removed) == len(result.model.model.layers)
    assert [layer.self_attn.layer_idx for layer in result.model.model.layers] == list(range(config.num_hidden_layers))
    if family == "qwen2":
        kept = [i for i in range(6) if i not in removed]
        assert config.layer_types == [reference.config.layer_types[i] for i in kept]

    save_model(result.model, tmp_path)
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    assert count_parameters(reloaded)["total"] == info["params_kept"] == model_params(config)["total"]
    torch.testing.assert_close(logits(reloaded, ids), logits(result.model, ids))

    # closest layer count: within half a layer of the request, and the reported ρ is the real one
    per_layer = layer_params(reference.config, 4, 2, 64) / info["n0"]
    assert abs(info["rho"] - 0.3) <= per_layer / 2
    assert info["rho"] == pytest.approx(len(removed) * per_layer)
    assert info["rho_nonemb"] > info["rho"] == info["rho_flat"]
    assert reference.config.num_hidden_layers == 6  # the caller's config object is not mutated
    json.dumps(info)


@pytest.mark.parametrize("family", FAMILIES)
def test_depth_layer_count_boundaries(family):
    config = tiny(family).config
    n0 = model_params(config)["total"]
    per_layer = layer_params(config, 4, 2, 64) / n0
    assert check_rate(config, "depth", 0.51 * per_layer)["n_remove"] == 1
    assert check_rate(config, "depth", 5.49 * per_layer)["n_remove"] == 5
    for rate in (0.49 * per_layer, 5.51 * per_layer):
        with pytest.raises(PruneError, match="usable rates"):
            check_rate(config, "depth", rate)


@pytest.mark.parametrize("family", FAMILIES)
def test_removing_no_layer_reproduces_logits_exactly(family):
    model, ids = tiny(family), calib()
    before = logits(model, ids)
    remove_layers(model, [])
    assert torch.equal(logits(model, ids), before)


@pytest.mark.parametrize("family", FAMILIES)
def test_bi_is_computed_before_the_final_norm(family):
    model, ids = tiny(family, layers=3), calib()
    # A non-uniform final-norm weight; with all-ones weights RMSNorm only rescales each token,
    # which leaves cosines unchanged and would hide a normed last hidden state.
    with torch.no_grad():
        model.model.norm.weight.copy_(torch.rand(32, generator=torch.Generator().manual_seed(1)) * 2 + 0.1)
    captured = {}
    handle = model.model.layers[-1].register_forward_hook(lambda m, a, o: captured.update(last=o))
    with torch.no_grad():
        hidden = list(model(ids, output_hidden_states=True).hidden_states)
    handle.remove()
    normed_last = hidden[-1]
    hidden[-1] = captured["last"]  # HF returns norm(h_L) as the last entry; undo that

    def bi(states):
        return [1 - torch.cosine_similarity(states[i].double(), states[i + 1].double(), dim=-1).mean().item()
                for i in range(len(states) - 1)]

    expected = bi(hidden)
    scores = block_influence(model, ids, batch_size=3)  # batches of unequal size on purpose
    assert scores == pytest.approx(expected, abs=1e-6)
    wrong = bi(hidden[:-1] + [normed_last])
    assert abs(scores[-1] - wrong[-1]) > 1e-3


@pytest.mark.parametrize("family", FAMILIES)
def test_bi_removes_the_lowest_scoring_layers(family):
    model, ids = tiny(family), calib()
    scores = block_influence(model, ids)
    result = prune_model(model, "depth", 0.3, ids, "bi")
    n = len(result.info["removed_layers"])
    assert result.info["scores"] == pytest.approx(scores)
    assert result.info["removed_layers"] == sorted(sorted(range(6), key=scores.__getitem__)[:n])


@pytest.mark.parametrize("family", FAMILIES)
def test_contiguous_removes_the_most_similar_consecutive_block(family):
    model, ids = tiny(family), calib()
    similarity = block_similarity(model, ids, 3)
    result = prune_model(model, "depth", 0.45, ids, "contiguous")
    removed = result.info["removed_layers"]
    assert len(removed) == 3 and removed == list(range(removed[0], removed[0] + 3))
    assert len(similarity) == 4 and removed[0] == max(range(4), key=similarity.__getitem__)
