# Post-training: DeepSpeed ZeRO through the deepspeed launcher, eval loss against tokens.
# Resumable state lives in results/scratch/ (never a declared output), so a killed job
# resumes from its last eval point when started again.

from p2law.provenance import run_spec


rule ds_ops:
    output:
        stamp="results/cache/ds_ops.json",
    log:
        "logs/ds_ops.log",
    benchmark:
        "results/benchmarks/ds_ops.tsv"
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        **rule_resources("ds_ops", mem_mb=2000, runtime=20),
    params:
        ext_dir=extensions_dir(),
    shell:
        "TORCH_EXTENSIONS_DIR={params.ext_dir} python -m p2law.posttrain.warm_ops "
        "--stamp {output.stamp} > {log} 2>&1"


rule posttrain:
    input:
        weights=rules.prune.output.weights,
        info=rules.prune.output.info,
        train=model_tokens("posttrain"),
        eval=model_tokens("eval"),
        ops=rules.ds_ops.output.stamp,
    output:
        curve="results/posttrain/{model}/{method}/rho~{rate}/curve.csv",
        summary="results/posttrain/{model}/{method}/rho~{rate}/run.json",
    log:
        "logs/posttrain/{model}/{method}/rho~{rate}.log",
    benchmark:
        "results/benchmarks/posttrain/{model}/{method}/rho~{rate}.tsv"
    conda:
        "../envs/train.yaml"
    threads: config["posttrain"]["ranks"]
    resources:
        **rule_resources("posttrain", mem_mb=4000, runtime=120),
    params:
        run_id=run_id,
        ranks=config["posttrain"]["ranks"],
        ds_config=ds_config_path(),
        ext_dir=extensions_dir(),
        settings=posttrain_settings,
        scratch="results/scratch/{model}/{method}/rho~{rate}",
        # what defines the run, hashed into run.json's provenance block
        spec=lambda wc: json.dumps(run_spec(config, wc.model, wc.method, wc.rate)),
        recipe=1,  # bump to rerun post-training: package edits do not trigger reruns
    shell:
        # the port is picked free at launch (p2law.ports): never a rerun-triggering param
        "PORT=$(python -m p2law.ports {params.run_id}) && "
        "TORCH_EXTENSIONS_DIR={params.ext_dir} OMP_NUM_THREADS=1 "
        "deepspeed --num_gpus {params.ranks} --master_port $PORT "
        "--module p2law.posttrain --run-id {params.run_id} "
        "--model $(dirname {input.weights}) --train-tokens {input.train} "
        "--eval-tokens {input.eval} --ds-config {params.ds_config} "
        "--settings {params.settings:q} --scratch {params.scratch} "
        "--run-spec {params.spec:q} --curve {output.curve} --summary {output.summary} "
        "> {log} 2>&1"
