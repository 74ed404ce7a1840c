"""Rule eval_base: L0, the base model's loss on the fixed eval set every later point uses."""
from _log import to_log

to_log(snakemake.log[0])

import json
from pathlib import Path

import torch

from p2law import atomic
from p2law.data import load_tokens, sequences
from p2law.evaluate import eval_loss
from p2law.models import compute_device, count_parameters, load_model

torch.set_num_threads(snakemake.threads)
model = load_model(Path(snakemake.input.weights).parent).to(compute_device())
eval_ids = sequences(
    load_tokens(snakemake.input.eval), snakemake.params.seq_len, snakemake.params.eval_sequences
)
l0 = eval_loss(model, eval_ids, snakemake.params.eval_batch)
report = {"l0": l0, "eval_tokens": int(eval_ids.size), "params": count_parameters(model)}
atomic.write_text(snakemake.output.l0, json.dumps(report, indent=2))
print(json.dumps(report))
