# Post-training: DeepSpeed ZeRO through the deepspeed launcher, eval loss against tokens.
# Resumable state lives in results/scratch/ (never a declared output), so a killed job
# resumes from its last eval point when started again.


rule ds_ops:
    output:
        stamp="results/cache/ds_ops.json",
    params:
        ext_dir=extensions_dir(),
    log:
        "logs/ds_ops.log",
    benchmark:
        "results/benchmarks/ds_ops.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    conda:
        "../envs/p2law.yaml"
    shell:
        "TORCH_EXTENSIONS_DIR={params.ext_dir} python -m p2law.posttrain.warm_ops "
        "--stamp {output.stamp} > {log} 2>&1"


rule posttrain:
    input:
        weights=rules.prune.output.weights,
        info=rules.prune.output.info,
        train="results/data/tokens/posttrain.bin",
        eval="results/data/tokens/eval.bin",
        ops=rules.ds_ops.output.stamp,
    output:
        curve="results/posttrain/{model}/{method}/rho~{rate}/curve.csv",
        summary="results/posttrain/{model}/{method}/rho~{rate}/run.json",
    params:
        run_id=run_id,
        port=run_port,
        ranks=config["posttrain"]["ranks"],
        ds_config=ds_config_path(),
        ext_dir=extensions_dir(),
        settings=posttrain_settings,
        scratch="results/scratch/{model}/{method}/rho~{rate}",
        recipe=1,  # bump to rerun post-training: package edits do not trigger reruns
    log:
        "logs/posttrain/{model}/{method}/rho~{rate}.log",
    benchmark:
        "results/benchmarks/posttrain/{model}/{method}/rho~{rate}.tsv"
    threads: config["posttrain"]["ranks"]
    resources:
        mem_mb=4000,
        runtime=120,
    conda:
        "../envs/p2law.yaml"
    shell:
        "TORCH_EXTENSIONS_DIR={params.ext_dir} OMP_NUM_THREADS=1 "
        "deepspeed --num_gpus {params.ranks} --master_port {params.port} "
        "--module p2law.posttrain --run-id {params.run_id} "
        "--model $(dirname {input.weights}) --train-tokens {input.train} "
        "--eval-tokens {input.eval} --ds-config {params.ds_config} "
        "--settings {params.settings:q} --scratch {params.scratch} "
        "--curve {output.curve} --summary {output.summary} > {log} 2>&1"
