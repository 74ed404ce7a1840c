"""Build DeepSpeed's JIT ops once, into a project cache shared by every job.

torch compiles JIT extensions into `TORCH_EXTENSIONS_DIR` (by default a per-user folder). We
pin it to `<project>/.cache/torch_extensions`, so the ~40 s compile of DeepSpeed's CPU
shared-memory communication op happens once per checkout (in a warm-up rule or CI step), not in
every post-training job; concurrent builders share one build through torch's file lock.

The cache is only reused if every process compiles with the same ninja: ninja 1.11 (the
system's) and 1.12+ (the pinned `ninja` wheel in the venv) do not read each other's build
log, so a job that finds the other one on its PATH recompiles the op (~2 min on a loaded
2-core machine), and the next job of the other kind recompiles it back. `use_project_cache`
therefore also puts the ninja installed beside this Python first on PATH.

Likewise a build is only valid for the Python environment that compiled it (its torch headers
and paths are in the build file): a second checkout or venv pointed at the same cache would
recompile it on every load, alternating with the first. Ops therefore go into a subfolder
per environment, `<cache>/<env_tag()>` (e.g. `py311-torch2.13.0-ds0.19.8-3f2a9c1e`, the
last part a hash of the venv's path), under `$TORCH_EXTENSIONS_DIR` if set, else
`<project>/.cache/torch_extensions`.

    python -m p2law.posttrain.warm_ops [--ops ShareMemCommBuilder,CPUAdamBuilder] [--stamp F]

prints one JSON line per op: its name, the shared library, whether this call compiled it
(false when the cache was already warm) and the seconds it took; `--stamp` also writes that
report as one JSON file (atomically, after every op loaded), for a workflow rule's output.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

ENV = "TORCH_EXTENSIONS_DIR"


def project_root() -> Path:
    """The checkout holding this package (editable install), else the working directory."""
    here = Path(__file__).resolve().parents[2]
    return here if (here / "pyproject.toml").exists() else Path.cwd()


def env_tag() -> str:
    """Names the Python environment a build belongs to: versions and the venv's path."""
    from importlib.metadata import version

    prefix = hashlib.sha1(str(Path(sys.prefix).resolve()).encode()).hexdigest()[:8]
    tag = (f"py{sys.version_info.major}{sys.version_info.minor}-torch{version('torch')}"
           f"-ds{version('deepspeed')}-{prefix}")
    return re.sub(r"[^A-Za-z0-9._-]", "_", tag)


def extensions_dir() -> Path:
    """Where this environment's JIT ops are cached: `<root>/<env_tag()>`, the root being
    $TORCH_EXTENSIONS_DIR (if it does not already name this environment's folder) or else
    the project's `.cache/torch_extensions`."""
    value = os.environ.get(ENV)
    root = Path(value) if value else project_root() / ".cache" / "torch_extensions"
    tag = env_tag()
    return root if root.name == tag else root / tag


def venv_bin() -> Path | None:
    """The folder of this Python's console scripts, if the pinned ninja is installed there."""
    here = Path(sys.executable).parent
    return here if (here / "ninja").exists() else None


def path_with_venv_ninja(path: str) -> str:
    """PATH with this environment's ninja first (unchanged if it has none)."""
    first = venv_bin()
    if first is None:
        return path
    rest = [entry for entry in path.split(os.pathsep) if entry and entry != str(first)]
    return os.pathsep.join([str(first), *rest])


def use_project_cache() -> Path:
    """Point TORCH_EXTENSIONS_DIR at the project cache (unless the caller chose one) and
    compile with this environment's pinned ninja."""
    path = extensions_dir()
    os.environ[ENV] = str(path)
    os.environ["PATH"] = path_with_venv_ninja(os.environ.get("PATH", ""))
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
            "ninja": shutil.which("ninja"),
        })
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m p2law.posttrain.warm_ops",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", help="comma-separated DeepSpeed op builders "
                                      "(default: those the engine needs here)")
    parser.add_argument("--stamp", help="also write the report here as JSON once all ops load")
    args = parser.parse_args(argv)
    ops = [op for op in args.ops.split(",") if op] if args.ops else None
    report = warm(ops)
    for line in report:
        print(json.dumps(line), flush=True)
    if args.stamp:
        stamp = Path(args.stamp)
        stamp.parent.mkdir(parents=True, exist_ok=True)
        tmp = stamp.with_name(f"{stamp.name}.tmp.{os.getpid()}")
        tmp.write_text(json.dumps({"ops": report, "cache": str(extensions_dir())}, indent=2))
        os.replace(tmp, stamp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
