# The seam between training and analysis: per-run outputs merged into tidy tables.


def table_inputs(wildcards):
    return {
        "curves": run_files(rules.posttrain.output.curve),
        "prunes": run_files(rules.prune.output.info),
        "l0s": [f"results/base/{m}/l0.json" for m, _, _ in runs()],
    }


rule table:
    input:
        unpack(table_inputs),
    output:
        eval_loss="results/tables/eval_loss.csv",
        pruning="results/tables/pruning.csv",
        checks="results/tables/curve_checks.csv",
    params:
        runs=[
            {"model": m, "family": config["models"][m]["family"], "rate": r}
            for m, _, r in runs()
        ],
        seed=config["seed"],
    log:
        "logs/table.log",
    benchmark:
        "results/benchmarks/table.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/p2law.yaml"
    script:
        "../scripts/table.py"
