"""Provenance records: a config hash of exactly what defines a run, versions, seed, commit."""

import copy
import re
from pathlib import Path

import pytest
import yaml

from p2law.provenance import PACKAGES, config_hash, git_commit, record, run_spec

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = yaml.safe_load((ROOT / "config.yaml").read_text())
PAPER = yaml.safe_load((ROOT / "config/paper.yaml").read_text())
RUN = ("llama-s", "depth", "0.2")


def _hash(config, run=RUN, stage="posttrain"):
    return config_hash(run_spec(config, *run, stage=stage))


def _edit(path, value, base=DEFAULT):
    config = copy.deepcopy(base)
    *parents, last = path.split("/")
    node = config
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return config


UNRELATED = [  # edits that define other runs or only the analysis: the run's hash stays
    ("fit/laws", ["L1", "H2"]),
    ("analysis/bootstrap", 7),
    ("units/d", 1e9),
    ("tables_dir", "elsewhere"),
    ("profile", "smoke"),
    ("models/llama-m/hidden_size", 40),
    (
        "models/llama-xl",
        {
            "family": "llama",
            "hidden_size": 96,
            "num_layers": 8,
            "num_heads": 4,
            "num_kv_heads": 2,
            "intermediate_size": 256,
        },
    ),
    ("pruning/methods/depth/rates", [0.1, 0.2, 0.3, 0.4]),
    ("pruning/methods/width", {"rates": [0.2]}),
    ("posttrain/keep_checkpoints", True),
    ("resources", {"posttrain": {"mem_mb": 9000}}),
]
DEFINING = [  # edits that change what the run computes: the hash changes
    ("seed", 1),
    ("seq_len", 64),
    ("models/llama-s/hidden_size", 40),
    ("models/llama-s/lr", 5e-4),
    ("pretrain/lr", 1e-3),
    ("tokenizer/vocab_size", 512),
    ("corpus/pretrain_fraction", 0.3),
    ("pruning/methods/depth/criterion", "contiguous"),
    ("pruning/calibration_sequences", 8),
    ("posttrain/lr", 2e-3),
    ("posttrain/zero_stage", 3),
    ("posttrain/eval_tokens", {"first": 2048, "last": 262144, "points": 10}),
]


@pytest.mark.parametrize("path,value", UNRELATED, ids=[u[0] for u in UNRELATED])
def test_unrelated_edits_keep_the_hash(path, value):
    assert _hash(_edit(path, value)) == _hash(DEFAULT)


@pytest.mark.parametrize("path,value", DEFINING, ids=[d[0] for d in DEFINING])
def test_defining_edits_change_the_hash(path, value):
    assert _hash(_edit(path, value)) != _hash(DEFAULT)


def test_each_run_has_its_own_hash_and_stages_see_only_what_is_upstream():
    assert _hash(DEFAULT, ("llama-s", "depth", "0.3")) != _hash(DEFAULT)
    assert _hash(DEFAULT, ("llama-m", "depth", "0.2")) != _hash(DEFAULT)
    # the wildcard string and the configured float are the same rate
    assert _hash(DEFAULT, ("llama-s", "depth", 0.2)) == _hash(DEFAULT)
    post_edit = _edit("posttrain/lr", 2e-3)
    assert _hash(post_edit, stage="prune") == _hash(DEFAULT, stage="prune")
    assert _hash(_edit("pruning/methods/depth/criterion", "contiguous"), stage="base") == _hash(
        DEFAULT, stage="base"
    )


def test_hub_models_are_not_defined_by_the_trained_tokenizer_or_pretraining():
    run = ("qwen2.5-0.5b", "depth", "0.25")
    spec = run_spec(PAPER, *run)
    assert spec["pretrain"] is None and spec["data"]["tokenizer"] is None
    assert spec["model"]["checkpoint"] == PAPER["models"]["qwen2.5-0.5b"]["checkpoint"]


def test_record_has_hash_seed_versions_and_commit():
    spec = run_spec(DEFAULT, *RUN)
    rec = record(spec, seed=0)
    assert rec["config_sha256"] == config_hash(spec) and re.fullmatch(
        "[0-9a-f]{64}", rec["config_sha256"]
    )
    assert rec["seed"] == 0 and rec["spec"] == spec
    assert set(rec["packages"]) == set(PACKAGES)
    assert rec["packages"]["torch"].startswith("2.") and rec["packages"]["p2law"]
    assert rec["git_commit"] == "unknown" or re.fullmatch("[0-9a-f]{40}", rec["git_commit"])


def test_commit_is_unknown_outside_git(tmp_path, monkeypatch):
    monkeypatch.setenv("P2LAW_ROOT", str(tmp_path))
    assert git_commit() == {"git_commit": "unknown", "git_dirty": None}
