"""Provenance of one result: what defined it, with which code, so it can be matched or redone.

The config hash covers exactly the settings upstream of a run (its base model, data, pruning
and post-training settings), never the whole config: adding a law, a figure option or another
model changes no existing run's hash. Records go into run.json / prune.json / train.json only,
never into the tables, which must stay byte-identical between reruns.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = ("torch", "transformers", "deepspeed", "snakemake", "p2law")
# What each stage's result depends on: a stage inherits everything upstream of it.
STAGES = {
    "base": ("model", "data", "pretrain", "seed"),
    "prune": ("model", "data", "pretrain", "seed", "pruning"),
    "posttrain": ("model", "data", "pretrain", "seed", "pruning", "posttrain"),
}


def run_spec(config: dict, model: str, method: str, rate, stage: str = "posttrain") -> dict:
    """The settings that define `model` pruned by `method` at `rate` and post-trained."""
    spec = config["models"][model]
    built = "checkpoint" not in spec
    post = {k: v for k, v in config["posttrain"].items() if k != "keep_checkpoints"}
    post["lr"] = spec.get("lr", post["lr"])  # a per-model LR overrides the shared one
    full = {
        "model": {"name": model, **{k: v for k, v in spec.items() if k != "lr"}},
        # a hub model brings its own tokenizer and weights: the trained BPE and pretraining
        # settings define only built models
        "data": {
            "corpus": config["corpus"],
            "seq_len": config["seq_len"],
            "tokenizer": config.get("tokenizer") if built else None,
        },
        "pretrain": config.get("pretrain") if built else None,
        "seed": config["seed"],
        "pruning": {
            "method": method,
            "rate": float(rate),
            "criterion": config["pruning"]["methods"][method].get("criterion"),
            "calibration_sequences": config["pruning"]["calibration_sequences"],
        },
        "posttrain": post,
    }
    return {key: full[key] for key in STAGES[stage]}


def config_hash(spec: dict) -> str:
    """sha256 of the spec as canonical JSON (sorted keys, no whitespace)."""
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit() -> dict:
    """The checkout's commit and whether tracked files differ from it; "unknown" outside git."""
    root = os.environ.get("P2LAW_ROOT") or str(Path(__file__).resolve().parent.parent)

    def git(*args):
        done = subprocess.run(
            ["git", "-C", root, *args], capture_output=True, text=True, timeout=30
        )
        return done.stdout.strip() if done.returncode == 0 else None

    try:
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no") if commit else None
    except (OSError, subprocess.TimeoutExpired):
        commit = dirty = None
    return {"git_commit": commit or "unknown", "git_dirty": bool(dirty) if commit else None}


def record(spec: dict, seed: int) -> dict:
    """The provenance block written beside a result."""
    return {
        "config_sha256": config_hash(spec),
        "seed": seed,
        **git_commit(),
        "packages": package_versions(),
        "spec": spec,
    }
