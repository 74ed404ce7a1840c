# Base models: pretrained here to convergence (embedded profile) or taken from a checkpoint.


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


rule base_model:
    input:
        unpack(base_inputs),
    output:
        weights="results/base/{model}/model.safetensors",
        report="results/base/{model}/train.json",
    params:
        spec=model_spec,
        seq_len=config["seq_len"],
        seed=config["seed"],
        args=pretrain_args,
        recipe=1,  # bump to retrain: package edits do not trigger reruns
    log:
        "logs/base_model/{model}.log",
    benchmark:
        "results/benchmarks/base_model/{model}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../envs/p2law.yaml"
    shell:
        "OMP_NUM_THREADS={threads} python -m p2law.base_model --spec {params.spec:q} "
        "--seq-len {params.seq_len} --seed {params.seed} {params.args} "
        "--out $(dirname {output.weights}) --report {output.report} > {log} 2>&1"


rule eval_base:
    input:
        weights=rules.base_model.output.weights,
        eval="results/data/tokens/eval.bin",
    output:
        l0="results/base/{model}/l0.json",
    params:
        seq_len=config["seq_len"],
        eval_sequences=config["posttrain"]["eval_sequences"],
        eval_batch=config["posttrain"]["eval_batch"],
    log:
        "logs/eval_base/{model}.log",
    benchmark:
        "results/benchmarks/eval_base/{model}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/p2law.yaml"
    script:
        "../scripts/eval_base.py"
