"""The `deepspeed` launcher command line for one post-training run.

Each run gets its own free rendezvous port (`p2law.ports`), so concurrent jobs on one node
never collide on the launcher's default port 29500; JIT ops
come from the project cache, compiled by one ninja (`warm_ops`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from p2law.ports import launcher_port
from p2law.posttrain.warm_ops import ENV, extensions_dir, path_with_venv_ninja


def command(run_id: str, ranks: int, args: list[str], deepspeed: str | None = None) -> list[str]:
    """argv for `deepspeed --num_gpus RANKS --master_port PORT --module p2law.posttrain ...`.

    `args` are the module's own flags after `--run-id` (model, tokens, config, outputs).
    """
    if ranks < 1:
        raise ValueError(f"{run_id}: need at least one rank, got {ranks}")
    launcher = deepspeed or str(Path(sys.executable).with_name("deepspeed"))
    return [launcher, "--num_gpus", str(ranks), "--master_port", str(launcher_port(run_id)),
            "--module", "p2law.posttrain", "--run-id", run_id, *args]


def environment(base: dict | None = None) -> dict:
    """The environment for a launch: the caller's, with the project's JIT-op cache and this
    environment's ninja first on PATH (see `warm_ops`)."""
    env = dict(os.environ if base is None else base)
    env.setdefault(ENV, str(extensions_dir()))
    env["PATH"] = path_with_venv_ninja(env.get("PATH", ""))
    return env
