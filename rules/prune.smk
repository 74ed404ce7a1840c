# Pruning: one job per base model x method x rate; checkpoint + JSON of what was removed.


rule prune:
    input:
        weights=rules.base_model.output.weights,
        posttrain="results/data/tokens/posttrain.bin",
        eval="results/data/tokens/eval.bin",
    output:
        weights="results/pruned/{model}/{method}/rho~{rate}/model.safetensors",
        info="results/pruned/{model}/{method}/rho~{rate}/prune.json",
    params:
        criterion=lambda wc: config["pruning"]["methods"][wc.method].get("criterion"),
        calibration_sequences=config["pruning"]["calibration_sequences"],
        seq_len=config["seq_len"],
        seed=config["seed"],
        eval_sequences=config["posttrain"]["eval_sequences"],
        eval_batch=config["posttrain"]["eval_batch"],
    log:
        "logs/prune/{model}/{method}/rho~{rate}.log",
    benchmark:
        "results/benchmarks/prune/{model}/{method}/rho~{rate}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/p2law.yaml"
    script:
        "../scripts/prune.py"
