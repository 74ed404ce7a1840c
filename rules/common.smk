# Plain functions only: config validation, target lists, wildcard constraints.
import json
import os
import re

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from p2law.config import ConfigError, check, hub_models, rate_label
from p2law.config import check_files, tokenizer_source
from p2law.hub_data import TOKEN_SUFFIX, slug
from p2law.malloc import malloc_env
from p2law.law.schema import FIT_SCHEMA

# Conda envs install this checkout in their post-deploy scripts (envs/*.post-deploy.sh).
os.environ.setdefault("P2LAW_ROOT", workflow.basedir)
# Every job inherits malloc settings that keep freed memory for reuse (p2law/malloc.py: the
# page faults of freeing and re-faulting temporaries were 10-16 % of fit and training time).
os.environ.update(malloc_env(os.environ))

try:
    # before anything reads it: a key given twice in a file, which YAML silently drops
    check_files(workflow.configfiles)
except ConfigError as err:
    raise WorkflowError(f"invalid configuration: {err}") from None
validate(config, schema="../schemas/config.schema.yaml")
try:
    # what the schema cannot express: rates a model can reach, eval schedule, ...
    check(config)
except ConfigError as err:
    raise WorkflowError(f"invalid configuration: {err}") from None

MODELS = list(config["models"])
METHODS = list(config["pruning"]["methods"])
FAMILIES = sorted({spec["family"] for spec in config["models"].values()})
# Hub models use their checkpoints' tokenizers: one token folder per tokenizer (folder -> source).
HUB_TOKENIZERS = {
    slug(tokenizer_source(spec)): tokenizer_source(spec)
    for spec in hub_models(config).values()
}


wildcard_constraints:
    model="|".join(MODELS),
    method="|".join(METHODS),
    rate=r"[0-9.e-]+",
    family="|".join(FAMILIES),
    split="pretrain|posttrain|valid|eval",
    tok="|".join(re.escape(name) for name in HUB_TOKENIZERS) or "(?!)",


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


def token_file(model, split):
    """A model's token file: the trained BPE's (built models) or its tokenizer's (hub models)."""
    spec = config["models"][model]
    if "checkpoint" not in spec:
        return f"results/data/tokens/{split}.bin"
    return f"results/data/tokens/{slug(tokenizer_source(spec))}/{split}{TOKEN_SUFFIX}"


def model_tokens(split):
    """Input function: the token file of `split` for the job's {model}."""
    return lambda wildcards: token_file(wildcards.model, split)


def token_budget(wildcards):
    """Exact token count of a streamed corpus split; empty (whole file) for Shakespeare."""
    splits = config["corpus"].get("splits", {})
    if wildcards.split not in splits:
        return ""
    return f"--budget {splits[wildcards.split]['tokens']}"


def hub_tokenizer_source(wildcards):
    return HUB_TOKENIZERS[wildcards.tok]


def rule_resources(rule, **defaults):
    """A rule's CPU defaults, overridden by config resources/<rule> (gpu, mem_mb, ...)."""
    return {**defaults, **config.get("resources", {}).get(rule, {})}


def base_inputs(wildcards):
    """Built models need the tokenizer and token files; checkpoints need nothing."""
    if "checkpoint" in config["models"][wildcards.model]:
        return {}
    return {
        "tokenizer": rules.tokenizer.output.tokenizer,
        "train": "results/data/tokens/pretrain.bin",
        "valid": "results/data/tokens/valid.bin",
    }


def pretrain_args(wildcards, input):
    if "checkpoint" in config["models"][wildcards.model]:
        return ""
    settings = json.dumps(config["pretrain"])
    return (
        f"--pretrain '{settings}' --tokenizer {os.path.dirname(input.tokenizer)} "
        f"--train-tokens {input.train} --valid-tokens {input.valid}"
    )


def table_inputs(wildcards):
    """Per run: curve, pruning report, L0; per base model (table T1, models.csv): its
    train.json and l0.json (config.json is written beside train.json by rule base_model).
    """
    return {
        "curves": run_files(rules.posttrain.output.curve),
        "prunes": run_files(rules.prune.output.info),
        "l0s": [f"results/base/{m}/l0.json" for m, _, _ in runs()],
        "base_trains": [f"results/base/{m}/train.json" for m in MODELS],
        "base_l0s": [f"results/base/{m}/l0.json" for m in MODELS],
    }


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
    """What builds or loads the base model (not its tokenizer or LR: no re-download for those)."""
    spec = config["models"][wildcards.model]
    return json.dumps({k: v for k, v in spec.items() if k not in ("tokenizer", "lr")})


def posttrain_settings(wildcards):
    post = config["posttrain"]
    from p2law.config import eval_token_points

    return json.dumps(
        {
            "seq_len": config["seq_len"],
            "micro_batch": post["micro_batch"],
            "lr": config["models"][wildcards.model].get("lr", post["lr"]),
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


# ---- Analysis, figures and report targets (rules/analysis.smk, figures.smk, report.smk) ----

FIGURES = (
    "curves",
    "trend1",
    "trend2",
    "fitquality",
    "slopes",
    "candidates",
    "generalization",
    "budget",
)
REPORT_TABLES = (
    "models",
    "selection",
    "generalization",
    "params",
    "diagnostics",
    "budget",
    "trend1_speed",
    "trend2_rho",
    "pruning",
)


def analysis_law_file(pattern):
    """A rule's output `pattern` with {law} set to the law drawn in figures (analysis/law)."""
    return expand(pattern, law=config["analysis"]["law"], allow_missing=True)[0]


def fitted_laws():
    """Every law fitted and bootstrapped: the configured ones plus the figures' law."""
    return list(dict.fromkeys([*config["fit"]["laws"], config["analysis"]["law"]]))


def bootstrap_targets():
    return [
        f"results/bootstrap/{family}/{method}/{law}.json"
        for family, method in family_methods()
        for law in fitted_laws()
    ]


def split_keys():
    """(family, method, held-out split, law) of every generalization fit."""
    from p2law.law.splits import SPLITS

    return [
        (family, method, split, law)
        for family, method in family_methods()
        for split in SPLITS
        for law in fitted_laws()
    ]


def split_targets():
    return [f"results/splits/{f}/{m}/{s}/{law}.json" for f, m, s, law in split_keys()]


def report_table_targets():
    return [
        f"results/report_tables/{name}.{ext}"
        for name in REPORT_TABLES
        for ext in ("csv", "md", "tex", "html")
    ]


def paper_figure_targets():
    return [
        f"results/figures/{figure}_{family}_{method}.{ext}"
        for figure in FIGURES
        for family, method in family_methods()
        for ext in ("png", "pdf")
    ]


def models_csv(wildcards):
    """Table T1's input: models.csv in tables_dir. A tables folder from before T1 lacks it and
    nothing here can make it; say so at planning time instead of a bare MissingInputException.
    """
    path = f"{config['tables_dir']}/models.csv"
    made_here = os.path.normpath(config["tables_dir"]) == "results/tables"
    if not made_here and not os.path.exists(path):
        raise WorkflowError(
            f"{path} is missing: table T1 (base models) is built from models.csv, which rule "
            "'table' writes beside eval_loss.csv since T1 was added. This tables folder predates "
            "it: rerun `snakemake table` where the base models' results/base/<model>/ "
            "(config.json, l0.json, train.json) exist, or add models.csv by hand with the "
            "columns of p2law.tables.MODELS_COLUMNS."
        )
    return path


def figures_only_targets():
    """Every fit, table and figure: all from config['tables_dir'], no training upstream of it."""
    return (
        fit_targets()
        + bootstrap_targets()
        + report_table_targets()
        + paper_figure_targets()
    )
