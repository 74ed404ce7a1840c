"""2:4 sparsity: exact pattern along the input dim, explicit masks, criteria, SparseGPT updates."""

import json

import pytest
import torch
from transformers import AutoModelForCausalLM

from p2law.models import build_config, build_model, count_parameters, save_model
from p2law.prune import assert_24, load_masks, prune_model, save_masks
from p2law.prune.plan import zeroed_by_24
from p2law.prune.sparse import LINEARS, mask_24, sparsegpt_24

torch.set_num_threads(1)
FAMILIES = ["llama", "qwen2"]
CRITERIA = ["wanda", "sparsegpt", "magnitude"]


def tiny(family, layers=3, seed=0):
    config = build_config(family, vocab_size=128, hidden_size=32, num_layers=layers, num_heads=4,
                          num_kv_heads=2, intermediate_size=64, max_position_embeddings=64)
    return build_model(config, seed).eval()


def calib(n=8, length=16):
    return torch.randint(0, 128, (n, length), generator=torch.Generator().manual_seed(0))


def logits(model, ids):
    with torch.no_grad():
        return model(ids).logits


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("criterion", CRITERIA)
def test_every_matrix_is_exactly_2_of_4_and_masks_round_trip(family, criterion, tmp_path):
    model, ids = tiny(family), calib()
    n0 = count_parameters(model)["total"]
    result = prune_model(model, "sparse24", 0.5, ids, criterion)
    expected = {f"model.layers.{i}.{name}.weight" for i in range(3) for name in LINEARS}
    assert set(result.masks) == expected

    save_model(result.model, tmp_path)
    save_masks(result.masks, tmp_path)
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    masks = load_masks(tmp_path)
    assert masks.keys() == result.masks.keys() and all(torch.equal(masks[k], result.masks[k]) for k in masks)
    assert_24(reloaded, masks)
    params = dict(reloaded.named_parameters())
    for name in expected:
        weight = params[name]
        nonzero = (weight != 0).reshape(weight.shape[0], -1, 4).sum(-1)
        assert bool((nonzero == 2).all()), name
    torch.testing.assert_close(logits(reloaded, ids), logits(result.model, ids))

    info = result.info
    zeroed = sum(int((~m).sum()) for m in masks.values())
    assert zeroed == zeroed_by_24(model.config)
    assert info["rho"] == zeroed / n0 and info["params_kept"] == n0 - zeroed and info["rho_flat"] == 0.5
    assert count_parameters(reloaded)["total"] == n0  # 2:4 zeroes, it does not remove
    json.dumps(info)


def test_wanda_scores_weight_times_input_norm_layer_by_layer():
    """Layer i's scores use inputs produced by the already-pruned layers 0..i-1 (Wanda's order)."""
    model, ids = tiny("qwen2"), calib()
    original = [layer.self_attn.q_proj.weight.detach().clone() for layer in model.model.layers]
    result = prune_model(model, "sparse24", 0.5, ids, "wanda")
    seen = {i: [] for i in range(3)}
    handles = [layer.self_attn.q_proj.register_forward_pre_hook(lambda m, a, i=i: seen[i].append(a[0].reshape(-1, 32)))
               for i, layer in enumerate(result.model.model.layers)]
    logits(result.model, ids)  # q_proj inputs depend only on earlier (pruned) layers
    for handle in handles:
        handle.remove()
    for i in range(3):
        expected = mask_24(original[i].abs() * torch.cat(seen[i]).norm(dim=0))
        assert torch.equal(result.masks[f"model.layers.{i}.self_attn.q_proj.weight"], expected), i
    # the input norms matter: plain magnitude would keep other weights
    assert not torch.equal(result.masks["model.layers.0.self_attn.q_proj.weight"], mask_24(original[0].abs()))


def test_magnitude_needs_no_calibration_data():
    result = prune_model(tiny("llama"), "sparse24", 0.5, None, "magnitude")
    assert_24(result.model, result.masks)


def test_sparsegpt_with_diagonal_hessian_is_wanda():
    """Uncorrelated inputs: no compensation is possible and the OBS saliency w^2 * H_jj is Wanda's."""
    gen = torch.Generator().manual_seed(0)
    weight = torch.randn(8, 16, generator=gen)
    diag = torch.rand(16, generator=gen) * 10 + 0.1
    new, keep = sparsegpt_24(weight, torch.diag(diag), percdamp=0.0)
    assert torch.equal(keep, mask_24(weight.abs() * diag.sqrt()))
    assert not torch.equal(keep, mask_24(weight.abs()))
    torch.testing.assert_close(new, weight * keep)


@pytest.mark.parametrize("blocksize", [8, 128])  # several blocks (lazy updates) / one block
def test_sparsegpt_reconstructs_outputs_better_than_masking_alone(blocksize):
    gen = torch.Generator().manual_seed(0)
    # strongly correlated inputs (rank 8 plus noise): what OBS updates can compensate for
    x = torch.randn(512, 8, generator=gen) @ torch.randn(8, 32, generator=gen) + 0.1 * torch.randn(512, 32, generator=gen)
    weight = torch.randn(16, 32, generator=gen)
    new, keep = sparsegpt_24(weight, x.T @ x, blocksize=blocksize)
    assert bool((keep.reshape(16, -1, 4).sum(-1) == 2).all()) and bool((new[~keep] == 0).all())
    error = (x @ (weight - new).T).norm()
    wanda = weight * mask_24(weight.abs() * x.norm(dim=0))
    assert error < 0.75 * (x @ (weight - weight * keep).T).norm()  # same mask, no update
    assert error < 0.75 * (x @ (weight - wanda).T).norm()


def test_assert_24_catches_broken_masks_and_weights():
    result = prune_model(tiny("llama"), "sparse24", 0.5, None, "magnitude")
    name = "model.layers.1.mlp.down_proj.weight"
    masks = dict(result.masks)
    masks[name] = masks[name].clone()
    masks[name][0, :4] = True  # 4 of 4 kept
    with pytest.raises(AssertionError, match="not 2:4"):
        assert_24(result.model, masks)
    weights = dict(result.model.named_parameters())
    with torch.no_grad():
        weights[name][~result.masks[name]] = 1.0  # an optimizer step without re-masking
    with pytest.raises(AssertionError, match="nonzero"):
        assert_24(result.model, result.masks)
