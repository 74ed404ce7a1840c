# Figures, drawn from the tables in config["tables_dir"] and the fits: no training needed.


rule figure_curves:
    input:
        table=f"{config['tables_dir']}/eval_loss.csv",
        fit="results/fits/{family}/{method}/L1.json",
    output:
        png="results/figures/curves_{family}_{method}.png",
        pdf="results/figures/curves_{family}_{method}.pdf",
    params:
        units=config["units"],
    log:
        "logs/figure_curves/{family}_{method}.log",
    benchmark:
        "results/benchmarks/figure_curves/{family}_{method}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/p2law.yaml"
    script:
        "../scripts/figure_curves.py"
