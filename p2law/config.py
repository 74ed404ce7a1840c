"""Configuration: schema validation plus the checks a schema cannot express.

Every problem is reported with the key it concerns, before any job runs.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import yaml

SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """A configuration that cannot produce a valid run; the message names the key."""


def validate_schema(config: dict) -> None:
    """JSON-Schema validation (the same schema Snakemake validates against)."""
    import jsonschema

    schema = yaml.safe_load(SCHEMA.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        key, message = _describe(errors[0])
        raise ConfigError(f"config key '{key}': {message}")


def _describe(err) -> tuple[str, str]:
    """(key, reason) of a schema error, naming the offending key itself where there is one."""
    import jsonschema

    if err.validator == "oneOf" and err.context:  # the closest alternative's error, not a dump
        by_alternative = {}
        for sub in err.context:
            by_alternative.setdefault(sub.schema_path[0], []).append(sub)
        err = jsonschema.exceptions.best_match(min(by_alternative.values(), key=len))
    path = [str(p) for p in err.absolute_path]
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        known = set(err.schema.get("properties", {}))
        unknown = sorted(k for k in err.instance if k not in known)
        if unknown and known:
            return "/".join(path + [unknown[0]]), f"unknown key; allowed here: {sorted(known)}"
    if err.validator == "required" and isinstance(err.instance, dict):
        missing = [k for k in err.validator_value if k not in err.instance]
        if missing:
            return "/".join(path + [missing[0]]), "required key is missing"
    return "/".join(path) or "(top level)", err.message


def built_models(config: dict) -> dict[str, dict]:
    return {name: m for name, m in config["models"].items() if "checkpoint" not in m}


def hub_models(config: dict) -> dict[str, dict]:
    """Models taken from a checkpoint (hub id or local directory), not trained here."""
    return {name: m for name, m in config["models"].items() if "checkpoint" in m}


def tokenizer_source(spec: dict) -> str:
    """Where a hub model's tokenizer comes from: its own checkpoint unless configured."""
    return spec.get("tokenizer", spec["checkpoint"])


def plan_config(config: dict, name: str) -> SimpleNamespace:
    """The attributes of a built model's HF config that pruning plans read, without importing
    torch or transformers (seconds at every workflow start and in every cluster job).

    The values are those `p2law.models.build_config` sets: tied embeddings and an explicit
    head_dim; biases follow from model_type (Qwen2's q/k/v biases, none for Llama).
    """
    spec = config["models"][name]
    return SimpleNamespace(
        model_type=spec["family"],  # family names are the HF model types (p2law.families)
        vocab_size=config["tokenizer"]["vocab_size"],
        hidden_size=spec["hidden_size"],
        num_hidden_layers=spec["num_layers"],
        num_attention_heads=spec["num_heads"],
        num_key_value_heads=spec["num_kv_heads"],
        intermediate_size=spec["intermediate_size"],
        tie_word_embeddings=True,
        head_dim=spec["hidden_size"] // spec["num_heads"],
    )


def tokens_per_step(config: dict) -> int:
    post = config["posttrain"]
    return post["micro_batch"] * post["ranks"] * config["seq_len"]


def eval_token_points(config: dict) -> list[int]:
    from p2law.posttrain.schedule import log_spaced_tokens

    spec = config["posttrain"]["eval_tokens"]
    return log_spaced_tokens(spec["first"], spec["last"], spec["points"])


def check(config: dict) -> None:
    """Semantic checks; raises ConfigError naming the first offending key."""
    validate_schema(config)
    if built_models(config) and config["corpus"]["source"] != "shakespeare":
        raise ConfigError(f"config key 'corpus/source': {config['corpus']['source']} has no "
                          f"pretraining split; built models {sorted(built_models(config))} "
                          "need shakespeare")
    if built_models(config) and "pretrain" not in config:
        raise ConfigError("config key 'pretrain': required when any model is built (no 'checkpoint')")
    if built_models(config) and "tokenizer" not in config:
        raise ConfigError("config key 'tokenizer': required when any model is built (no 'checkpoint')")
    for name, spec in built_models(config).items():
        if spec["hidden_size"] % spec["num_heads"]:
            raise ConfigError(f"config key 'models/{name}/num_heads': {spec['num_heads']} does not "
                              f"divide hidden_size {spec['hidden_size']}")
        if spec["num_heads"] % spec["num_kv_heads"]:
            raise ConfigError(f"config key 'models/{name}/num_kv_heads': {spec['num_kv_heads']} "
                              f"does not divide num_heads {spec['num_heads']}")
    _check_pretrain(config)
    _check_posttrain(config)
    _check_rates(config)
    _check_hub(config)
    _check_laws(config)


def _check_pretrain(config: dict) -> None:
    pre = config.get("pretrain", {})
    if pre.get("decay_epochs", 0) > pre.get("epochs", 0):
        raise ConfigError(f"config key 'pretrain/decay_epochs': {pre['decay_epochs']} exceeds "
                          f"epochs ({pre['epochs']}): the cosine would never reach its floor")


def _check_posttrain(config: dict) -> None:
    from p2law.posttrain.schedule import eval_steps

    post = config["posttrain"]
    spec = post["eval_tokens"]
    step = tokens_per_step(config)
    if spec["first"] >= spec["last"]:
        raise ConfigError(f"config key 'posttrain/eval_tokens/first': {spec['first']} must be "
                          f"below last ({spec['last']})")
    if spec["first"] < step:
        raise ConfigError(f"config key 'posttrain/eval_tokens/first': {spec['first']} tokens is "
                          f"less than one global batch ({step} tokens)")
    if post["warmup_tokens"] >= spec["first"]:
        raise ConfigError(f"config key 'posttrain/warmup_tokens': warm-up ({post['warmup_tokens']}"
                          f" tokens) must end before the first eval point ({spec['first']})")
    try:
        eval_steps(eval_token_points(config), step)
    except ValueError as err:
        raise ConfigError(f"config key 'posttrain/eval_tokens': {err}") from None
    if config["fit"]["min_tokens"] <= post["warmup_tokens"]:
        raise ConfigError(f"config key 'fit/min_tokens': {config['fit']['min_tokens']} must exceed "
                          f"the warm-up ({post['warmup_tokens']} tokens)")
    if config["fit"]["min_tokens"] > spec["last"]:
        raise ConfigError(f"config key 'fit/min_tokens': {config['fit']['min_tokens']} is beyond "
                          f"the last eval point ({spec['last']})")


def _check_rates(config: dict) -> None:
    from p2law.prune.plan import PruneError, check_rate

    for method, spec in config["pruning"]["methods"].items():
        labels = [rate_label(rate) for rate in spec["rates"]]
        if len(set(labels)) < len(labels):  # two runs would share one output folder
            raise ConfigError(f"config key 'pruning/methods/{method}/rates': {spec['rates']} "
                              f"give duplicate run names rho~{labels}")
        for name in built_models(config):
            for rate in spec["rates"]:
                try:
                    check_rate(plan_config(config, name), method, rate,
                               criterion=spec.get("criterion"), model_name=name)
                except PruneError as err:
                    raise ConfigError(f"config key 'pruning/methods/{method}/"
                                      f"{_prune_key(err)}': {err}") from None


def _prune_key(err) -> str:
    """The method's key a pruning error is about: its criterion, else its rates."""
    return "criterion" if "criterion" in str(err) else "rates"


def _local_hf_config(checkpoint: str):
    """The HF config of a checkpoint that is a local directory, else None (never downloads)."""
    if not (Path(checkpoint) / "config.json").is_file():
        return None
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(checkpoint, local_files_only=True)


def _check_hub(config: dict) -> None:
    """Paper-profile checks that need no network: hub ids are checked when their jobs run."""
    from p2law.prune.plan import PruneError, check_rate

    corpus, post = config["corpus"], config["posttrain"]
    if corpus["source"] != "shakespeare":
        need = {"eval": post["eval_sequences"] * config["seq_len"],
                "posttrain": post["eval_tokens"]["last"]}
        for split, tokens in need.items():
            if corpus["splits"][split]["tokens"] < tokens:
                raise ConfigError(f"config key 'corpus/splits/{split}/tokens': "
                                  f"{corpus['splits'][split]['tokens']} is below the {tokens} "
                                  f"tokens post-training and eval use")
    gpus = config.get("resources", {}).get("posttrain", {}).get("gpu")
    if gpus and gpus != post["ranks"]:
        raise ConfigError(f"config key 'resources/posttrain/gpu': {gpus} GPUs but posttrain/ranks "
                          f"is {post['ranks']}: the launcher starts one rank per GPU")
    for name, spec in hub_models(config).items():
        hf = _local_hf_config(spec["checkpoint"])
        for method, mspec in config["pruning"]["methods"].items():
            for rate in mspec["rates"]:
                if hf is None and method == "sparse24" and rate != 0.5:
                    raise ConfigError(f"config key 'pruning/methods/sparse24/rates': {name} is a "
                                      f"hub checkpoint; only 0.5 is accepted without its config")
                if hf is None:
                    continue
                try:
                    check_rate(hf, method, rate, criterion=mspec.get("criterion"), model_name=name)
                except PruneError as err:
                    raise ConfigError(f"config key 'pruning/methods/{method}/"
                                      f"{_prune_key(err)}': {err}") from None


def _check_laws(config: dict) -> None:
    try:
        from p2law.law import LAWS
    except ImportError:  # pragma: no cover - the law package is part of p2law
        return
    unknown = [law for law in config["fit"]["laws"] if law not in LAWS]
    if unknown:
        raise ConfigError(f"config key 'fit/laws': unknown law(s) {unknown}; "
                          f"known: {sorted(LAWS)}")
    if config["analysis"]["law"] not in LAWS:  # its fit job would fail only after training
        raise ConfigError(f"config key 'analysis/law': unknown law {config['analysis']['law']!r}; "
                          f"known: {sorted(LAWS)}")


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML loader that refuses a key given twice (PyYAML and Snakemake keep the last one)."""


def _unique_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ConfigError(f"config key '{key}': given twice in one mapping (line "
                              f"{key_node.start_mark.line + 1}); the first would be ignored")
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def check_files(paths) -> None:
    """Refuse config files that name a key twice (e.g. two models of one name)."""
    for path in paths:
        if Path(path).suffix in (".yaml", ".yml") and Path(path).is_file():
            try:
                yaml.load(Path(path).read_text(), Loader=_UniqueKeyLoader)
            except ConfigError as err:
                raise ConfigError(f"{path}: {err}") from None


def rate_label(rate: float) -> str:
    """The {rate} wildcard value for a configured rate (as written in config)."""
    return f"{rate:g}"
