# Pruning: one job per base model x method x rate; checkpoint + JSON of what was removed.


rule prune:
    input:
        weights=rules.base_model.output.weights,
        posttrain=model_tokens("posttrain"),
        eval=model_tokens("eval"),
    output:
        weights="results/pruned/{model}/{method}/rho~{rate}/model.safetensors",
        info="results/pruned/{model}/{method}/rho~{rate}/prune.json",
    log:
        "logs/prune/{model}/{method}/rho~{rate}.log",
    benchmark:
        "results/benchmarks/prune/{model}/{method}/rho~{rate}.tsv"
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        **rule_resources("prune", mem_mb=4000, runtime=30),
    params:
        criterion=lambda wc: config["pruning"]["methods"][wc.method].get("criterion"),
        calibration_sequences=config["pruning"]["calibration_sequences"],
        seq_len=config["seq_len"],
        seed=config["seed"],
        eval_sequences=config["posttrain"]["eval_sequences"],
        eval_batch=config["posttrain"]["eval_batch"],
    script:
        "../scripts/prune.py"
