"""Resumable DeepSpeed state in a scratch folder that is never a declared workflow output.

A killed job keeps its scratch folder; started again it resumes from the newest checkpoint.
Only the newest checkpoint is kept while running. The `latest` file that names it is written
by us, atomically, after a barrier that follows every rank's shards (DeepSpeed's own write
truncates the file in place and can run before the other ranks have finished), and older
tags are removed only after that: a kill at any moment leaves `latest` naming a complete
checkpoint.

The folder also holds `fingerprint.json`: everything that decides the numbers (settings,
ranks, ZeRO stage, precision, inputs). A restart with different values refuses to resume
rather than silently mixing two runs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

MASKS_FILE = "masks.safetensors"
FINGERPRINT = "fingerprint.json"


class CheckpointMismatchError(RuntimeError):
    """The scratch folder holds a checkpoint of a run with different settings."""


def read_masks(model_dir: str | Path) -> dict:
    """2:4 keep-masks stored beside a pruned checkpoint, or {} for structured pruning."""
    path = Path(model_dir) / MASKS_FILE
    if not path.exists():
        return {}
    from safetensors.torch import load_file

    return {name: mask.bool() for name, mask in load_file(str(path)).items()}


def check_fingerprint(scratch: Path, fingerprint: dict, run_id: str) -> None:
    """Raise unless a checkpoint in `scratch` (if any) was made by a run with `fingerprint`."""
    path = scratch / FINGERPRINT
    if not (scratch / "latest").exists() or not path.exists():
        return
    saved = json.loads(path.read_text())
    expected = json.loads(json.dumps(fingerprint))  # same JSON types as the saved copy
    if saved != expected:
        diff = sorted(k for k in set(saved) | set(expected) if saved.get(k) != expected.get(k))
        raise CheckpointMismatchError(
            f"{run_id}: the checkpoint in {scratch} was made with different "
            f"{', '.join(diff)}; delete the folder to start again")


def check_files(scratch: Path) -> None:
    """Raise, naming the file, if the checkpoint `latest` names is missing or truncated.

    A file damaged after it was written (disk full, a copy cut short) would otherwise fail
    inside torch.load with a message naming no file, or be loaded in part.
    """
    from p2law.integrity import CorruptFileError, check_torch_file

    tag = (scratch / "latest").read_text().strip()
    files = sorted((scratch / tag).glob("*.pt")) if tag else []
    if not files:
        raise CorruptFileError(f"{scratch / 'latest'} names checkpoint {tag!r}, which has no "
                               f"files: delete {scratch} to restart")
    for path in files:
        try:
            check_torch_file(path)
        except CorruptFileError as err:
            raise CorruptFileError(f"{err}; delete {scratch} to restart") from None


def resume(engine, scratch: Path) -> dict:
    """Load the newest checkpoint in `scratch`, if any; returns its step and curve so far."""
    if not (scratch / "latest").exists():
        return {"step": 0, "rows": []}
    check_files(scratch)
    path, client = engine.load_checkpoint(str(scratch))
    if path is None or not client or "step" not in client:
        raise RuntimeError(
            f"checkpoint in {scratch} is unreadable or incomplete: delete the folder to restart"
        )
    return {"step": client["step"], "rows": client["rows"]}


def save(engine, scratch: Path, step: int, rows: list[dict], fingerprint: dict) -> None:
    """Save step `step`, point `latest` at it, then drop older tags."""
    import torch.distributed as dist

    tag = f"step{step:08d}"
    if engine.global_rank == 0:
        scratch.mkdir(parents=True, exist_ok=True)
        tmp = scratch / f"{FINGERPRINT}.tmp"
        tmp.write_text(json.dumps(fingerprint, indent=2, sort_keys=True))
        tmp.replace(scratch / FINGERPRINT)
    engine.save_checkpoint(str(scratch), tag=tag, client_state={"step": step, "rows": rows},
                           save_latest=False)
    dist.barrier()  # every rank's shards are on disk before `latest` names them
    if engine.global_rank == 0:
        tmp = scratch / "latest.tmp"
        tmp.write_text(tag)
        tmp.replace(scratch / "latest")
        for old in scratch.glob("step*"):
            if old.name != tag and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)


def clear(scratch: Path) -> None:
    shutil.rmtree(scratch, ignore_errors=True)
