# Figures (paper-spec §13), one rule each: PNG for the report, PDF for papers, drawn in one
# style (p2law/figures/style.py) from config["tables_dir"] and the fits. A rule's one job draws
# every family x method (one PNG + PDF each, each with its own report labels): a job's start-up
# (Python, pandas, matplotlib, seaborn) is paid once per figure, not once per figure and pair.
# Nothing here needs training when tables_dir is a committed folder (target `figures`).


rule figure_curves:
    input:
        table=f"{config['tables_dir']}/eval_loss.csv",
        fits=[
            f"results/bootstrap/{f}/{m}/{config['analysis']['law']}.json"
            for f, m in family_methods()
        ],
    output:
        png=[
            report(
                f"results/figures/curves_{f}_{m}.png",
                caption="../report/figure_curves.rst",
                category="1 Loss curves",
                subcategory=f"{f} / {m}",
                labels={
                    "figure": "loss curves + fitted law",
                    "family": f,
                    "method": m,
                    "rate": "all (one line or point each)",
                },
            )
            for f, m in family_methods()
        ],
        pdf=[f"results/figures/curves_{f}_{m}.pdf" for f, m in family_methods()],
    log:
        "logs/figure_curves.log",
    benchmark:
        "results/benchmarks/figure_curves.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        pairs=family_methods(),
        units=config["units"],
        level=config["analysis"]["level"],
    script:
        "../scripts/figure_curves.py"


rule figure_trend1:
    input:
        table=f"{config['tables_dir']}/eval_loss.csv",
        speed=rules.table_trends.output.speed_csv,
    output:
        png=[
            report(
                f"results/figures/trend1_{f}_{m}.png",
                caption="../report/figure_trend1.rst",
                category="2 Trends",
                subcategory=f"{f} / {m}",
                labels={
                    "figure": "Trend 1: size at equal rate",
                    "family": f,
                    "method": m,
                    "rate": "all (one line or point each)",
                },
            )
            for f, m in family_methods()
        ],
        pdf=[f"results/figures/trend1_{f}_{m}.pdf" for f, m in family_methods()],
    log:
        "logs/figure_trend1.log",
    benchmark:
        "results/benchmarks/figure_trend1.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        pairs=family_methods(),
        units=config["units"],
    script:
        "../scripts/figure_trend1.py"


rule figure_trend2:
    input:
        table=f"{config['tables_dir']}/eval_loss.csv",
        trend=rules.table_trends.output.rho_csv,
    output:
        png=[
            report(
                f"results/figures/trend2_{f}_{m}.png",
                caption="../report/figure_trend2.rst",
                category="2 Trends",
                subcategory=f"{f} / {m}",
                labels={
                    "figure": "Trend 2: loss vs rate",
                    "family": f,
                    "method": m,
                    "rate": "all (one line or point each)",
                },
            )
            for f, m in family_methods()
        ],
        pdf=[f"results/figures/trend2_{f}_{m}.pdf" for f, m in family_methods()],
    log:
        "logs/figure_trend2.log",
    benchmark:
        "results/benchmarks/figure_trend2.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        pairs=family_methods(),
        units=config["units"],
        min_tokens=config["fit"]["min_tokens"],
        level=config["analysis"]["level"],
    script:
        "../scripts/figure_trend2.py"


rule figure_fitquality:
    input:
        table=f"{config['tables_dir']}/eval_loss.csv",
        fits=fit_targets(),
    output:
        png=[
            report(
                f"results/figures/fitquality_{f}_{m}.png",
                caption="../report/figure_fitquality.rst",
                category="3 Fit quality",
                subcategory=f"{f} / {m}",
                labels={
                    "figure": "predicted vs observed, every law",
                    "family": f,
                    "method": m,
                    "rate": "all (one line or point each)",
                },
            )
            for f, m in family_methods()
        ],
        pdf=[f"results/figures/fitquality_{f}_{m}.pdf" for f, m in family_methods()],
    log:
        "logs/figure_fitquality.log",
    benchmark:
        "results/benchmarks/figure_fitquality.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        pairs=family_methods(),
    script:
        "../scripts/figure_fitquality.py"


rule figure_slopes:
    input:
        table=f"{config['tables_dir']}/eval_loss.csv",
        fits=fit_targets(),
    output:
        png=[
            report(
                f"results/figures/slopes_{f}_{m}.png",
                caption="../report/figure_slopes.rst",
                category="3 Fit quality",
                subcategory=f"{f} / {m}",
                labels={
                    "figure": "F5 slope agreement (what ASD measures)",
                    "family": f,
                    "method": m,
                    "rate": "all (one line or point each)",
                },
            )
            for f, m in family_methods()
        ],
        pdf=[f"results/figures/slopes_{f}_{m}.pdf" for f, m in family_methods()],
    log:
        "logs/figure_slopes.log",
    benchmark:
        "results/benchmarks/figure_slopes.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        pairs=family_methods(),
    script:
        "../scripts/figure_slopes.py"


rule figure_candidates:
    input:
        table=f"{config['tables_dir']}/eval_loss.csv",
        selection=rules.table_selection.output.csv,
    output:
        png=[
            report(
                f"results/figures/candidates_{f}_{m}.png",
                caption="../report/figure_candidates.rst",
                category="3 Fit quality",
                subcategory=f"{f} / {m}",
                labels={
                    "figure": "F6 candidate comparison: R², Huber, ASD",
                    "family": f,
                    "method": m,
                    "rate": "all (one line or point each)",
                },
            )
            for f, m in family_methods()
        ],
        pdf=[f"results/figures/candidates_{f}_{m}.pdf" for f, m in family_methods()],
    log:
        "logs/figure_candidates.log",
    benchmark:
        "results/benchmarks/figure_candidates.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        pairs=family_methods(),
    script:
        "../scripts/figure_candidates.py"


rule figure_generalization:
    input:
        table=f"{config['tables_dir']}/eval_loss.csv",
        splits=[
            f"results/splits/{f}/{m}/{holdout}/{config['analysis']['law']}.json"
            for f, m in family_methods()
            for holdout in ["larger_D", "larger_N0", "higher_rho"]
        ],
        scores=rules.table_generalization.output.csv,
    output:
        png=[
            report(
                f"results/figures/generalization_{f}_{m}.png",
                caption="../report/figure_generalization.rst",
                category="4 Generalization",
                subcategory=f"{f} / {m}",
                labels={
                    "figure": "three held-out splits",
                    "family": f,
                    "method": m,
                    "rate": "all (one line or point each)",
                },
            )
            for f, m in family_methods()
        ],
        pdf=[f"results/figures/generalization_{f}_{m}.pdf" for f, m in family_methods()],
    log:
        "logs/figure_generalization.log",
    benchmark:
        "results/benchmarks/figure_generalization.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        pairs=family_methods(),
        units=config["units"],
        level=config["analysis"]["level"],
    script:
        "../scripts/figure_generalization.py"


rule figure_budget:
    input:
        table=f"{config['tables_dir']}/eval_loss.csv",
        fits=[
            f"results/bootstrap/{f}/{m}/{config['analysis']['law']}.json"
            for f, m in family_methods()
        ],
        budget=rules.table_budget.output.csv,
    output:
        png=[
            report(
                f"results/figures/budget_{f}_{m}.png",
                caption="../report/figure_budget.rst",
                category="5 Data budget",
                subcategory=f"{f} / {m}",
                labels={
                    "figure": "marginal gain and D*",
                    "family": f,
                    "method": m,
                    "rate": "all (one line or point each)",
                },
            )
            for f, m in family_methods()
        ],
        pdf=[f"results/figures/budget_{f}_{m}.pdf" for f, m in family_methods()],
    log:
        "logs/figure_budget.log",
    benchmark:
        "results/benchmarks/figure_budget.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        pairs=family_methods(),
    script:
        "../scripts/figure_budget.py"
