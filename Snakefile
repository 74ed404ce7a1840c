# p2law: the P² Law workflow (Chen, Hu et al., ACL 2025), from corpus to figures.
# Embedded default: `snakemake --cores 2`; see README.md for the other profiles.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/models.smk"
include: "rules/prune.smk"
include: "rules/posttrain.smk"
include: "rules/tables.smk"
include: "rules/fit.smk"
include: "rules/figures.smk"


rule all:
    default_target: True
    input:
        rules.table.output,
        fit_targets(),
        figure_targets(),


rule fits:
    input:
        fit_targets(),


rule figures:
    input:
        figure_targets(),
