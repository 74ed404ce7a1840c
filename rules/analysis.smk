# Analysis of the fits: bootstrap intervals, generalization splits and the paper's tables
# (paper-spec §12), each as CSV + Markdown + LaTeX (booktabs) + HTML in results/report_tables/.
# results/tables/ holds what training produces (the seam, committable as a tables_dir);
# results/report_tables/ holds what is derived from it, so nothing here can overwrite the seam.
# Every input is config["tables_dir"] or a fit of it: no training job is upstream when
# tables_dir is a committed folder (the figures-only path, target `figures`).


rule bootstrap:
    input:
        table=f"{config['tables_dir']}/eval_loss.csv",
        fits=rules.fit.output.fits,
    output:
        fits=expand(
            "results/bootstrap/{{family}}/{{method}}/{law}.json", law=fitted_laws()
        ),
    log:
        "logs/bootstrap/{family}/{method}.log",
    benchmark:
        "results/benchmarks/bootstrap/{family}/{method}.tsv"
    priority: 1  # gates figures: fitting first keeps both cores busy to the end
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        fit_schema=FIT_SCHEMA,  # a new JSON format re-runs these fits
        n_boot=config["analysis"]["bootstrap"],
        level=config["analysis"]["level"],
        seed=config["seed"],
    script:
        "../scripts/analysis_bootstrap.py"


# One job per family x method: every held-out split x law (split_keys() order).
rule split_fit:
    input:
        table=f"{config['tables_dir']}/eval_loss.csv",
    output:
        fits=expand(
            "results/splits/{{family}}/{{method}}/{holdout}/{law}.json",
            holdout=["larger_D", "larger_N0", "higher_rho"],
            law=fitted_laws(),
        ),
    log:
        "logs/split_fit/{family}/{method}.log",
    benchmark:
        "results/benchmarks/split_fit/{family}/{method}.tsv"
    priority: 1  # gates figures: fitting first keeps both cores busy to the end
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        fit_schema=FIT_SCHEMA,  # a new JSON format re-runs these fits
        splits=[
            (holdout, law)
            for holdout in ["larger_D", "larger_N0", "higher_rho"]
            for law in fitted_laws()
        ],
        units=config["units"],
        huber_delta=config["fit"]["huber_delta"],
        min_tokens=config["fit"]["min_tokens"],
        n_boot=config["analysis"]["bootstrap"],
        d_fraction=config["analysis"]["d_fraction"],
        seed=config["seed"],
    script:
        "../scripts/analysis_split_fit.py"


rule table_selection:
    input:
        fits=fit_targets(),
    output:
        csv="results/report_tables/selection.csv",
        md="results/report_tables/selection.md",
        tex="results/report_tables/selection.tex",
        html=report(
            "results/report_tables/selection.html",
            caption="../report/table_selection.rst",
            category="6 Tables",
            labels={
                "table": "T5 model selection",
                "family": "all",
                "method": "all",
                "rate": "all",
            },
        ),
    log:
        "logs/table_selection.log",
    benchmark:
        "results/benchmarks/table_selection.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/table_selection.py"


rule table_generalization:
    input:
        table=f"{config['tables_dir']}/eval_loss.csv",
        splits=split_targets(),
    output:
        csv="results/report_tables/generalization.csv",
        md="results/report_tables/generalization.md",
        tex="results/report_tables/generalization.tex",
        html=report(
            "results/report_tables/generalization.html",
            caption="../report/table_generalization.rst",
            category="6 Tables",
            labels={
                "table": "T6 generalization",
                "family": "all",
                "method": "all",
                "rate": "all",
            },
        ),
    log:
        "logs/table_generalization.log",
    benchmark:
        "results/benchmarks/table_generalization.tsv"
    priority: 1  # gates figures: fitting first keeps both cores busy to the end
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        split_keys=split_keys(),
        level=config["analysis"]["level"],
    script:
        "../scripts/table_generalization.py"


rule table_fits:
    input:
        fits=bootstrap_targets(),
    output:
        params_csv="results/report_tables/params.csv",
        params_md="results/report_tables/params.md",
        params_tex="results/report_tables/params.tex",
        params_html=report(
            "results/report_tables/params.html",
            caption="../report/table_params.rst",
            category="6 Tables",
            labels={
                "table": "T4 fitted parameters",
                "family": "all",
                "method": "all",
                "rate": "all",
            },
        ),
        diag_csv="results/report_tables/diagnostics.csv",
        diag_md="results/report_tables/diagnostics.md",
        diag_tex="results/report_tables/diagnostics.tex",
        diag_html=report(
            "results/report_tables/diagnostics.html",
            caption="../report/table_diagnostics.rst",
            category="6 Tables",
            labels={
                "table": "T8 fit diagnostics",
                "family": "all",
                "method": "all",
                "rate": "all",
            },
        ),
    log:
        "logs/table_fits.log",
    benchmark:
        "results/benchmarks/table_fits.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/table_fits.py"


rule table_budget:
    input:
        table=f"{config['tables_dir']}/eval_loss.csv",
        fits=[
            f"results/bootstrap/{f}/{m}/{config['analysis']['law']}.json"
            for f, m in family_methods()
        ],
    output:
        csv="results/report_tables/budget.csv",
        md="results/report_tables/budget.md",
        tex="results/report_tables/budget.tex",
        html=report(
            "results/report_tables/budget.html",
            caption="../report/table_budget.rst",
            category="6 Tables",
            labels={
                "table": "T7 data budget",
                "family": "all",
                "method": "all",
                "rate": "each",
            },
        ),
    log:
        "logs/table_budget.log",
    benchmark:
        "results/benchmarks/table_budget.tsv"
    priority: 1  # gates figures: fitting first keeps both cores busy to the end
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        epsilon=config["analysis"]["epsilon"],
        level=config["analysis"]["level"],
    script:
        "../scripts/table_budget.py"


rule table_trends:
    input:
        table=f"{config['tables_dir']}/eval_loss.csv",
    output:
        rho_csv="results/report_tables/trend2_rho.csv",
        rho_md="results/report_tables/trend2_rho.md",
        rho_tex="results/report_tables/trend2_rho.tex",
        rho_html=report(
            "results/report_tables/trend2_rho.html",
            caption="../report/table_trend2.rst",
            category="6 Tables",
            labels={
                "table": "Trend 2: loss vs rho",
                "family": "all",
                "method": "all",
                "rate": "all",
            },
        ),
        speed_csv="results/report_tables/trend1_speed.csv",
        speed_md="results/report_tables/trend1_speed.md",
        speed_tex="results/report_tables/trend1_speed.tex",
        speed_html=report(
            "results/report_tables/trend1_speed.html",
            caption="../report/table_trend1.rst",
            category="6 Tables",
            labels={
                "table": "Trend 1: speed vs N0",
                "family": "all",
                "method": "all",
                "rate": "all",
            },
        ),
    log:
        "logs/table_trends.log",
    benchmark:
        "results/benchmarks/table_trends.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        d_unit=config["units"]["d"],
        min_tokens=config["fit"]["min_tokens"],
        level=config["analysis"]["level"],
    script:
        "../scripts/table_trends.py"


rule table_pruning:
    input:
        pruning=f"{config['tables_dir']}/pruning.csv",
    output:
        csv="results/report_tables/pruning.csv",
        md="results/report_tables/pruning.md",
        tex="results/report_tables/pruning.tex",
        html=report(
            "results/report_tables/pruning.html",
            caption="../report/table_pruning.rst",
            category="6 Tables",
            labels={
                "table": "T2 pruned runs",
                "family": "all",
                "method": "all",
                "rate": "each",
            },
        ),
    log:
        "logs/table_pruning.log",
    benchmark:
        "results/benchmarks/table_pruning.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/table_pruning.py"


rule table_models:
    input:
        models=models_csv,
    output:
        csv="results/report_tables/models.csv",
        md="results/report_tables/models.md",
        tex="results/report_tables/models.tex",
        html=report(
            "results/report_tables/models.html",
            caption="../report/table_models.rst",
            category="6 Tables",
            labels={
                "table": "T1 base models",
                "family": "all",
                "method": "all",
                "rate": "all",
            },
        ),
    log:
        "logs/table_models.log",
    benchmark:
        "results/benchmarks/table_models.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/table_models.py"
