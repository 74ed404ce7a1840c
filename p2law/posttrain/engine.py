"""Post-training of a pruned checkpoint with DeepSpeed ZeRO, logging eval loss against tokens.

Started by the `deepspeed` launcher (one process per rank; gloo on CPU, NCCL on GPU). The
data order is a pure function of (seed, step), and there is no dropout, so a run resumed
from its last checkpoint repeats the uninterrupted run exactly.

Every stop decision is collective: the training loss is all-reduced each step (it is also
the loss the progress line reports), so a NaN or exploding loss on any rank stops every rank
at the same step with the same message, and nothing is written as a finished output.
"""

from __future__ import annotations

import json
import math
import os
import resource
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from p2law.data import as_ids, load_tokens, sequence_view, sequences
from p2law.evaluate import NonFiniteLossError
from p2law.malloc import MALLOC_ENV
from p2law.posttrain import checkpoint
from p2law.posttrain.schedule import eval_steps, warmup_then_constant

# Test hook, never set in the workflow: "K" or "K@RANK" turns the training loss of step K
# (1-based, as in the error message) into NaN, on every rank or on RANK only.
POISON_ENV = "P2LAW_TEST_POISON_LOSS_AT_STEP"


class LossExplodedError(RuntimeError):
    """A finite training loss far above the just-pruned loss: the run has diverged."""


@dataclass(frozen=True)
class PosttrainSettings:
    seq_len: int
    micro_batch: int  # sequences per rank per step
    lr: float  # constant after warm-up
    warmup_tokens: int
    weight_decay: float
    eval_tokens: list[int]  # requested D values (tokens across all ranks)
    eval_sequences: int  # size of the fixed eval set, in sequences of seq_len
    eval_batch: int
    seed: int
    bf16: bool = False  # fp32 otherwise; CPU supports bf16 but not fp16
    progress_every: int = 50  # steps between progress lines
    keep_checkpoints: bool = False
    checkpoint_every_steps: int = 0  # extra checkpoints between eval points (0: eval points only)
    max_loss_factor: float = 2.0  # a train loss above this multiple of L(D=0) counts as exploding

    @classmethod
    def from_dict(cls, values: dict) -> "PosttrainSettings":
        from dataclasses import fields

        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown post-training settings {unknown}; known: {sorted(known)}")
        return cls(**values)

    def fingerprint(self) -> dict:
        """The fields that decide the numbers (not logging or checkpoint cadence)."""
        cosmetic = {"progress_every", "keep_checkpoints", "checkpoint_every_steps",
                    "max_loss_factor"}
        return {k: v for k, v in asdict(self).items() if k not in cosmetic}


def _global_batch(ids: np.ndarray, step: int, batch: int, seed: int) -> np.ndarray:
    """Rows of the global batch of `step`: epoch-wise seeded permutations, no state."""
    n = len(ids)
    first = step * batch
    rows = []
    while len(rows) < batch:
        epoch, offset = divmod(first + len(rows), n)
        order = np.random.default_rng([seed, epoch]).permutation(n)
        rows.extend(order[offset : offset + batch - len(rows)])
    return ids[np.asarray(rows)]


def release_shm_workspace(rank: int) -> None:
    """Unlink this rank's DeepSpeed CPU shared-memory workspace from /dev/shm.

    On CPU, `init_distributed` creates a 69 MB segment per rank, named by master address,
    port and rank, and DeepSpeed never unlinks it: every run (each with its own port) would
    leave ~69 MB x ranks of RAM in /dev/shm until reboot. Once every rank has mapped every
    segment (a barrier after init) the names are no longer needed: the mappings stay valid
    for this run, and the memory is freed when the run exits, even by kill -9. No-op on GPU.
    """
    name = "_".join(["deepspeed_allreduce_buffer", str(os.getuid()),
                     os.environ.get("MASTER_ADDR", ""), os.environ.get("MASTER_PORT", ""),
                     str(rank)])
    Path("/dev/shm", name).unlink(missing_ok=True)


def check_train_loss(run_id: str, loss: float, step: int, tokens_seen: int, pruned_loss: float,
                     max_factor: float) -> None:
    """Stop on a NaN/inf training loss, or one above `max_factor` x the just-pruned loss."""
    if not math.isfinite(loss):
        raise NonFiniteLossError(
            f"{run_id}: training loss is {loss} at step {step} ({tokens_seen} tokens seen); "
            "stopping, no result written")
    if loss > max_factor * pruned_loss:
        raise LossExplodedError(
            f"{run_id}: training loss exploded to {loss:.4f} at step {step} ({tokens_seen} "
            f"tokens seen; more than {max_factor:g} x the just-pruned {pruned_loss:.4f}); "
            "stopping, no result written")


def _poison_step(rank: int) -> int | None:
    value = os.environ.get(POISON_ENV, "").strip()
    if not value:
        return None
    step, _, only = value.partition("@")
    return int(step) if not only or int(only) == rank else None


class PosttrainRun:
    def __init__(self, *, run_id: str, model_dir: str, train_tokens: str, eval_tokens: str,
                 ds_config: dict, settings: PosttrainSettings, scratch: str, log=print):
        import deepspeed
        from deepspeed.accelerator import get_accelerator

        from p2law.models import load_model
        from p2law.posttrain.masks import mask_gradients, masked_parameters

        self.run_id, self.s, self.log, self.scratch = run_id, settings, log, Path(scratch)
        self.accelerator = get_accelerator()
        deepspeed.init_distributed(dist_backend=self.accelerator.communication_backend_name())
        self.rank = torch.distributed.get_rank()
        self.world = torch.distributed.get_world_size()
        torch.distributed.barrier()  # every rank has mapped every rank's shm workspace
        release_shm_workspace(self.rank)
        torch.manual_seed(settings.seed)

        model = load_model(model_dir)
        masks = checkpoint.read_masks(model_dir)
        self.train_ids = sequence_view(load_tokens(train_tokens), settings.seq_len)
        self.eval_ids = sequences(load_tokens(eval_tokens), settings.seq_len, settings.eval_sequences)
        if len(self.eval_ids) < settings.eval_sequences:
            raise ValueError(f"{run_id}: eval split has only {len(self.eval_ids)} sequences, "
                             f"{settings.eval_sequences} requested")
        self.global_batch = settings.micro_batch * self.world
        self.tokens_per_step = self.global_batch * settings.seq_len
        self.eval_at = eval_steps(settings.eval_tokens, self.tokens_per_step)
        warmup_steps = math.ceil(settings.warmup_tokens / self.tokens_per_step)
        if warmup_steps >= self.eval_at[0]:
            raise ValueError(f"{run_id}: warm-up ({warmup_steps} steps) must end before the "
                             f"first eval point (step {self.eval_at[0]})")

        decay = [p for p in model.parameters() if p.dim() >= 2]
        no_decay = [p for p in model.parameters() if p.dim() < 2]
        optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": settings.weight_decay},
             {"params": no_decay, "weight_decay": 0.0}],
            lr=settings.lr, betas=(0.9, 0.95),
        )
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_then_constant(warmup_steps))
        config = dict(ds_config, train_micro_batch_size_per_gpu=settings.micro_batch,
                      gradient_accumulation_steps=1, bf16={"enabled": settings.bf16})
        config.pop("train_batch_size", None)  # implied by micro batch x ranks
        self.engine, _, _, _ = deepspeed.initialize(
            model=model, optimizer=optimizer, lr_scheduler=scheduler, config=config)
        self.masks = masked_parameters(self.engine.module, masks) if masks else []
        if self.masks:
            mask_gradients(self.masks)
            self._apply_masks()
        self.fingerprint = {
            "settings": settings.fingerprint(),
            "world_size": self.world,
            "zero_stage": self.engine.zero_optimization_stage(),
            "bf16": self.engine.bfloat16_enabled(),
            "model": str(Path(model_dir).resolve()),
            "train_tokens": str(Path(train_tokens).resolve()),
            "eval_tokens": str(Path(eval_tokens).resolve()),
            "masked_parameters": len(self.masks),
        }
        self._checkpoint_s = 0.0

    def _apply_masks(self) -> None:
        from p2law.posttrain.masks import apply_masks

        apply_masks(self.masks)

    def _say(self, text: str) -> None:
        if self.rank == 0:
            self.log(f"[{self.run_id}] {text}")

    def _all_reduce(self, values: list[float], op=None) -> torch.Tensor:
        tensor = torch.tensor(values, dtype=torch.float64, device=self.engine.device)
        torch.distributed.all_reduce(tensor, op=op or torch.distributed.ReduceOp.SUM)
        return tensor.cpu()

    @torch.no_grad()
    def evaluate(self, step: int) -> float:
        """Token-mean loss on the fixed eval set; ranks split it and all-reduce the sums.

        Every rank runs the same number of forward passes (ZeRO-3 gathers parameters
        collectively): a rank whose share has run out evaluates a dummy row with weight 0.
        """
        self.engine.eval()
        per_rank = math.ceil(len(self.eval_ids) / self.world)
        share = self.eval_ids[self.rank * per_rank : (self.rank + 1) * per_rank]
        batches = math.ceil(per_rank / self.s.eval_batch)
        total, count = 0.0, 0
        for index in range(batches):
            rows = share[index * self.s.eval_batch : (index + 1) * self.s.eval_batch]
            weight = len(rows)
            batch = torch.as_tensor(rows if weight else self.eval_ids[:1], device=self.engine.device)
            loss = float(self.engine(input_ids=batch, labels=batch).loss)
            if weight:  # all sequences have seq_len tokens: row-weighted = token mean
                total += loss * weight
                count += weight
        sums = self._all_reduce([total, count])
        self.engine.train()
        value = float(sums[0] / sums[1])
        if not math.isfinite(value):
            raise NonFiniteLossError(
                f"{self.run_id}: eval loss is {value} at step {step} "
                f"(D={step * self.tokens_per_step} tokens); stopping, no result written")
        return value

    def _checkpoint(self, step: int, rows: list[dict]) -> None:
        start = time.perf_counter()
        checkpoint.save(self.engine, self.scratch, step, rows, self.fingerprint)
        self._checkpoint_s += time.perf_counter() - start
        self._say(f"checkpoint saved at step {step}")

    def run(self) -> dict:
        checkpoint.check_fingerprint(self.scratch, self.fingerprint, self.run_id)
        state = checkpoint.resume(self.engine, self.scratch)
        step, rows = state["step"], state["rows"]
        if step:
            self._say(f"resumed at step {step} ({step * self.tokens_per_step} tokens)")
        else:
            rows = [{"step": 0, "tokens": 0, "loss": self.evaluate(0)}]
            self._say(f"just-pruned eval loss {rows[0]['loss']:.4f}")
        last_step = self.eval_at[-1]
        poison = _poison_step(self.rank)
        start, start_step = time.time(), step
        train_s, loss_sum, loss_n = 0.0, 0.0, 0
        while step < last_step:
            tick = time.perf_counter()
            batch = _global_batch(self.train_ids, step, self.global_batch, self.s.seed)
            mine = batch[self.rank * self.s.micro_batch : (self.rank + 1) * self.s.micro_batch]
            mine = torch.as_tensor(as_ids(mine), device=self.engine.device)
            loss = self.engine(input_ids=mine, labels=mine).loss
            if poison == step + 1:
                loss = loss * float("nan")
            train_loss = float(self._all_reduce([float(loss.detach())])[0]) / self.world
            check_train_loss(self.run_id, train_loss, step + 1, step * self.tokens_per_step,
                             rows[0]["loss"], self.s.max_loss_factor)
            self.engine.backward(loss)
            self.engine.step()
            if self.masks:
                self._apply_masks()
            step += 1
            train_s += time.perf_counter() - tick
            loss_sum, loss_n = loss_sum + train_loss, loss_n + 1
            if step % self.s.progress_every == 0 or step in self.eval_at:
                elapsed = time.time() - start
                rate = (step - start_step) * self.tokens_per_step / max(elapsed, 1e-9)
                eta = (last_step - step) * self.tokens_per_step / max(rate, 1e-9)
                self._say(f"step {step}/{last_step} tokens {step * self.tokens_per_step}/"
                          f"{last_step * self.tokens_per_step} train loss {loss_sum / loss_n:.4f} "
                          f"{rate:.0f} tok/s eta {eta:.0f}s")
                loss_sum, loss_n = 0.0, 0
            if step in self.eval_at:
                rows.append({"step": step, "tokens": step * self.tokens_per_step,
                             "loss": self.evaluate(step)})
                self._say(f"eval D={rows[-1]['tokens']} loss {rows[-1]['loss']:.4f}")
            if step < last_step and (step in self.eval_at or (
                    self.s.checkpoint_every_steps
                    and step % self.s.checkpoint_every_steps == 0)):
                self._checkpoint(step, rows)
        wall = time.time() - start
        session_tokens = (last_step - start_step) * self.tokens_per_step
        peak = self._all_reduce([self._peak_rss_mb(), self._peak_device_mb()],
                                torch.distributed.ReduceOp.MAX)
        return {
            "run_id": self.run_id,
            "rows": rows,
            "summary": {
                "run_id": self.run_id,
                "tokens": last_step * self.tokens_per_step,
                "steps": last_step,
                "tokens_per_step": self.tokens_per_step,
                "tokens_this_session": session_tokens,
                "resumed_from_step": start_step,
                "wall_s": wall,
                "tokens_per_s": session_tokens / max(wall, 1e-9),
                "train_s": train_s,
                "train_tokens_per_s": session_tokens / max(train_s, 1e-9),
                "checkpoint_s": self._checkpoint_s,
                "peak_rss_mb": float(peak[0]),
                "peak_device_mb": float(peak[1]) if self.accelerator.device_name() != "cpu"
                else None,
                "final_loss": rows[-1]["loss"],
                "world_size": self.world,
                "zero_stage": self.engine.zero_optimization_stage(),
                "bf16": self.engine.bfloat16_enabled(),
                "masked_parameters": len(self.masks),
                "torch_extensions_dir": os.environ.get("TORCH_EXTENSIONS_DIR"),
                # throughput depends on them (p2law/malloc.py); None where unset
                "malloc_env": {key: os.environ.get(key) for key in MALLOC_ENV},
                "settings": asdict(self.s),
            },
        }

    @staticmethod
    def _peak_rss_mb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    def _peak_device_mb(self) -> float:
        if self.accelerator.device_name() == "cpu":
            return 0.0
        return self.accelerator.max_memory_allocated() / 2**20

    def save_model(self, directory: str) -> None:
        """Post-trained weights as an HF checkpoint, in fp32 from the optimizer's masters.

        Collective: every rank takes part in gathering (ZeRO-3 partitions, ZeRO-1/2 master
        fragments); rank 0 writes into a temporary folder and renames it into place.
        """
        import shutil

        from p2law.posttrain.masks import full_fp32_state_dict

        state = full_fp32_state_dict(self.engine.module, self.rank)
        if self.rank == 0:
            target = Path(directory)
            tmp = target.with_name(f"{target.name}.tmp.{os.getpid()}")
            shutil.rmtree(tmp, ignore_errors=True)
            self.engine.module.save_pretrained(tmp, state_dict=state, safe_serialization=True)
            config = json.loads((tmp / "config.json").read_text())
            if config.get("dtype") not in (None, "float32"):  # a bf16 run: weights are fp32
                config["dtype"] = "float32"
                (tmp / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True))
            if (Path(self.fingerprint["model"]) / checkpoint.MASKS_FILE).exists():
                shutil.copy2(Path(self.fingerprint["model"]) / checkpoint.MASKS_FILE, tmp)
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
        torch.distributed.barrier()

    def finish(self) -> None:
        torch.distributed.barrier()
        if self.rank == 0 and not self.s.keep_checkpoints:
            checkpoint.clear(self.scratch)


def write_outputs(result: dict, curve_csv: str, summary_json: str) -> None:
    """Atomic writes: a killed job never leaves a file that looks finished."""
    import pandas as pd

    for path, write in (
        (curve_csv, lambda p: pd.DataFrame(result["rows"]).to_csv(p, index=False)),
        (summary_json, lambda p: Path(p).write_text(json.dumps(result["summary"], indent=2))),
    ):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        tmp = f"{path}.tmp.{os.getpid()}"
        write(tmp)
        os.replace(tmp, path)
