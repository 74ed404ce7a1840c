"""Build DeepSpeed's JIT ops once, into a project cache shared by every job.

torch compiles JIT extensions into `TORCH_EXTENSIONS_DIR` (by default a per-user folder). We
pin it to `<project>/.cache/torch_extensions`, so the ~40 s compile of DeepSpeed's CPU
shared-memory communication op happens once per checkout (in a warm-up rule or CI step), not in
every post-training job; concurrent builders share one build through torch's file lock.

    python -m p2law.posttrain.warm_ops [--ops ShareMemCommBuilder,CPUAdamBuilder]

prints one JSON line per op: its name, the shared library, whether this call compiled it
(false when the cache was already warm) and the seconds it took.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ENV = "TORCH_EXTENSIONS_DIR"


def project_root() -> Path:
    """The checkout holding this package (editable install), else the working directory."""
    here = Path(__file__).resolve().parents[2]
    return here if (here / "pyproject.toml").exists() else Path.cwd()


def extensions_dir() -> Path:
    """Where JIT ops are cached: $TORCH_EXTENSIONS_DIR, else the project's `.cache`."""
    value = os.environ.get(ENV)
    return Path(value) if value else project_root() / ".cache" / "torch_extensions"


def use_project_cache() -> Path:
    """Point TORCH_EXTENSIONS_DIR at the project cache unless the caller chose one."""
    path = extensions_dir()
    os.environ[ENV] = str(path)
    return path


def default_ops() -> list[str]:
    """Ops the post-training engine JIT-loads on this machine's accelerator.

    On CPU, `deepspeed.init_distributed` loads the shared-memory communication op. The engine
    uses torch's AdamW as its optimizer, so no DeepSpeed optimizer op is needed; on GPU
    (NCCL) nothing is compiled.
    """
    from deepspeed.accelerator import get_accelerator

    return ["ShareMemCommBuilder"] if get_accelerator().device_name() == "cpu" else []


def _library(builder, root: Path) -> Path | None:
    found = sorted((root / builder.name).glob("*.so")) if (root / builder.name).exists() else []
    return found[0] if found else None


def warm(ops: list[str] | None = None) -> list[dict]:
    """Load (compiling if needed) each op into the cache; describe what happened."""
    root = use_project_cache()
    root.mkdir(parents=True, exist_ok=True)
    import deepspeed.ops
    from deepspeed.accelerator import get_accelerator

    report = []
    for name in default_ops() if ops is None else ops:
        builder = get_accelerator().create_op_builder(name)
        if builder is None:
            raise ValueError(f"DeepSpeed has no op {name!r} on the "
                             f"{get_accelerator().device_name()} accelerator")
        if not deepspeed.ops.__compatible_ops__.get(builder.NAME, False):
            raise RuntimeError(f"DeepSpeed op {name} is not compatible with this machine")
        before = _library(builder, root)
        stamp = before.stat().st_mtime_ns if before else None
        start = time.perf_counter()
        builder.load(verbose=False)
        seconds = time.perf_counter() - start
        after = _library(builder, root)
        report.append({
            "op": name,
            "library": str(after) if after else None,
            "compiled": after is not None and (stamp is None or after.stat().st_mtime_ns != stamp),
            "seconds": round(seconds, 3),
            "cache": str(root),
        })
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m p2law.posttrain.warm_ops",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", help="comma-separated DeepSpeed op builders "
                                      "(default: those the engine needs here)")
    args = parser.parse_args(argv)
    ops = [op for op in args.ops.split(",") if op] if args.ops else None
    for line in warm(ops):
        print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
