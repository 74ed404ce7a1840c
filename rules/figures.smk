# Figures (paper-spec §13), one rule each, per family x method: PNG for the report, PDF for
# papers, drawn in one style (p2law/figures/style.py) from config["tables_dir"] and the fits.
# Nothing here needs training when tables_dir is a committed folder (target `figures`).


rule figure_curves:
    input:
        table=f"{config['tables_dir']}/eval_loss.csv",
        fit=analysis_law_file(rules.bootstrap.output.fit),
    output:
        png=report(
            "results/figures/curves_{family}_{method}.png",
            caption="../report/figure_curves.rst",
            category="1 Loss curves",
            subcategory="{family} / {method}",
            labels={
                "figure": "loss curves + fitted law",
                "family": "{family}",
                "method": "{method}",
                "rate": "all (one line or point each)",
            },
        ),
        pdf="results/figures/curves_{family}_{method}.pdf",
    log:
        "logs/figure_curves/{family}_{method}.log",
    benchmark:
        "results/benchmarks/figure_curves/{family}_{method}.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        units=config["units"],
        level=config["analysis"]["level"],
    script:
        "../scripts/figure_curves.py"


rule figure_trend1:
    input:
        table=f"{config['tables_dir']}/eval_loss.csv",
        speed=rules.table_trends.output.speed_csv,
    output:
        png=report(
            "results/figures/trend1_{family}_{method}.png",
            caption="../report/figure_trend1.rst",
            category="2 Trends",
            subcategory="{family} / {method}",
            labels={
                "figure": "Trend 1: size at equal rate",
                "family": "{family}",
                "method": "{method}",
                "rate": "all (one line or point each)",
            },
        ),
        pdf="results/figures/trend1_{family}_{method}.pdf",
    log:
        "logs/figure_trend1/{family}_{method}.log",
    benchmark:
        "results/benchmarks/figure_trend1/{family}_{method}.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        units=config["units"],
    script:
        "../scripts/figure_trend1.py"


rule figure_trend2:
    input:
        table=f"{config['tables_dir']}/eval_loss.csv",
        trend=rules.table_trends.output.rho_csv,
    output:
        png=report(
            "results/figures/trend2_{family}_{method}.png",
            caption="../report/figure_trend2.rst",
            category="2 Trends",
            subcategory="{family} / {method}",
            labels={
                "figure": "Trend 2: loss vs rate",
                "family": "{family}",
                "method": "{method}",
                "rate": "all (one line or point each)",
            },
        ),
        pdf="results/figures/trend2_{family}_{method}.pdf",
    log:
        "logs/figure_trend2/{family}_{method}.log",
    benchmark:
        "results/benchmarks/figure_trend2/{family}_{method}.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        units=config["units"],
        min_tokens=config["fit"]["min_tokens"],
        level=config["analysis"]["level"],
    script:
        "../scripts/figure_trend2.py"


rule figure_fitquality:
    input:
        table=f"{config['tables_dir']}/eval_loss.csv",
        fits=expand(rules.fit.output.fit, law=config["fit"]["laws"], allow_missing=True),
    output:
        png=report(
            "results/figures/fitquality_{family}_{method}.png",
            caption="../report/figure_fitquality.rst",
            category="3 Fit quality",
            subcategory="{family} / {method}",
            labels={
                "figure": "predicted vs observed, every law",
                "family": "{family}",
                "method": "{method}",
                "rate": "all (one line or point each)",
            },
        ),
        pdf="results/figures/fitquality_{family}_{method}.pdf",
    log:
        "logs/figure_fitquality/{family}_{method}.log",
    benchmark:
        "results/benchmarks/figure_fitquality/{family}_{method}.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/figure_fitquality.py"


rule figure_generalization:
    input:
        table=f"{config['tables_dir']}/eval_loss.csv",
        splits=expand(
            analysis_law_file(rules.split_fit.output.fit),
            holdout=["larger_D", "larger_N0", "higher_rho"],
            allow_missing=True,
        ),
        scores=rules.table_generalization.output.csv,
    output:
        png=report(
            "results/figures/generalization_{family}_{method}.png",
            caption="../report/figure_generalization.rst",
            category="4 Generalization",
            subcategory="{family} / {method}",
            labels={
                "figure": "three held-out splits",
                "family": "{family}",
                "method": "{method}",
                "rate": "all (one line or point each)",
            },
        ),
        pdf="results/figures/generalization_{family}_{method}.pdf",
    log:
        "logs/figure_generalization/{family}_{method}.log",
    benchmark:
        "results/benchmarks/figure_generalization/{family}_{method}.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        units=config["units"],
        level=config["analysis"]["level"],
    script:
        "../scripts/figure_generalization.py"


rule figure_budget:
    input:
        table=f"{config['tables_dir']}/eval_loss.csv",
        fit=analysis_law_file(rules.bootstrap.output.fit),
        budget=rules.table_budget.output.csv,
    output:
        png=report(
            "results/figures/budget_{family}_{method}.png",
            caption="../report/figure_budget.rst",
            category="5 Data budget",
            subcategory="{family} / {method}",
            labels={
                "figure": "marginal gain and D*",
                "family": "{family}",
                "method": "{method}",
                "rate": "all (one line or point each)",
            },
        ),
        pdf="results/figures/budget_{family}_{method}.pdf",
    log:
        "logs/figure_budget/{family}_{method}.log",
    benchmark:
        "results/benchmarks/figure_budget/{family}_{method}.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/figure_budget.py"
