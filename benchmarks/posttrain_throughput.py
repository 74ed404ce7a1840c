"""Training throughput of the DeepSpeed ZeRO post-training engine against a plain PyTorch loop.

Both train the same model on the same token file with the same global batch, optimizer
(torch AdamW, betas 0.9/0.95, weight decay 0.1 on matrices), warm-up schedule and gradient
clipping (1.0), with the same number of threads. The engine runs under the `deepspeed`
launcher (ZeRO-2 by default, 1 rank) and reports the tokens/s of its training steps
(`train_tokens_per_s`: forward, loss all-reduce, backward, step, masks; eval and checkpoints
excluded); the plain loop times the same steps in this process.

    python benchmarks/posttrain_throughput.py [--steps 100] [--threads 1] [--sparse24]

The last line printed is one JSON object with both figures and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]


def build_inputs(folder: Path, args) -> tuple[Path, dict]:
    from p2law.models import build_config, build_model, count_parameters, save_model
    from p2law.prune import prune_model, save_masks

    # the 1.84 M-parameter reference model of engineering-notes section 6 (tied embeddings)
    config = build_config("llama", vocab_size=args.vocab, hidden_size=128, num_layers=4,
                          num_heads=4, num_kv_heads=2, intermediate_size=384,
                          max_position_embeddings=args.seq_len)
    model = build_model(config, seed=0)
    masks = {}
    if args.sparse24:
        pruned = prune_model(model, "sparse24", 0.5, None, "magnitude")
        model, masks = pruned.model, pruned.masks
        save_masks(masks, folder / "model")
    save_model(model, folder / "model")
    tokens = args.steps * args.batch * args.seq_len + 64 * args.seq_len
    rng = np.random.default_rng(0)
    rng.integers(0, args.vocab, tokens).astype(np.uint16).tofile(folder / "train.bin")
    rng.integers(0, args.vocab, 16 * args.seq_len).astype(np.uint16).tofile(folder / "eval.bin")
    return folder / "model", {"params": count_parameters(model)["total"], "masks": len(masks)}


def plain_loop(model_dir: Path, folder: Path, args) -> float:
    """Tokens/s of the training steps of a plain torch loop (same work as the engine)."""
    from p2law.data import load_tokens, sequences
    from p2law.models import load_model
    from p2law.posttrain.checkpoint import read_masks
    from p2law.posttrain.engine import _global_batch
    from p2law.posttrain.schedule import warmup_then_constant

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = load_model(model_dir)
    model.train()
    params = dict(model.named_parameters())
    masks = [(params[name], keep) for name, keep in read_masks(model_dir).items()]
    for param, keep in masks:
        param.register_hook(lambda grad, keep=keep: grad * keep.to(grad.dtype))
    optimizer = torch.optim.AdamW(
        [{"params": [p for p in model.parameters() if p.dim() >= 2], "weight_decay": 0.1},
         {"params": [p for p in model.parameters() if p.dim() < 2], "weight_decay": 0.0}],
        lr=args.lr, betas=(0.9, 0.95))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_then_constant(args.warmup))
    ids = sequences(load_tokens(folder / "train.bin"), args.seq_len)
    elapsed = 0.0
    for step in range(args.steps):
        start = time.perf_counter()
        batch = torch.as_tensor(_global_batch(ids, step, args.batch, 0))
        loss = model(input_ids=batch, labels=batch).loss
        float(loss.detach())  # the engine reads the loss every step too (stop rules)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        with torch.no_grad():
            for param, keep in masks:
                param.mul_(keep)
        elapsed += time.perf_counter() - start
    return args.steps * args.batch * args.seq_len / elapsed


def engine_run(model_dir: Path, folder: Path, args) -> dict:
    from p2law.posttrain import launch

    settings = {
        "seq_len": args.seq_len, "micro_batch": args.batch, "lr": args.lr,
        "warmup_tokens": args.warmup * args.batch * args.seq_len, "weight_decay": 0.1,
        "eval_tokens": [(args.steps // 2) * args.batch * args.seq_len,
                        args.steps * args.batch * args.seq_len],
        "eval_sequences": 16, "eval_batch": 16, "seed": 0, "progress_every": 50,
        "max_loss_factor": 10.0,
    }
    flags = ["--model", str(model_dir), "--train-tokens", str(folder / "train.bin"),
             "--eval-tokens", str(folder / "eval.bin"),
             "--ds-config", str(ROOT / "deepspeed" / f"zero{args.stage}.json"),
             "--settings", json.dumps(settings), "--scratch", str(folder / "scratch"),
             "--curve", str(folder / "curve.csv"), "--summary", str(folder / "summary.json")]
    env = launch.environment()
    env.update(OMP_NUM_THREADS=str(args.threads), DS_ACCELERATOR=env.get("DS_ACCELERATOR", "cpu"))
    start = time.time()
    done = subprocess.run(launch.command(f"bench-{os.getpid()}", 1, flags), cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"engine run failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    summary = json.loads((folder / "summary.json").read_text())
    summary["launch_wall_s"] = time.time() - start
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch", type=int, default=8, help="sequences per step")
    parser.add_argument("--seq-len", type=int, default=256)
    parser.add_argument("--vocab", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--stage", type=int, default=2, choices=[0, 1, 2, 3])
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--warmup", type=int, default=10, help="warm-up steps")
    parser.add_argument("--sparse24", action="store_true", help="2:4-prune and keep masks")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="p2law-bench-") as tmp:
        folder = Path(tmp)
        model_dir, info = build_inputs(folder, args)
        engine = engine_run(model_dir, folder, args)
        plain = plain_loop(model_dir, folder, args)
    result = {
        "model_params": info["params"], "masked_matrices": info["masks"],
        "steps": args.steps, "tokens_per_step": args.batch * args.seq_len,
        "threads": args.threads, "zero_stage": args.stage,
        "plain_tokens_per_s": round(plain, 1),
        f"zero{args.stage}_tokens_per_s": round(engine["train_tokens_per_s"], 1),
        f"zero{args.stage}_end_to_end_tokens_per_s": round(engine["tokens_per_s"], 1),
        "ratio": round(engine["train_tokens_per_s"] / plain, 3),
        "engine_launch_wall_s": round(engine["launch_wall_s"], 1),
        "engine_peak_rss_mb": round(engine["peak_rss_mb"], 1),
    }
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    from p2law.malloc import reexec_with_malloc_env

    reexec_with_malloc_env()  # measure with the malloc settings workflow jobs get
    sys.exit(main())
