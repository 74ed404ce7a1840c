# p2law: the P² Law workflow (Chen, Hu et al., ACL 2025), from corpus to figures.
# Embedded default: `snakemake --cores 2`; see README.md for the other profiles.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


# Cheap rules run in the main Snakemake process, never as cluster jobs.
localrules:
    all,
    fits,
    figures,
    table,
    fit,
    bootstrap,
    split_fit,
    table_selection,
    table_generalization,
    table_fits,
    table_budget,
    table_trends,
    table_pruning,
    table_models,
    figure_curves,
    figure_trend1,
    figure_trend2,
    figure_fitquality,
    figure_slopes,
    figure_candidates,
    figure_generalization,
    figure_budget,


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/models.smk"
include: "rules/prune.smk"
include: "rules/posttrain.smk"
include: "rules/tables.smk"
include: "rules/fit.smk"
include: "rules/analysis.smk"
include: "rules/figures.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        rules.table.output,
        figures_only_targets(),


rule fits:
    input:
        fit_targets(),


# Every fit, table and figure from config["tables_dir"]; with a committed tables folder
# (--config tables_dir=resources/embedded_tables) its plan has no training job.
rule figures:
    input:
        figures_only_targets(),
