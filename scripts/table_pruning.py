"""Rule table_pruning: table T2, requested vs achieved rho, sizes and losses of every pruned run."""
from _log import to_log

to_log(snakemake.log[0])

import pandas as pd

from p2law.report_tables import write_table

table = pd.read_csv(snakemake.input.pruning)
write_table(table, snakemake.output,
            columns={"family": "family", "model": "model", "method": "method",
                     "criterion": "criterion", "rho_requested": "ρ requested", "rho": "ρ achieved",
                     "rho_nonemb": "ρ non-emb.", "n0": "N0", "params_kept": "kept params",
                     "removed_layers": "removed layers", "l0": "L0", "loss_pruned": "L(D = 0)",
                     "loss_final": "final L", "tokens_final": "final D (tokens)"},
            label="tab:pruning",
            caption="Pruned runs: requested and achieved pruning rate ρ (fraction of all "
            "parameters removed), sizes, and eval loss before pruning (L0), just after (D = 0) "
            "and after post-training.")
print(table.to_string())
