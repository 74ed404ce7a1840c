# Plain functions only: config validation, target lists, wildcard constraints.
import json
import os

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from p2law.config import ConfigError, check, master_port, rate_label

validate(config, schema="../schemas/config.schema.yaml")
try:
    check(config)  # what the schema cannot express: rates a model can reach, eval schedule, ...
except ConfigError as err:
    raise WorkflowError(f"invalid configuration: {err}") from None

MODELS = list(config["models"])
METHODS = list(config["pruning"]["methods"])
FAMILIES = sorted({spec["family"] for spec in config["models"].values()})


wildcard_constraints:
    model="|".join(MODELS),
    method="|".join(METHODS),
    rate=r"[0-9.e-]+",
    family="|".join(FAMILIES),
    split="pretrain|posttrain|valid|eval",


def runs():
    """(model, method, rate) of every pruning and post-training run."""
    return [
        (model, method, rate_label(rate))
        for model in MODELS
        for method, spec in config["pruning"]["methods"].items()
        for rate in spec["rates"]
    ]


def run_files(pattern):
    return [pattern.format(model=m, method=me, rate=r) for m, me, r in runs()]


def family_methods():
    """(family, method) pairs that have runs: one law fit and one figure each."""
    return sorted({(config["models"][m]["family"], me) for m, me, _ in runs()})


def fit_targets():
    return [
        f"results/fits/{family}/{method}/{law}.json"
        for family, method in family_methods()
        for law in config["fit"]["laws"]
    ]


def figure_targets():
    return [
        f"results/figures/curves_{family}_{method}.png"
        for family, method in family_methods()
    ]


def model_spec(wildcards):
    return json.dumps(config["models"][wildcards.model])


def posttrain_settings(wildcards):
    post = config["posttrain"]
    from p2law.config import eval_token_points

    return json.dumps(
        {
            "seq_len": config["seq_len"],
            "micro_batch": post["micro_batch"],
            "lr": post["lr"],
            "warmup_tokens": post["warmup_tokens"],
            "weight_decay": post["weight_decay"],
            "eval_tokens": eval_token_points(config),
            "eval_sequences": post["eval_sequences"],
            "eval_batch": post["eval_batch"],
            "seed": config["seed"],
            "bf16": post["bf16"],
            "keep_checkpoints": post["keep_checkpoints"],
        }
    )


def ds_config_path():
    """The repo's DeepSpeed config for the configured ZeRO stage (works with --directory)."""
    stage = config["posttrain"]["zero_stage"]
    return os.path.join(workflow.basedir, "deepspeed", f"zero{stage}.json")


def extensions_dir():
    """DeepSpeed's JIT-compiled ops, built once per project checkout, not per job or run."""
    return os.path.join(workflow.basedir, ".cache", "torch_extensions")


def run_id(wildcards):
    return f"{wildcards.model}/{wildcards.method}/rho~{wildcards.rate}"


def run_port(wildcards):
    return master_port(run_id(wildcards))
