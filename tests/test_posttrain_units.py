"""Post-training engine pieces that need no launcher: stop rules, resume guard, data order,
mask mechanics on plain tensors, the launch command."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from p2law.evaluate import NonFiniteLossError
from p2law.posttrain import checkpoint, launch, warm_ops
from p2law.posttrain.engine import (
    LossExplodedError,
    PosttrainSettings,
    _global_batch,
    _poison_step,
    check_train_loss,
)
from p2law.posttrain.schedule import eval_steps, warmup_then_constant

BASE = dict(seq_len=64, micro_batch=8, lr=1e-3, warmup_tokens=1024, weight_decay=0.1,
            eval_tokens=[2048, 8192], eval_sequences=64, eval_batch=32, seed=0)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_training_loss_names_run_and_step(bad):
    with pytest.raises(NonFiniteLossError, match=r"^run-a: training loss is .* at step 7 "
                                                 r"\(3072 tokens seen\); stopping"):
        check_train_loss("run-a", bad, 7, 3072, 4.0, 2.0)


def test_exploding_training_loss_stops_finite_losses_pass():
    check_train_loss("run-a", 7.99, 3, 1024, 4.0, 2.0)
    with pytest.raises(LossExplodedError, match=r"run-a: training loss exploded to 8\.0100 "
                                                r"at step 3 .*2 x the just-pruned 4\.0000"):
        check_train_loss("run-a", 8.01, 3, 1024, 4.0, 2.0)


def test_poison_hook_is_off_unless_set(monkeypatch):
    monkeypatch.delenv("P2LAW_TEST_POISON_LOSS_AT_STEP", raising=False)
    assert _poison_step(0) is None
    monkeypatch.setenv("P2LAW_TEST_POISON_LOSS_AT_STEP", "6@1")
    assert (_poison_step(0), _poison_step(1)) == (None, 6)
    monkeypatch.setenv("P2LAW_TEST_POISON_LOSS_AT_STEP", "9")
    assert (_poison_step(0), _poison_step(1)) == (9, 9)


def test_settings_reject_unknown_fields_and_fingerprint_ignores_cosmetics():
    with pytest.raises(ValueError, match="unknown post-training settings \\['lr_typo'\\]"):
        PosttrainSettings.from_dict(dict(BASE, lr_typo=1))
    a = PosttrainSettings.from_dict(BASE)
    b = PosttrainSettings.from_dict(dict(BASE, progress_every=1, keep_checkpoints=True,
                                         checkpoint_every_steps=5, max_loss_factor=9.0))
    assert a.fingerprint() == b.fingerprint()
    assert a.fingerprint() != PosttrainSettings.from_dict(dict(BASE, lr=2e-3)).fingerprint()


def test_resume_refuses_a_checkpoint_of_a_different_run(tmp_path):
    fingerprint = {"settings": {"lr": 1e-3}, "world_size": 1, "zero_stage": 2}
    checkpoint.check_fingerprint(tmp_path, fingerprint, "r")  # nothing saved yet: fine
    (tmp_path / "latest").write_text("step00000004")
    (tmp_path / checkpoint.FINGERPRINT).write_text(json.dumps(fingerprint))
    checkpoint.check_fingerprint(tmp_path, fingerprint, "r")
    other = dict(fingerprint, world_size=2)
    with pytest.raises(checkpoint.CheckpointMismatchError,
                       match=rf"r: the checkpoint in {tmp_path} was made with different "
                             r"world_size; delete the folder"):
        checkpoint.check_fingerprint(tmp_path, other, "r")


def test_data_order_is_a_pure_function_of_seed_and_step():
    ids = np.arange(10 * 4).reshape(10, 4)
    steps = [_global_batch(ids, step, 4, seed=3) for step in range(5)]  # 20 rows: two epochs
    assert np.array_equal(steps[2], _global_batch(ids, 2, 4, seed=3))  # no hidden state
    first_epoch = np.concatenate(steps)[:10, 0] // 4
    assert sorted(first_epoch) == list(range(10))  # every row once per epoch
    assert not np.array_equal(steps[0], _global_batch(ids, 0, 4, seed=4))


def test_schedule_warms_up_then_stays_constant_and_eval_steps_are_exact():
    multiplier = warmup_then_constant(4)
    assert [multiplier(s) for s in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert eval_steps([2048, 8192, 32768], 512) == [4, 16, 64]
    with pytest.raises(ValueError, match="collapse"):
        eval_steps([512, 600], 512)


def test_masks_zero_gradients_and_weights_of_a_plain_parameter():
    from p2law.posttrain.masks import apply_masks, mask_gradients, masked_parameters

    layer = torch.nn.Linear(8, 2, bias=False)
    keep = torch.tensor([[1, 0, 1, 0, 0, 1, 1, 0], [0, 1, 1, 0, 1, 0, 0, 1]], dtype=torch.bool)
    pairs = masked_parameters(layer, {"weight": keep})
    with pytest.raises(KeyError):
        masked_parameters(layer, {"nope": keep})
    handles = mask_gradients(pairs)
    layer(torch.randn(3, 8)).sum().backward()
    assert torch.count_nonzero(layer.weight.grad[~keep]) == 0
    assert torch.count_nonzero(layer.weight.grad[keep]) == int(keep.sum())
    apply_masks(pairs)  # no DeepSpeed master here: masks the weight itself
    assert torch.count_nonzero(layer.weight[~keep]) == 0
    for handle in handles:
        handle.remove()


def test_launch_command_and_project_op_cache(monkeypatch):
    cmd = launch.command("post-x", 2, ["--model", "m"])
    assert cmd[1:] == ["--num_gpus", "2", "--master_port", cmd[4], "--module", "p2law.posttrain",
                       "--run-id", "post-x", "--model", "m"]
    assert cmd[0].endswith("deepspeed")
    monkeypatch.delenv("TORCH_EXTENSIONS_DIR", raising=False)
    tag = warm_ops.env_tag()
    assert tag.startswith(f"py{sys.version_info.major}{sys.version_info.minor}-torch")
    default = warm_ops.project_root() / ".cache" / "torch_extensions" / tag
    assert warm_ops.extensions_dir() == default
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", "/x")  # a root: this environment's folder in it
    assert warm_ops.extensions_dir() == Path("/x", tag)
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", f"/x/{tag}")  # already this environment's
    assert warm_ops.extensions_dir() == Path("/x", tag)
    monkeypatch.delenv("TORCH_EXTENSIONS_DIR")
    assert launch.environment({})["TORCH_EXTENSIONS_DIR"] == str(default)
    assert launch.environment({"TORCH_EXTENSIONS_DIR": "/x"})["TORCH_EXTENSIONS_DIR"] == "/x"
    # one ninja for every job: the venv's pinned one first, whatever PATH the caller had
    venv_ninja = Path(sys.executable).parent / "ninja"
    if venv_ninja.exists():
        path = launch.environment({"PATH": "/usr/bin:/bin"})["PATH"].split(":")
        assert path == [str(venv_ninja.parent), "/usr/bin", "/bin"]
