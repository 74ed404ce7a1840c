# Law fits on the eval-loss table in config["tables_dir"]: one job per family x method fits
# every law (fit/laws plus analysis/law), one JSON each, so a job's start-up (Python, pandas,
# scipy) is paid once per family x method, not once per law.


rule fit:
    input:
        table=f"{config['tables_dir']}/eval_loss.csv",
    output:
        fits=expand("results/fits/{{family}}/{{method}}/{law}.json", law=fitted_laws()),
    log:
        "logs/fit/{family}/{method}.log",
    benchmark:
        "results/benchmarks/fit/{family}/{method}.tsv"
    priority: 1  # gates figures: fitting first keeps both cores busy to the end
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        fit_schema=FIT_SCHEMA,  # a new JSON format re-runs the fits
        laws=fitted_laws(),
        units=config["units"],
        huber_delta=config["fit"]["huber_delta"],
        min_tokens=config["fit"]["min_tokens"],
        seed=config["seed"],
    script:
        "../scripts/fit.py"
