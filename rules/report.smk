# The Snakemake report: `snakemake figures --report results/report.html` (offline, one file).
# Its front page is report/workflow.rst; every figure and table rule marks its output with
# report(...): a caption from report/, a category (1 loss curves ... 6 tables) and labels
# (family, method, rate), so the report lists results as a table rather than file names.


report: "../report/workflow.rst"
