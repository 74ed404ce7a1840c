"""Rule table: every run's curve, pruning report and L0 merged into the tidy tables, and every
base model's config, size and L0 into models.csv (table T1)."""
from _log import to_log

to_log(snakemake.log[0])

from pathlib import Path

import pandas as pd

from p2law.checks import curve_checks
from p2law.tables import model_row, models_table, pruning_row, run_rows, sort_eval_loss, write_csv

inputs = snakemake.input
frames, pruning = [], []
for run, curve, prune, l0 in zip(
    snakemake.params.runs, inputs.curves, inputs.prunes, inputs.l0s, strict=True
):
    files = {"prune_json": prune, "l0_json": l0, "curve_csv": curve}
    frames.append(run_rows(**run, seed=snakemake.params.seed, **files))
    pruning.append(pruning_row(**run, **files))
eval_loss = sort_eval_loss(pd.concat(frames, ignore_index=True))
write_csv(eval_loss, snakemake.output.eval_loss)
write_csv(pd.DataFrame(pruning), snakemake.output.pruning)
models = [
    model_row(**base, config_json=Path(train).parent / "config.json", l0_json=l0, train_json=train)
    for base, train, l0 in zip(snakemake.params.models, inputs.base_trains, inputs.base_l0s, strict=True)
]
write_csv(models_table(models), snakemake.output.models)
checks = curve_checks(eval_loss)
write_csv(checks, snakemake.output.checks)
print(f"{len(eval_loss)} points from {len(frames)} runs")
for name in ("recovers", "above_l0", "flattens"):
    print(f"{name}: {int(checks[name].sum())}/{len(checks)} curves")
    for _, row in checks[~checks[name]].iterrows():
        print(f"  WARNING {row['model']}/{row['method']}/rho~{row['rate']} fails '{name}'")
