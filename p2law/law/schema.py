"""The fit JSON's format version, apart from the fitting code so the workflow can read it cheaply.

Rules that write fit JSONs pass it as a param: a new version re-runs them (Snakemake's params
trigger) instead of leaving old JSONs that load_fit refuses.
"""

FIT_SCHEMA = "p2law.fit/2"  # 2: the "lm" block became "crosscheck"
