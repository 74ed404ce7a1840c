# Law fits: one per family x method x law, on the eval-loss table in config["tables_dir"].


rule fit:
    input:
        table=f"{config['tables_dir']}/eval_loss.csv",
    output:
        fit="results/fits/{family}/{method}/{law}.json",
    log:
        "logs/fit/{family}/{method}/{law}.log",
    benchmark:
        "results/benchmarks/fit/{family}/{method}/{law}.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        units=config["units"],
        huber_delta=config["fit"]["huber_delta"],
        min_tokens=config["fit"]["min_tokens"],
        seed=config["seed"],
    script:
        "../scripts/fit.py"
