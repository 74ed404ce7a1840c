"""Rule prune: prune a base model, save the HF checkpoint (+ 2:4 masks) and a JSON report."""
from _log import to_log

to_log(snakemake.log[0])

import json
from pathlib import Path

import numpy as np
import torch

from p2law.data import load_tokens, sequences
from p2law.evaluate import eval_loss
from p2law.models import load_model, save_model
from p2law.prune import prune_model, save_masks

torch.set_num_threads(snakemake.threads)
params, wildcards = snakemake.params, snakemake.wildcards
model = load_model(Path(snakemake.input.weights).parent)

# Calibration: a fixed, seeded sample of the post-training split.
pool = sequences(load_tokens(snakemake.input.posttrain), params.seq_len)
rows = np.random.default_rng(params.seed).choice(
    len(pool), size=min(params.calibration_sequences, len(pool)), replace=False
)
calib = torch.as_tensor(pool[np.sort(rows)])

result = prune_model(
    model, wildcards.method, float(wildcards.rate), calib,
    criterion=params.criterion, model_name=wildcards.model,
)
eval_ids = sequences(load_tokens(snakemake.input.eval), params.seq_len, params.eval_sequences)
result.info["loss_pruned"] = eval_loss(result.model, eval_ids, params.eval_batch)
result.info["calibration_sequences"] = int(len(calib))

out_dir = Path(snakemake.output.weights).parent
save_model(result.model, out_dir)
if result.masks:
    save_masks(result.masks, out_dir)
tmp = Path(f"{snakemake.output.info}.tmp")
tmp.write_text(json.dumps(result.info, indent=2))
tmp.replace(snakemake.output.info)
print(json.dumps(result.info))
