"""The post-training engine under the real `deepspeed` launcher, on CPU (gloo).

One tiny 2:4-pruned Llama (vocab 256, hidden 32, 2 layers) trains on tokens from a sparse
Markov chain, so the loss falls far (5.55 -> ~3.8 nats in 64 steps) and a wrong batch, a lost
mask or a bad resume shows up well above the tolerances. Each launch costs ~20-40 s, mostly
imports, so launches are cached per module and each is read by several tests; at most one
launch runs at a time.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from p2law.ports import is_free, preferred_port
from p2law.posttrain import launch
from p2law.posttrain.__main__ import STOPPED
from p2law.posttrain.warm_ops import env_tag

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "torch_extensions" / env_tag()  # JIT ops of this environment
VOCAB, SEQ, STEPS = 256, 64, 64
SETTINGS = {
    "seq_len": SEQ,
    "lr": 3e-3,
    "warmup_tokens": 1024,  # 2 steps, ends before the first eval point (step 4)
    "weight_decay": 0.1,
    "eval_tokens": [2048, 8192, 32768],  # steps 4, 16, 64 at 512 tokens per step
    # 65 sequences over 2 ranks in batches of 32: rank 0 holds 33 (two batches), rank 1 holds
    # 32 and runs a zero-weight dummy batch, so ranks do the same number of forward passes.
    "eval_sequences": 65,
    "eval_batch": 32,
    "seed": 0,
    "progress_every": 16,
    "checkpoint_every_steps": 16,  # also checkpoints at step 32 and 48, between eval points
}
GLOBAL_BATCH = 8  # sequences per step across ranks
TOKENS_PER_STEP = GLOBAL_BATCH * SEQ
# name: (ZeRO stage, ranks); micro batch = GLOBAL_BATCH / ranks, so every run is the same run.
# ZeRO-3 on 2 ranks is the one case where masks must reach three separate copies (each rank's
# fp32 master partition, its weight partition, and the full copy ZeRO-3 keeps of small
# "persistent" parameters); at 1 rank a lost copy goes unnoticed.
RUNS = {"z1": (1, 1), "z2": (2, 1), "z3": (3, 1), "z2x2": (2, 2), "z3x2": (3, 2)}
SESSION = os.getpid()  # run ids (and so ports) differ between concurrent test sessions


def _markov(n: int, seed: int) -> np.ndarray:
    """Each token has 4 equally likely successors: entropy ln 4 = 1.39 nats, learnable."""
    successors = np.random.default_rng(0).integers(0, VOCAB, (VOCAB, 4))
    choice = np.random.default_rng(seed).integers(0, 4, n)
    out, token = np.empty(n, np.uint16), 0
    for i in range(n):
        out[i] = token
        token = successors[token, choice[i]]
    return out


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    from p2law.models import build_config, build_model, save_model
    from p2law.prune import prune_model, save_masks

    root = tmp_path_factory.mktemp("posttrain")
    _markov(60_000, 1).tofile(root / "train.bin")
    _markov(8_000, 2).tofile(root / "eval.bin")
    config = build_config("llama", vocab_size=VOCAB, hidden_size=32, num_layers=2, num_heads=4,
                          num_kv_heads=2, intermediate_size=64, max_position_embeddings=SEQ)
    result = prune_model(build_model(config, seed=0), "sparse24", 0.5, None, "magnitude")
    save_model(result.model, root / "pruned")
    save_masks(result.masks, root / "pruned")
    return root


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "TORCH_EXTENSIONS_DIR"}
    env.update(DS_ACCELERATOR="cpu", OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", **extra)
    return launch.environment(env)


def _args(root: Path, name: str, stage: int, ranks: int) -> list[str]:
    settings = dict(SETTINGS, micro_batch=GLOBAL_BATCH // ranks)
    return ["--model", str(root / "pruned"), "--train-tokens", str(root / "train.bin"),
            "--eval-tokens", str(root / "eval.bin"),
            "--ds-config", str(ROOT / "deepspeed" / f"zero{stage}.json"),
            "--settings", json.dumps(settings), "--scratch", str(root / f"{name}.scratch"),
            "--curve", str(root / f"{name}.csv"), "--summary", str(root / f"{name}.json"),
            "--save-model", str(root / f"{name}.model")]


def _launch(root: Path, name: str, stage: int, ranks: int, **env) -> subprocess.CompletedProcess:
    run_id = f"{name}-{SESSION}"
    started = time.time()
    done = subprocess.run(launch.command(run_id, ranks, _args(root, name, stage, ranks)),
                          cwd=ROOT, env=_env(**env), capture_output=True, text=True, timeout=300)
    done.seconds = time.time() - started
    return done


@pytest.fixture(scope="module")
def run(inputs):
    """run(name) -> (completed launch, output folder); each configuration launched once."""

    @cache
    def launched(name: str):
        stage, ranks = RUNS[name]
        done = _launch(inputs, name, stage, ranks)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        return done, inputs

    return launched


def _curve(root: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(root / f"{name}.csv")


# 5. JIT ops: one project cache, built once ------------------------------------------------


def test_second_warm_of_the_op_cache_is_a_no_op(tmp_path):
    warm = [sys.executable, "-m", "p2law.posttrain.warm_ops"]
    first = subprocess.run(warm, cwd=ROOT, env=_env(), capture_output=True, text=True, check=True)
    library = Path(json.loads(first.stdout.splitlines()[-1])["library"])
    built = library.stat().st_mtime_ns
    # the second warm finds the system's ninja first on PATH: an older ninja that cannot read
    # the pinned one's build log and would recompile, unless warm_ops pins its own ninja
    stamp = tmp_path / "ops.json"
    env = dict(_env(), PATH=os.pathsep.join(["/usr/bin", "/bin", os.environ.get("PATH", "")]))
    subprocess.run([*warm, "--stamp", str(stamp)], cwd=ROOT, env=env, capture_output=True,
                   text=True, check=True)
    again = json.loads(stamp.read_text())
    assert again["cache"] == str(CACHE)
    assert [op["op"] for op in again["ops"]] == ["ShareMemCommBuilder"]
    assert again["ops"][0]["library"] == str(library)
    assert again["ops"][0]["ninja"] == str(Path(sys.executable).parent / "ninja")
    assert library.stat().st_mtime_ns == built  # not rebuilt
    assert not again["ops"][0]["compiled"], again
    assert again["ops"][0]["seconds"] < 5, again


# 1. ZeRO 1/2/3 at 1 rank and ZeRO 2 (and 3) at 2 ranks: the same run -----------------------------


@pytest.mark.deepspeed
def test_zero_stages_and_ranks_give_the_same_eval_losses(run):
    curves = {name: _curve(run(name)[1], name) for name in RUNS}
    reference = curves["z1"]
    assert list(reference.columns) == ["step", "tokens", "loss"]
    assert reference["step"].tolist() == [0, 4, 16, 64]
    # exact token counts across all ranks: step x global batch x seq_len
    assert (reference["tokens"] == reference["step"] * TOKENS_PER_STEP).all()
    # the curve moved far, so agreement within 1e-3 is not agreement by standing still
    assert reference["loss"].iloc[-1] < reference["loss"].iloc[0] - 1.0
    for name, curve in curves.items():
        assert curve[["step", "tokens"]].equals(reference[["step", "tokens"]]), name
        gap = (curve["loss"] - reference["loss"]).abs().max()
        assert gap < 1e-3, f"{name} differs from ZeRO-1 by {gap:.2e}:\n{curve}\n{reference}"
    summary = json.loads((run("z2x2")[1] / "z2x2.json").read_text())
    assert summary["world_size"] == 2 and summary["zero_stage"] == 2
    assert summary["tokens"] == STEPS * TOKENS_PER_STEP


def _shm_segments(run_id: str) -> list[Path]:
    """DeepSpeed's CPU shared-memory workspaces of a run (named by address, port, rank)."""
    return sorted(Path("/dev/shm").glob(
        f"deepspeed_allreduce_buffer_{os.getuid()}_*_{preferred_port(run_id)}_*"))


@pytest.mark.deepspeed
def test_runs_leave_no_shared_memory_behind(run):
    for name in RUNS:
        run(name)
        assert _shm_segments(f"{name}-{SESSION}") == [], name


# 3. 2:4 masks survive post-training ------------------------------------------------------


@pytest.mark.deepspeed
@pytest.mark.parametrize("name", ["z2", "z3", "z2x2", "z3x2"])
def test_2_of_4_pattern_holds_after_post_training(run, name):
    from p2law.data import load_tokens, sequences
    from p2law.evaluate import eval_loss
    from p2law.models import load_model
    from p2law.prune import assert_24, load_masks

    _, root = run(name)
    masks = {k: v.bool() for k, v in load_masks(root / "pruned").items()}
    trained = load_model(root / f"{name}.model")
    before = dict(load_model(root / "pruned").named_parameters())
    assert_24(trained, masks)  # every mask 2:4, and weights zero where masks are False
    params = dict(trained.named_parameters())
    for key, keep in masks.items():
        assert torch.count_nonzero(params[key].detach()[~keep]) == 0, key
        assert not torch.equal(params[key][keep], before[key][keep]), f"{key} never trained"
    # the weights the engine evaluated are the saved (masked fp32 master) weights
    eval_ids = sequences(load_tokens(root / "eval.bin"), SEQ, SETTINGS["eval_sequences"])
    final = _curve(root, name)["loss"].iloc[-1]
    saved = eval_loss(trained, eval_ids, SETTINGS["eval_batch"])
    assert abs(saved - final) < 1e-5, f"engine evaluated {final}, saved weights give {saved}"


# 6. Progress lines and the run summary ---------------------------------------------------


@pytest.mark.deepspeed
def test_progress_lines_and_summary(run):
    done, root = run("z2")
    run_id = f"z2-{SESSION}"
    progress = re.findall(rf"\[{run_id}\] step (\d+)/64 tokens (\d+)/32768 train loss "
                          r"([\d.]+) (\d+) tok/s eta (\d+)s", done.stdout)
    assert [int(p[0]) for p in progress] == [4, 16, 32, 48, 64], done.stdout[-2000:]
    assert all(int(tokens) == int(step) * TOKENS_PER_STEP for step, tokens, *_ in progress)
    assert float(progress[-1][2]) < float(progress[0][2])  # train loss falls
    summary = json.loads((root / "z2.json").read_text())
    assert summary["tokens"] == STEPS * TOKENS_PER_STEP == summary["tokens_this_session"]
    assert 0 < summary["wall_s"] < done.seconds
    assert summary["tokens_per_s"] == pytest.approx(summary["tokens"] / summary["wall_s"])
    assert summary["peak_rss_mb"] > 100
    assert summary["final_loss"] == _curve(root, "z2")["loss"].iloc[-1]
    assert summary["torch_extensions_dir"] == str(CACHE)
    assert not (root / "z2.scratch").exists()  # intermediate checkpoints deleted at the end


# 2. kill -9 mid-run, restart: the same table ---------------------------------------------


@pytest.mark.deepspeed
def test_kill_9_and_restart_gives_the_uninterrupted_table(run):
    reference, root = run("z2")
    name, run_id = "resume", f"resume-{SESSION}"
    cmd = launch.command(run_id, 1, _args(root, name, 2, 1))
    job = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, start_new_session=True)
    seen = []
    try:
        for line in job.stdout:
            seen.append(line)
            if f"[{run_id}] checkpoint saved at step 32" in line:
                os.killpg(job.pid, signal.SIGKILL)  # the whole job: launcher and worker
                break
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
        job.wait(timeout=60)
    assert job.returncode == -signal.SIGKILL, "".join(seen[-30:])
    assert not (root / f"{name}.csv").exists() and not (root / f"{name}.json").exists()
    assert _shm_segments(run_id) == []  # even a killed run leaves no /dev/shm workspace
    tag = (root / f"{name}.scratch" / "latest").read_text()
    killed_at = int(tag.removeprefix("step"))
    assert 32 <= killed_at < STEPS

    restarted = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True,
                               timeout=300)
    assert restarted.returncode == 0, restarted.stdout[-3000:] + restarted.stderr[-3000:]
    assert f"[{run_id}] resumed at step {killed_at}" in restarted.stdout
    assert "just-pruned eval loss" not in restarted.stdout  # D=0 came from the checkpoint
    assert (root / f"{name}.csv").read_bytes() == (root / "z2.csv").read_bytes()
    summary = json.loads((root / f"{name}.json").read_text())
    assert summary["resumed_from_step"] == killed_at
    assert summary["tokens_this_session"] == (STEPS - killed_at) * TOKENS_PER_STEP
    assert not (root / f"{name}.scratch").exists()


# 4. NaN stops every rank, names the run and step, writes nothing --------------------------


@pytest.mark.deepspeed
def test_nan_loss_on_one_rank_stops_the_run_with_a_clear_error(inputs):
    name, run_id = "nan", f"nan-{SESSION}"
    done = _launch(inputs, name, 2, 2, P2LAW_TEST_POISON_LOSS_AT_STEP="6@1")
    output = done.stdout + done.stderr
    assert done.returncode == STOPPED, output[-3000:]  # the launcher passes the rank's status on
    assert f"ERROR [{run_id}] {run_id}: training loss is nan at step 6 " in output, output[-3000:]
    for suffix in (".csv", ".json", ".model"):
        assert not (inputs / f"{name}{suffix}").exists(), suffix


def test_each_run_gets_its_own_launcher_port():
    run_ids = [f"{name}-{SESSION}" for name in [*RUNS, "resume", "nan"]]
    ports = [int(launch.command(run_id, 1, [])[4]) for run_id in run_ids]
    # each run's own port, unless something else listens there (then p2law.ports moves on)
    for run_id, port in zip(run_ids, ports):
        assert port == preferred_port(run_id) or not is_free(preferred_port(run_id))
    assert len(set(ports)) == len(ports)
