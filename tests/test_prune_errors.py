"""Bad requests fail in check_rate, before any work, naming the model and the limit."""

import pytest
import torch
from transformers import MistralConfig

from p2law.models import build_config, build_model
from p2law.prune import PruneError, check_rate, prune_model

torch.set_num_threads(1)
NAME = "tiny-test-model"


def tiny_config(family="llama", layers=4, intermediate=64):
    return build_config(family, vocab_size=128, hidden_size=32, num_layers=layers, num_heads=4,
                        num_kv_heads=2, intermediate_size=intermediate, max_position_embeddings=64)


@pytest.mark.parametrize("family", ["llama", "qwen2"])
@pytest.mark.parametrize(
    "method, rate, criterion, limit",
    [
        ("depth", 0.9, None, "keep at least 1 layer"),  # would remove all 4 layers
        ("depth", 0.01, None, "remove at least 1"),  # closest to removing none
        ("width", 0.95, None, "exceeds the maximum"),
        ("width", 0.001, None, "smallest width step"),
        ("sparse24", 0.2, None, "zeroes a fixed"),
        ("prune_harder", 0.3, None, "unknown pruning method"),
        ("depth", 0.3, "wanda", "unknown depth criterion"),
        ("sparse24", 0.5, "bi", "unknown sparse24 criterion"),
        ("depth", 1.0, None, "in (0, 1)"),
        ("width", 0, None, "in (0, 1)"),
    ],
)
def test_bad_requests_raise_with_model_and_limit(family, method, rate, criterion, limit):
    with pytest.raises(PruneError) as error:
        check_rate(tiny_config(family), method, rate, criterion, model_name=NAME)
    assert NAME in str(error.value) and limit in str(error.value)


def test_unsupported_model_type():
    config = MistralConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64)
    with pytest.raises(PruneError, match=f"{NAME}.*'mistral' is not supported"):
        check_rate(config, "depth", 0.3, model_name=NAME)


def test_sparse24_needs_input_widths_divisible_by_4():
    with pytest.raises(PruneError, match=f"{NAME}.*divisible by 4.*intermediate_size"):
        check_rate(tiny_config(intermediate=66), "sparse24", 0.5, model_name=NAME)


def test_valid_requests_return_a_plan_from_the_config_alone():
    config = tiny_config(layers=6)
    assert check_rate(config, "depth", 0.3)["n_remove"] == 2
    plan = check_rate(config, "width", 0.3)
    assert plan["criterion"] == "activation" and plan["groups"] * plan["heads_per_group"] >= 1
    assert check_rate(config, "sparse24", 0.5, "sparsegpt")["criterion"] == "sparsegpt"


@pytest.mark.parametrize("method, rate", [("depth", 0.9), ("width", 0.95), ("sparse24", 0.2)])
def test_prune_model_fails_before_touching_model_or_disk(method, rate, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = tiny_config()
    model = build_model(config, 0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    ids = torch.randint(0, 128, (2, 8))
    with pytest.raises(PruneError, match="llama"):
        prune_model(model, method, rate, ids)
    after = model.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    assert model.config.num_hidden_layers == 4 and model.config.intermediate_size == 64
    assert list(tmp_path.iterdir()) == []


def test_bad_calibration_ids_are_rejected():
    model = build_model(tiny_config(), 0)
    with pytest.raises(PruneError, match="outside"):
        prune_model(model, "depth", 0.3, torch.full((2, 8), 500), model_name=NAME)
    with pytest.raises(PruneError, match="LongTensor"):
        prune_model(model, "depth", 0.3, torch.zeros(2, 8), model_name=NAME)
