"""Truncated or corrupt checkpoints are refused with the file's name, never loaded (issue 9)."""

import re

import pytest
from _tiny import tiny_llama_config
import torch

from p2law.integrity import CorruptFileError, check_safetensors
from p2law.models import build_model, load_model, save_model
from p2law.posttrain import checkpoint


@pytest.fixture
def saved(tmp_path):
    """A tiny base (or pruned) checkpoint folder, as the workflow writes it."""
    config = tiny_llama_config()
    out = tmp_path / "model"
    save_model(build_model(config, seed=0), out)
    return out


def _truncate(path, keep):
    data = path.read_bytes()
    path.write_bytes(data[: keep(len(data))])


@pytest.mark.parametrize(
    "keep",
    [lambda n: n // 2, lambda n: n - 1, lambda n: 20, lambda n: 3],
    ids=["half", "last byte", "inside header", "inside size field"],
)
def test_truncated_weights_are_refused_naming_the_file(saved, keep):
    weights = saved / "model.safetensors"
    _truncate(weights, keep)
    with pytest.raises(CorruptFileError, match=f"^{re.escape(str(weights))}: truncated"):
        load_model(saved)


def test_garbage_header_and_missing_weights_are_refused(saved):
    weights = saved / "model.safetensors"
    size = weights.stat().st_size
    weights.write_bytes((40).to_bytes(8, "little") + b"\xff" * (size - 8))
    name = re.escape(str(weights))
    with pytest.raises(CorruptFileError, match=f"^{name}: not a safetensors file"):
        load_model(saved)
    weights.unlink()
    with pytest.raises(CorruptFileError, match="config.json but no"):
        load_model(saved)


def test_truncated_masks_beside_good_weights_are_refused(saved):
    from safetensors.torch import save_file

    masks = saved / checkpoint.MASKS_FILE
    save_file({"w": torch.ones(64, dtype=torch.bool)}, str(masks))
    load_model(saved)  # intact: loads
    _truncate(masks, lambda n: n - 8)
    with pytest.raises(CorruptFileError, match=re.escape(str(masks))):
        load_model(saved)


def test_intact_weights_pass_the_check(saved):
    check_safetensors(saved / "model.safetensors")
    assert load_model(saved).config.num_hidden_layers == 2


class _Engine:
    """Stands in for the DeepSpeed engine: records whether a load was attempted."""

    loaded = False

    def load_checkpoint(self, folder):
        self.loaded = True
        return folder, {"step": 4, "rows": [{"step": 0, "tokens": 0, "loss": 3.0}]}


def _scratch(tmp_path, tag="step00000004"):
    scratch = tmp_path / "scratch"
    (scratch / tag).mkdir(parents=True)
    (scratch / "latest").write_text(tag)
    for name in ("mp_rank_00_model_states.pt", "zero_pp_rank_0_mp_rank_00_optim_states.pt"):
        torch.save({"w": torch.arange(1000.0)}, scratch / tag / name)
    return scratch


def test_truncated_scratch_checkpoint_is_refused_not_resumed(tmp_path):
    scratch = _scratch(tmp_path)
    engine = _Engine()
    assert checkpoint.resume(engine, scratch)["step"] == 4 and engine.loaded  # intact: resumes
    shard = scratch / "step00000004" / "zero_pp_rank_0_mp_rank_00_optim_states.pt"
    _truncate(shard, lambda n: n // 2)
    engine = _Engine()
    message = f"^{re.escape(str(shard))}: truncated .* delete {re.escape(str(scratch))}"
    with pytest.raises(CorruptFileError, match=message):
        checkpoint.resume(engine, scratch)
    assert not engine.loaded


def test_latest_naming_a_missing_checkpoint_is_refused(tmp_path):
    scratch = _scratch(tmp_path)
    (scratch / "latest").write_text("step00000008")
    with pytest.raises(CorruptFileError, match="names checkpoint 'step00000008', which has no"):
        checkpoint.resume(_Engine(), scratch)


def test_no_scratch_checkpoint_starts_from_zero(tmp_path):
    engine = _Engine()
    assert checkpoint.resume(engine, tmp_path / "none") == {"step": 0, "rows": []}
    assert not engine.loaded
