"""GPU post-training throughput and MFU of a 0.5B-class Qwen2 model under DeepSpeed ZeRO-2, bf16.

The model is built from the config code path (p2law.models.build_config/build_model, random
init, no download) with Qwen2.5-0.5B's dimensions: hidden 896, 24 layers, 14 heads, 2 KV heads,
intermediate 4864, vocab 151,936, tied embeddings. It is post-trained as
p2law/posttrain/engine.py does (the project's deepspeed/zero2.json, bf16 on, torch AdamW with
betas 0.9/0.95 and weight decay 0.1 on matrices, gradient clipping from the config), in one
process (a single-rank NCCL group), on random tokens.

MFU = (6 · N + 12 · layers · seq_len · heads · head_dim) · tokens/s / peak, with N the
parameter count (tied embeddings once: the LM head matmul is real work, the lookup is not) and
the attention term PaLM's (causal masking not discounted); peak defaults to the H200's dense
bf16 989 TFLOP/s. Steps before --warmup are excluded (allocation, compilation).

    python benchmarks/gpu_posttrain.py [--steps 200] [--seq-len 2048] [--micro-batch 8]
                                       [--activation-checkpointing] [--compile]

Exits with status 2 and a message when no CUDA device is present. Human-readable lines first;
the last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

QWEN25_05B = {"family": "qwen2", "hidden_size": 896, "num_layers": 24, "num_heads": 14,
              "num_kv_heads": 2, "intermediate_size": 4864, "vocab_size": 151936}
TINY = {"family": "qwen2", "hidden_size": 64, "num_layers": 2, "num_heads": 4,
        "num_kv_heads": 2, "intermediate_size": 128, "vocab_size": 512}
H200_BF16_DENSE_TFLOPS = 989.0


def flops_per_token(params: int, config, seq_len: int) -> float:
    head_dim = getattr(config, "head_dim", config.hidden_size // config.num_attention_heads)
    attention = 12 * config.num_hidden_layers * seq_len * config.num_attention_heads * head_dim
    return 6.0 * params + attention


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _single_rank_env() -> None:
    """What the deepspeed launcher would set for a world of one."""
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", str(_free_port()))
    for key, value in (("RANK", "0"), ("LOCAL_RANK", "0"), ("WORLD_SIZE", "1"),
                       ("LOCAL_WORLD_SIZE", "1")):
        os.environ.setdefault(key, value)


def run(args) -> dict:
    import deepspeed
    import torch
    from deepspeed.accelerator import get_accelerator

    from p2law.models import build_config, build_model, count_parameters

    dims = TINY if args.cpu_check else QWEN25_05B
    accelerator = get_accelerator()
    _single_rank_env()
    deepspeed.init_distributed(dist_backend=accelerator.communication_backend_name())
    config = build_config(dims["family"], vocab_size=dims["vocab_size"],
                          hidden_size=dims["hidden_size"], num_layers=dims["num_layers"],
                          num_heads=dims["num_heads"], num_kv_heads=dims["num_kv_heads"],
                          intermediate_size=dims["intermediate_size"],
                          max_position_embeddings=max(args.seq_len, 32768))
    config._attn_implementation = args.attn
    model = build_model(config, seed=0)
    params = count_parameters(model)
    if args.activation_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.train()

    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                                   {"params": no_decay, "weight_decay": 0.0}],
                                  lr=args.lr, betas=(0.9, 0.95))
    ds_config = json.loads((ROOT / "deepspeed" / "zero2.json").read_text())
    ds_config = dict(ds_config, train_micro_batch_size_per_gpu=args.micro_batch,
                     gradient_accumulation_steps=1, bf16={"enabled": not args.fp32})
    engine, _, _, _ = deepspeed.initialize(model=model, optimizer=optimizer, config=ds_config)
    forward = torch.compile(engine.module) if args.compile else engine

    device = accelerator.current_device_name()
    gen = torch.Generator(device="cpu").manual_seed(0)
    pool = torch.randint(0, dims["vocab_size"], (8, args.micro_batch, args.seq_len), generator=gen)
    pool = pool.to(device)

    tokens_per_step = args.micro_batch * args.seq_len
    times, losses = [], []
    for step in range(args.warmup + args.steps):
        accelerator.synchronize()
        start = time.perf_counter()
        ids = pool[step % len(pool)]
        loss = forward(input_ids=ids, labels=ids).loss
        engine.backward(loss)
        engine.step()
        losses.append(float(loss.detach()))  # the engine reads the loss every step too
        accelerator.synchronize()
        if step >= args.warmup:
            times.append(time.perf_counter() - start)
        if (step + 1) % max(1, (args.warmup + args.steps) // 10) == 0:
            print(f"step {step + 1}/{args.warmup + args.steps} loss {losses[-1]:.4f} "
                  f"{tokens_per_step / (time.perf_counter() - start):.0f} tok/s", flush=True)
    elapsed = sum(times)
    tokens_per_s = args.steps * tokens_per_step / elapsed
    per_token = flops_per_token(params["total"], config, args.seq_len)
    achieved = per_token * tokens_per_s
    peak_mem = (torch.cuda.max_memory_allocated() / 2**30) if torch.cuda.is_available() else None
    return {
        "device": accelerator.device_name() if args.cpu_check else torch.cuda.get_device_name(0),
        "params": params["total"], "params_nonemb": params["nonemb"],
        "seq_len": args.seq_len, "micro_batch": args.micro_batch, "steps": args.steps,
        "warmup_steps": args.warmup, "zero_stage": engine.zero_optimization_stage(),
        "bf16": engine.bfloat16_enabled(), "attn_implementation": args.attn,
        "activation_checkpointing": args.activation_checkpointing, "compile": args.compile,
        "tokens_per_s": round(tokens_per_s, 1), "step_ms": round(1000 * elapsed / args.steps, 2),
        "flops_per_token": per_token, "achieved_tflops": round(achieved / 1e12, 2),
        "peak_tflops": args.peak_tflops, "mfu": round(achieved / (args.peak_tflops * 1e12), 4),
        "mfu_6n_only": round(6.0 * params["total"] * tokens_per_s / (args.peak_tflops * 1e12), 4),
        "target_mfu": 0.40, "first_loss": round(losses[0], 4), "last_loss": round(losses[-1], 4),
        "peak_memory_gib": None if peak_mem is None else round(peak_mem, 2),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=200, help="timed steps")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps first")
    parser.add_argument("--seq-len", type=int, default=2048)
    parser.add_argument("--micro-batch", type=int, default=8, help="sequences per step")
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--attn", default="sdpa", choices=["sdpa", "eager", "flash_attention_2"],
                        help="HF attention implementation (flash_attention_2 needs flash-attn)")
    parser.add_argument("--activation-checkpointing", action="store_true",
                        help="recompute activations in backward (less memory, ~+33 %% compute "
                             "not counted in MFU)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model's forward")
    parser.add_argument("--fp32", action="store_true", help="bf16 off (for comparison)")
    parser.add_argument("--peak-tflops", type=float, default=H200_BF16_DENSE_TFLOPS,
                        help="dense peak of the device (default: H200 bf16, 989)")
    parser.add_argument("--quick", action="store_true",
                        help="sanity run on the GPU: 20 timed steps after 3 warm-up steps")
    parser.add_argument("--cpu-check", action="store_true",
                        help="exercise this script's code path on the CPU with a tiny model "
                             "(no CUDA needed; the numbers mean nothing)")
    args = parser.parse_args(argv)
    import torch

    if args.quick:
        args.steps, args.warmup = min(args.steps, 20), min(args.warmup, 3)
    if args.cpu_check:
        os.environ.setdefault("DS_ACCELERATOR", "cpu")
        args.fp32 = True
        args.seq_len, args.micro_batch = min(args.seq_len, 64), min(args.micro_batch, 2)
        args.steps, args.warmup = min(args.steps, 3), min(args.warmup, 1)
    elif not torch.cuda.is_available():
        print("gpu_posttrain: no CUDA device is present (torch.cuda.is_available() is False); "
              "run this on a GPU machine (or --cpu-check to test the code path)", file=sys.stderr)
        return 2
    else:
        os.environ["DS_ACCELERATOR"] = "cuda"  # the CPU runs of this project export "cpu"
    result = run(args)
    print(f"{result['device']}: {result['params'] / 1e6:.1f} M params, seq {result['seq_len']} x "
          f"micro-batch {result['micro_batch']}, ZeRO-{result['zero_stage']}, bf16 {result['bf16']}")
    print(f"{result['tokens_per_s']:.0f} tokens/s, {result['step_ms']:.1f} ms/step, "
          f"{result['achieved_tflops']:.1f} TFLOP/s, MFU {result['mfu']:.1%} (target >= 40 %)")
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    from p2law.malloc import reexec_with_malloc_env

    reexec_with_malloc_env()  # measure with the malloc settings workflow jobs get
    sys.exit(main())
