# Base models: pretrained here to convergence (embedded profile) or taken from a checkpoint.


rule base_model:
    input:
        unpack(base_inputs),
    output:
        weights="results/base/{model}/model.safetensors",
        report="results/base/{model}/train.json",
    log:
        "logs/base_model/{model}.log",
    benchmark:
        "results/benchmarks/base_model/{model}.tsv"
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        **rule_resources("base_model", mem_mb=4000, runtime=60),
    params:
        spec=model_spec,
        seq_len=config["seq_len"],
        seed=config["seed"],
        args=pretrain_args,
        recipe=1,  # bump to retrain: package edits do not trigger reruns
    shell:
        "OMP_NUM_THREADS={threads} python -m p2law.base_model --spec {params.spec:q} "
        "--seq-len {params.seq_len} --seed {params.seed} {params.args} "
        "--out $(dirname {output.weights}) --report {output.report} > {log} 2>&1"


rule eval_base:
    input:
        weights=rules.base_model.output.weights,
        eval=model_tokens("eval"),
    output:
        l0="results/base/{model}/l0.json",
    log:
        "logs/eval_base/{model}.log",
    benchmark:
        "results/benchmarks/eval_base/{model}.tsv"
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        **rule_resources("eval_base", mem_mb=4000, runtime=30),
    params:
        seq_len=config["seq_len"],
        eval_sequences=config["posttrain"]["eval_sequences"],
        eval_batch=config["posttrain"]["eval_batch"],
    script:
        "../scripts/eval_base.py"
