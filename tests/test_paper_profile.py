"""The paper profile: it plans offline, maps to sbatch correctly, and its hub and SlimPajama
loading code works on local stand-ins (a save_pretrained checkpoint, a .jsonl.zst directory)."""

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

from p2law import hub_data
from p2law.config import ConfigError, check
from p2law.data import load_tokens
from _workflow import snakemake as run_snakemake

ROOT = Path(__file__).resolve().parent.parent
PAPER = ROOT / "config" / "paper.yaml"
# Any network access fails fast: a dead proxy, and the hub libraries in offline mode.
NO_NET = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
          "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def snakemake(*args, timeout=600, **env):
    return run_snakemake(*args, timeout=timeout, **env)


def job_counts(stdout):
    counts = {}
    for line in stdout.split("Job stats:")[-1].splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    return counts


@pytest.fixture(scope="module")
def paper_plan(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("paper")
    result = snakemake("-n", "-p", "--configfile", str(PAPER), "--directory", str(workdir),
                       **NO_NET)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return result.stdout


def test_paper_profile_plans_the_full_grid_offline(paper_plan):
    config = yaml.safe_load(PAPER.read_text())
    models, methods = config["models"], config["pruning"]["methods"]
    runs = len(models) * sum(len(m["rates"]) for m in methods.values())
    assert runs == 7 * 7
    counts = job_counts(paper_plan)
    assert counts["posttrain"] == counts["prune"] == runs
    assert counts["base_model"] == counts["eval_base"] == len(models)
    assert counts["stream_corpus"] == 1 and "corpus" not in counts
    # one tokenizer per family (Llama-3.x and Qwen2.5 vocabularies), two splits each
    assert counts["pretrained_tokenizer"] == 2 and counts["hub_tokens"] == 4
    assert "tokenizer" not in counts and "tokens" not in counts
    assert counts["fit"] == 2 * len(methods)


def job_resources(plan, rule):
    """threads and resources of the first job of `rule` in a `snakemake -n` listing."""
    block = plan.split(f"rule {rule}:\n", 1)[1].split("\n\n", 1)[0]
    lines = {line.strip().split(": ", 1)[0]: line.strip().split(": ", 1)[1]
             for line in block.splitlines() if ": " in line}
    resources = dict(item.split("=", 1) for item in lines["resources"].split(", "))
    return int(lines.get("threads", 1)), {k: int(v) if v.isdigit() else v
                                          for k, v in resources.items()}


class _Resources(dict):
    __getattr__ = dict.__getitem__


@pytest.mark.parametrize("rule, expected", [
    ("posttrain", ["--gpus=8", "--cpus-per-gpu=8", "--mem 640000", "-t 2880"]),
    ("prune", ["--gpus=1", "--cpus-per-gpu=8", "--mem 128000", "-t 360"]),
    ("hub_tokens", ["--cpus-per-task=8", "--ntasks=1", "--mem 32000", "-t 720"]),
])
def test_paper_resources_map_to_sbatch(paper_plan, rule, expected):
    from snakemake_executor_plugin_slurm.submit_string import get_submit_command
    from snakemake_executor_plugin_slurm.utils import set_gres_string

    threads, resources = job_resources(paper_plan, rule)
    job = SimpleNamespace(resources=_Resources(resources, slurm_partition="gpu"),
                          threads=threads)
    params = {"run_uuid": "u", "slurm_logfile": "l", "comment_str": "c", "account": "",
              "partition": "-p gpu", "workdir": "/w"}
    call = get_submit_command(job, params) + set_gres_string(job)
    for flag in expected:
        assert flag in call, call
    if "gpu" in resources:
        assert "ntasks" not in call, call  # tasks with gpu would start one copy per GPU


# ---- local stand-ins for the hub -----------------------------------------------------------


def _paragraphs(n):
    from p2law.data import read_paragraphs, shakespeare_files

    return [p for p in read_paragraphs(shakespeare_files()[:3]) if len(p) > 40][:n]


def _write_zst_jsonl(path, texts):
    import zstandard

    path.parent.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps({"text": t, "meta": {"redpajama_set_name": "X"}}) + "\n"
                    for t in texts)
    path.write_bytes(zstandard.ZstdCompressor().compress(lines.encode()))


def _tiny_checkpoint(directory, family, tokenizer_dir):
    from p2law.data import load_tokenizer
    from p2law.models import build_config, build_model

    tokenizer = load_tokenizer(tokenizer_dir)
    config = build_config(family, vocab_size=len(tokenizer), hidden_size=32, num_layers=4,
                          num_heads=2, num_kv_heads=1, intermediate_size=64,
                          max_position_embeddings=64, eos_token_id=tokenizer.eos_token_id)
    build_model(config, seed=0).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def fake_hub(tmp_path_factory):
    """A SlimPajama-shaped .jsonl.zst directory and two tiny checkpoints with tokenizers."""
    from p2law.data import train_tokenizer

    root = tmp_path_factory.mktemp("hub")
    texts = _paragraphs(900)
    _write_zst_jsonl(root / "slimpajama/train/chunk1/example_train_0.jsonl.zst", texts[:700])
    _write_zst_jsonl(root / "slimpajama/validation/chunk1/example_holdout_0.jsonl.zst",
                     texts[700:])
    (root / "text.txt").write_text("\n\n".join(texts))
    train_tokenizer([root / "text.txt"], 512, root / "tok")
    return SimpleNamespace(
        dataset=str(root / "slimpajama"), texts=texts,
        llama=str(_tiny_checkpoint(root / "tiny-llama", "llama", root / "tok")),
        qwen=str(_tiny_checkpoint(root / "tiny-qwen", "qwen2", root / "tok")))


def _corpus_spec(dataset, posttrain=4000, eval_tokens=1000, eval_split="validation"):
    return {"source": "slimpajama", "dataset": dataset, "text_field": "text",
            "shuffle_buffer": 50, "chars_per_token": 3.0,  # a 512-token BPE: ~2.1 chars/token
            "splits": {"posttrain": {"split": "train", "tokens": posttrain},
                       "eval": {"split": eval_split, "tokens": eval_tokens}}}


def test_streamed_corpus_is_seeded_budgeted_and_disjoint(fake_hub, tmp_path):
    spec = _corpus_spec(fake_hub.dataset, eval_split="train")  # one stream feeds both splits
    stats = hub_data.write_corpus(spec, seed=0, out_dir=tmp_path / "a")
    hub_data.write_corpus(spec, seed=0, out_dir=tmp_path / "b")
    hub_data.write_corpus(spec, seed=1, out_dir=tmp_path / "c")
    post = list(hub_data.read_blocks(tmp_path / "a/posttrain.txt"))
    ev = list(hub_data.read_blocks(tmp_path / "a/eval.txt"))
    assert not set(post) & set(ev)
    assert stats["posttrain"]["characters"] >= 4000 * 3 and stats["eval"]["documents"] == len(ev)
    assert (tmp_path / "a/posttrain.txt").read_bytes() == (tmp_path / "b/posttrain.txt").read_bytes()
    assert (tmp_path / "a/posttrain.txt").read_bytes() != (tmp_path / "c/posttrain.txt").read_bytes()
    normalized = {hub_data.normalize(t) for t in fake_hub.texts[:700]}
    assert set(post) <= normalized  # whole documents from the train split only


def test_streamed_corpus_that_runs_out_fails_clearly(fake_hub, tmp_path):
    with pytest.raises(RuntimeError, match="ran out"):
        hub_data.write_corpus(_corpus_spec(fake_hub.dataset, eval_tokens=10**7), 0, tmp_path)
    assert not (tmp_path / "eval.txt").exists()


def test_hub_tokens_are_uint32_cut_to_the_budget(fake_hub, tmp_path):
    tok = tmp_path / "tok"
    tokenizer = hub_data.save_tokenizer(fake_hub.llama, tok)
    text = tmp_path / "eval.txt"
    text.write_text("\n\n".join(fake_hub.texts[:50]) + "\n")
    out = tmp_path / f"eval{hub_data.TOKEN_SUFFIX}"
    assert hub_data.encode_file(tok, text, out, budget=777) == 777
    ids = load_tokens(out)
    assert ids.dtype == np.uint32 and ids.size == 777 and int(ids.max()) < len(tokenizer)
    first_eos = int(np.flatnonzero(ids == tokenizer.eos_token_id)[0])
    assert tokenizer.decode(ids[:first_eos]) == fake_hub.texts[0]
    with pytest.raises(RuntimeError, match="fewer than the budget"):
        hub_data.encode_file(tok, text, tmp_path / "x.u32", budget=10**7)


def test_base_model_takes_a_local_checkpoint(fake_hub, tmp_path):
    from p2law.base_model import main
    from p2law.models import count_parameters, load_model

    spec = json.dumps({"family": "qwen2", "checkpoint": fake_hub.qwen})
    assert main(["--spec", spec, "--seq-len", "64", "--seed", "0", "--out",
                 str(tmp_path / "base"), "--report", str(tmp_path / "base/train.json")]) == 0
    report = json.loads((tmp_path / "base/train.json").read_text())
    assert report["source"] == fake_hub.qwen
    assert report["params"] == count_parameters(load_model(fake_hub.qwen))


def _local_paper_config(fake_hub, **methods):
    config = yaml.safe_load(PAPER.read_text())
    config["corpus"] = _corpus_spec(fake_hub.dataset, posttrain=8192, eval_tokens=2048)
    config["models"] = {
        "tiny-llama": {"family": "llama", "checkpoint": fake_hub.llama},
        "tiny-qwen": {"family": "qwen2", "checkpoint": fake_hub.qwen, "lr": 2.0e-3},
    }
    config["seq_len"] = 64
    config["pruning"] = {"calibration_sequences": 4,
                         "methods": methods or {"depth": {"criterion": "bi", "rates": [0.2]}}}
    config["posttrain"].update(zero_stage=2, ranks=1, bf16=False, micro_batch=4, lr=1.0e-3,
                               warmup_tokens=256, eval_sequences=32, eval_batch=32,
                               eval_tokens={"first": 512, "last": 4096, "points": 4})
    config["fit"]["min_tokens"] = 512
    config.pop("resources")
    return config


def test_config_checks_hub_models_without_the_network(fake_hub):
    config = _local_paper_config(fake_hub)
    check(config)
    # local checkpoints: rates are checked against their config.json
    bad = _local_paper_config(fake_hub, depth={"criterion": "bi", "rates": [0.95]})
    with pytest.raises(ConfigError, match="pruning/methods/depth/rates"):
        check(bad)
    # hub ids cannot be checked offline: 2:4 accepts only 0.5 there
    paper = yaml.safe_load(PAPER.read_text())
    check(paper)
    paper["pruning"]["methods"]["sparse24"]["rates"] = [0.43]
    with pytest.raises(ConfigError, match="only 0.5"):
        check(paper)


@pytest.mark.parametrize("change, key", [
    (lambda c: c["resources"]["posttrain"].update(gpu=4), "resources/posttrain/gpu"),
    (lambda c: c["resources"]["posttrain"].update(tasks=1), "resources/posttrain"),
    (lambda c: c["resources"].update(postrain={"gpu": 8}), "resources"),
    (lambda c: c["corpus"]["splits"]["eval"].update(tokens=1000), "corpus/splits/eval/tokens"),
    (lambda c: c["corpus"]["splits"]["eval"].update(tokenz=1), "corpus/splits/eval"),
    (lambda c: c["corpus"].update(source="tinystories"), "corpus/source"),
    (lambda c: c["models"].update(tiny={"family": "llama", "hidden_size": 8, "num_layers": 2,
                                        "num_heads": 2, "num_kv_heads": 1,
                                        "intermediate_size": 8}), "corpus/source"),
])
def test_paper_config_errors_name_the_key(change, key):
    config = yaml.safe_load(PAPER.read_text())
    change(config)
    with pytest.raises(ConfigError, match=f"'{key}"):
        check(config)


@pytest.mark.deepspeed  # an end-to-end DAG through the deepspeed launcher: in `make test`
def test_hub_path_runs_end_to_end_on_local_stand_ins(fake_hub, tmp_path):
    """stream_corpus -> per-family tokenizers and uint32 tokens -> base -> prune -> posttrain."""
    config = _local_paper_config(fake_hub)
    configfile = tmp_path / "paper-local.yaml"
    configfile.write_text(yaml.safe_dump(config))
    result = snakemake("--cores", "2", "--configfile", str(configfile), "--directory",
                       str(tmp_path), "results/tables/eval_loss.csv", timeout=1800, **NO_NET)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    folders = sorted(p.name for p in (tmp_path / "results/data/tokens").iterdir())
    assert folders == sorted(hub_data.slug(c) for c in (fake_hub.llama, fake_hub.qwen))
    for folder in folders:
        assert load_tokens(tmp_path / f"results/data/tokens/{folder}/eval.u32").size == 2048
    import pandas as pd

    table = pd.read_csv(tmp_path / "results/tables/eval_loss.csv")
    assert set(table["model"]) == {"tiny-llama", "tiny-qwen"}
    assert table["loss"].notna().all() and (table.groupby("model").size() == 5).all()
    run = json.loads((tmp_path / "results/posttrain/tiny-qwen/depth/rho~0.2/run.json").read_text())
    assert run["settings"]["lr"] == 2.0e-3  # the per-model LR reached post-training
