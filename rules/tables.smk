# The seam between training and analysis: per-run outputs merged into tidy tables, and the
# base models' table (T1), so a committed tables folder rebuilds everything without checkpoints.


rule table:
    input:
        unpack(table_inputs),
    output:
        eval_loss="results/tables/eval_loss.csv",
        pruning="results/tables/pruning.csv",
        checks="results/tables/curve_checks.csv",
        models="results/tables/models.csv",
    log:
        "logs/table.log",
    benchmark:
        "results/benchmarks/table.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        runs=[
            {"model": m, "family": config["models"][m]["family"], "rate": r}
            for m, _, r in runs()
        ],
        models=[{"model": m, "family": config["models"][m]["family"]} for m in MODELS],
        seed=config["seed"],
    script:
        "../scripts/table.py"
