"""Bad configurations are refused before any job runs, with the key and the reason."""

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from p2law.config import ConfigError, check

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = yaml.safe_load((ROOT / "config.yaml").read_text())


def _with(path: str, value):
    config = copy.deepcopy(DEFAULT)
    *parents, last = path.split("/")
    node = config
    for key in parents:
        node = node[key]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return config


_DELETE = object()

# (description, config path, bad value, words the message must contain)
BAD = [
    ("unknown top-level key", "colour", "blue", ["colour"]),
    ("unknown nested key", "posttrain/optimiser", "sgd", ["posttrain", "optimiser"]),
    ("wrong type", "seed", "zero", ["seed"]),
    ("negative rate", "pruning/methods/depth/rates", [-0.1], ["rates"]),
    ("rate of one", "pruning/methods/depth/rates", [1.0], ["rates"]),
    ("rate a model cannot reach", "pruning/methods/depth/rates", [0.95], ["rates", "llama-"]),
    ("empty model list", "models", {}, ["models"]),
    ("unknown pruning method", "pruning/methods/prune_all", {"rates": [0.1]}, ["prune_all"]),
    ("unknown criterion", "pruning/methods/depth/criterion", "random", ["random"]),
    ("unknown ZeRO stage", "posttrain/zero_stage", 4, ["zero_stage"]),
    ("budget below one batch", "posttrain/eval_tokens",
     {"first": 100, "last": 200, "points": 2}, ["eval_tokens/first", "global batch"]),
    ("warm-up past first eval", "posttrain/warmup_tokens", 8192, ["warmup_tokens"]),
    ("eval points collapse", "posttrain/eval_tokens",
     {"first": 4096, "last": 8192, "points": 9}, ["eval_tokens", "distinct steps"]),
    ("fit cut-off beyond budget", "fit/min_tokens", 10**9, ["fit/min_tokens"]),
    ("unknown law", "fit/laws", ["L99"], ["L99"]),
    ("heads do not divide hidden", "models/llama-s/num_heads", 3, ["llama-s", "num_heads"]),
    ("missing corpus", "corpus", _DELETE, ["corpus"]),
    ("unknown corpus source", "corpus/source", "tinystories", ["source"]),
]


@pytest.mark.parametrize("what,path,value,words", BAD, ids=[b[0] for b in BAD])
def test_bad_config_is_refused_with_key_and_reason(what, path, value, words):
    with pytest.raises(ConfigError) as err:
        check(_with(path, value))
    for word in words:
        assert word in str(err.value), f"{what}: {err.value}"


def test_shipped_configs_pass():
    check(copy.deepcopy(DEFAULT))
    check(yaml.safe_load((ROOT / "tests/configs/smoke.yaml").read_text()))


def test_snakemake_refuses_bad_config_before_any_job(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(_with("posttrain/zero_stage", 7)))
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--configfile", str(bad),
         "--directory", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode != 0
    assert "zero_stage" in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()
