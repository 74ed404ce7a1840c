"""Rule table_models: table T1, the base models (architecture, sizes, L0) from models.csv."""

from _log import to_log

to_log(snakemake.log[0])

from p2law.report_tables import write_table
from p2law.tables import MODELS_REPORT_COLUMNS, read_models

table = read_models(snakemake.input.models)
write_table(
    table,
    snakemake.output,
    columns=MODELS_REPORT_COLUMNS,
    label="tab:models",
    caption="Base models: total parameters N0 (tied embeddings counted once) and "
    "non-embedding parameters, layers, hidden size, attention heads / key-value heads, "
    "vocabulary, tied input/output embeddings, and the unpruned eval loss L0 on the "
    "fixed eval set.",
)
print(table.to_string())
