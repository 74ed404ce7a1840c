"""Bad configurations are refused before any job runs, with the key and the reason."""

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from p2law.config import ConfigError, built_models, check, check_files, plan_config
from p2law.prune import check_rate

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = yaml.safe_load((ROOT / "config.yaml").read_text())
PAPER = yaml.safe_load((ROOT / "config/paper.yaml").read_text())
SMOKE = yaml.safe_load((ROOT / "tests/configs/smoke.yaml").read_text())
_DELETE = object()


def set_(path: str, value, base=DEFAULT):
    """A mutation: `base` with the value at `path` ("a/b/c") replaced (or deleted)."""

    def mutate():
        config = copy.deepcopy(base)
        *parents, last = path.split("/")
        node = config
        for key in parents:
            node = node.setdefault(key, {})
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value
        return config

    return mutate


# (what is wrong, mutation, words the message must contain: the key, then the reason)
BAD = [
    ("unknown top-level key", set_("colour", "blue"), ["'colour'", "unknown key"]),
    (
        "unknown nested key",
        set_("posttrain/optimiser", "sgd"),
        ["'posttrain/optimiser'", "unknown key"],
    ),
    ("wrong type", set_("seed", "zero"), ["seed", "not of type"]),
    ("float where integer", set_("posttrain/micro_batch", 2.5), ["micro_batch", "integer"]),
    ("negative seed", set_("seed", -1), ["seed", "minimum"]),
    ("negative rate", set_("pruning/methods/depth/rates", [-0.1]), ["rates", "-0.1"]),
    ("rate of one", set_("pruning/methods/depth/rates", [1.0]), ["rates", "1.0"]),
    ("rate as a string", set_("pruning/methods/depth/rates", ["0.2"]), ["rates", "number"]),
    ("rate a model cannot reach", set_("pruning/methods/depth/rates", [0.95]), ["rates", "llama-"]),
    ("duplicate rates", set_("pruning/methods/depth/rates", [0.2, 0.2]), ["rates", "non-unique"]),
    (
        "rates with one run name",
        set_("pruning/methods/depth/rates", [0.1234561, 0.1234562]),
        ["depth/rates", "duplicate run names"],
    ),
    ("empty model list", set_("models", {}), ["models", "non-empty"]),
    (
        "unknown model family",
        set_("models/llama-s/family", "gpt2"),
        ["models/llama-s/family", "gpt2"],
    ),
    (
        "heads do not divide hidden",
        set_("models/llama-s/num_heads", 3),
        ["llama-s", "num_heads", "does not divide"],
    ),
    (
        "kv heads do not divide heads",
        set_("models/llama-m/num_kv_heads", 3),
        ["llama-m", "num_kv_heads", "does not divide"],
    ),
    (
        "unknown pruning method",
        set_("pruning/methods/prune_all", {"rates": [0.1]}),
        ["pruning/methods/prune_all", "unknown key"],
    ),
    (
        "unknown criterion",
        set_("pruning/methods/depth/criterion", "random"),
        ["depth/criterion", "random"],
    ),
    ("unknown ZeRO stage", set_("posttrain/zero_stage", 4), ["zero_stage", "4"]),
    ("no ranks", set_("posttrain/ranks", 0), ["ranks", "minimum"]),
    (
        "budget below one batch",
        set_("posttrain/eval_tokens", {"first": 100, "last": 200, "points": 2}),
        ["eval_tokens/first", "global batch"],
    ),
    (
        "eval points in the wrong order",
        set_("posttrain/eval_tokens", {"first": 8192, "last": 4096, "points": 3}),
        ["eval_tokens/first", "below last"],
    ),
    (
        "eval points collapse",
        set_("posttrain/eval_tokens", {"first": 4096, "last": 8192, "points": 9}),
        ["eval_tokens", "distinct steps"],
    ),
    (
        "warm-up past first eval",
        set_("posttrain/warmup_tokens", 8192),
        ["warmup_tokens", "before the first eval point"],
    ),
    (
        "fit cut-off beyond budget",
        set_("fit/min_tokens", 10**9),
        ["fit/min_tokens", "beyond the last eval point"],
    ),
    (
        "eval points beyond a streamed corpus",
        set_("corpus/splits/posttrain/tokens", 10**6, PAPER),
        ["corpus/splits/posttrain/tokens", "below"],
    ),
    (
        "GPUs differ from ranks",
        set_("resources/posttrain/gpu", 2, PAPER),
        ["resources/posttrain/gpu", "ranks"],
    ),
    (
        "2:4 rate other than one half",
        set_("pruning/methods/sparse24/rates", [0.3], PAPER),
        ["sparse24/rates", "only 0.5"],
    ),
    ("unknown law", set_("fit/laws", ["L99"]), ["fit/laws", "L99"]),
    ("duplicate laws", set_("fit/laws", ["L1", "L1"]), ["fit/laws", "non-unique"]),
    ("unknown analysis law", set_("analysis/law", "L99"), ["analysis/law", "L99"]),
    ("missing corpus", set_("corpus", _DELETE), ["'corpus'", "required"]),
    ("unknown corpus source", set_("corpus/source", "tinystories"), ["source", "tinystories"]),
    ("built models without pretraining", set_("pretrain", _DELETE), ["pretrain", "required"]),
    (
        "decay longer than pretraining",
        set_("pretrain/decay_epochs", 1000),
        ["pretrain/decay_epochs", "exceeds epochs"],
    ),
    ("zero decay epochs", set_("pretrain/decay_epochs", 0), ["decay_epochs", "0"]),
]


@pytest.mark.parametrize("what,mutate,words", BAD, ids=[b[0] for b in BAD])
def test_bad_config_is_refused_with_key_and_reason(what, mutate, words):
    with pytest.raises(ConfigError) as err:
        check(mutate())
    for word in words:
        assert word in str(err.value), f"{what}: {err.value}"


def test_shipped_configs_pass():
    check(copy.deepcopy(DEFAULT))
    check(copy.deepcopy(PAPER))
    check(copy.deepcopy(SMOKE))
    check(set_("pretrain/decay_epochs", DEFAULT["pretrain"]["epochs"])())  # decay = epochs: fine


PLANNED = [(profile, name, method, spec["criterion"], rate)
           for profile, config in {"default": DEFAULT, "smoke": SMOKE}.items()
           for name in built_models(config)
           for method, spec in config["pruning"]["methods"].items() for rate in spec["rates"]]


def _hf_config(config, name):
    """The real HF config p2law.base_model builds for a model of the config (no weights)."""
    from p2law.models import build_config

    spec = config["models"][name]
    return build_config(spec["family"], vocab_size=config["tokenizer"]["vocab_size"],
                        hidden_size=spec["hidden_size"], num_layers=spec["num_layers"],
                        num_heads=spec["num_heads"], num_kv_heads=spec["num_kv_heads"],
                        intermediate_size=spec["intermediate_size"],
                        max_position_embeddings=config["seq_len"])


@pytest.mark.parametrize("profile,name,method,criterion,rate", PLANNED)
def test_torch_free_plan_config_plans_as_the_hf_config(profile, name, method, criterion, rate):
    config = {"default": DEFAULT, "smoke": SMOKE}[profile]
    light, real = plan_config(config, name), _hf_config(config, name)
    assert {key: getattr(real, key) for key in vars(light)} == vars(light)
    assert check_rate(light, method, rate, criterion) == check_rate(real, method, rate, criterion)


@pytest.mark.parametrize("configfile", ["config.yaml", "tests/configs/smoke.yaml"])
def test_config_check_imports_no_torch(configfile):
    """Every snakemake start and cluster job runs the check: torch would add seconds to each,
    the fitting stack (pandas, scipy) most of one."""
    code = ("import sys, yaml, p2law.config\n"
            f"p2law.config.check(yaml.safe_load(open({configfile!r})))\n"
            "loaded = {'torch', 'transformers', 'safetensors', 'pandas', 'scipy'} & set(sys.modules)\n"
            "assert not loaded, f'the config check imported {sorted(loaded)}'\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def _duplicate_model(tmp_path) -> Path:
    """The default config with a model named twice (YAML itself would keep the second)."""
    text = (ROOT / "config.yaml").read_text()
    line = next(x for x in text.splitlines() if x.strip().startswith("llama-s:"))
    path = tmp_path / "duplicate.yaml"
    path.write_text(text.replace(line, f"{line}\n{line}"))
    return path


def test_a_key_given_twice_in_a_file_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"duplicate\.yaml: config key 'llama-s': given twice"):
        check_files([_duplicate_model(tmp_path)])
    check_files([ROOT / "config.yaml", ROOT / "config/paper.yaml"])


def _bad_file(kind, tmp_path) -> Path:
    if kind == "duplicate model name":
        return _duplicate_model(tmp_path)
    mutate = {
        "schema: unknown ZeRO stage": set_("posttrain/zero_stage", 7),
        "semantic: decay beyond epochs": set_("pretrain/decay_epochs", 1000),
    }[kind]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(mutate()))
    return path


@pytest.mark.parametrize(
    "kind,key",
    [
        ("schema: unknown ZeRO stage", "zero_stage"),
        ("semantic: decay beyond epochs", "pretrain/decay_epochs"),
        ("duplicate model name", "llama-s"),
    ],
)
def test_snakemake_refuses_bad_config_before_any_job(tmp_path, kind, key):
    (tmp_path / "in").mkdir()
    bad = _bad_file(kind, tmp_path / "in")
    work = tmp_path / "work"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "--cores",
            "1",
            "--configfile",
            str(bad),
            "--directory",
            str(work),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-2000:]
    assert "invalid configuration" in output or "validat" in output.lower(), output[-2000:]
    assert key in output, output[-2000:]
    assert "Job stats" not in output  # refused while reading the config: nothing was planned
    assert not (work / "results").exists()
