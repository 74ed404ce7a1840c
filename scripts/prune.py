"""Rule prune: prune a base model, save the HF checkpoint (+ 2:4 masks) and a JSON report."""
from _log import to_log

to_log(snakemake.log[0])

import json
from pathlib import Path

import numpy as np
import torch

from p2law import atomic
from p2law.data import as_ids, load_tokens, sequence_view, sequences
from p2law.evaluate import eval_loss
from p2law.models import compute_device, load_model, save_model
from p2law.provenance import record, run_spec
from p2law.prune import prune_model, save_masks

torch.set_num_threads(snakemake.threads)
params, wildcards = snakemake.params, snakemake.wildcards
device = compute_device()
model = load_model(Path(snakemake.input.weights).parent).to(device)

# Calibration: a fixed, seeded sample of the post-training split.
pool = sequence_view(load_tokens(snakemake.input.posttrain), params.seq_len)
rows = np.random.default_rng(params.seed).choice(
    len(pool), size=min(params.calibration_sequences, len(pool)), replace=False
)
calib = torch.as_tensor(as_ids(pool[np.sort(rows)]), device=device)

result = prune_model(
    model, wildcards.method, float(wildcards.rate), calib,
    criterion=params.criterion, model_name=wildcards.model,
)
eval_ids = sequences(load_tokens(snakemake.input.eval), params.seq_len, params.eval_sequences)
result.info["loss_pruned"] = eval_loss(result.model, eval_ids, params.eval_batch)
result.info["calibration_sequences"] = int(len(calib))
spec = run_spec(snakemake.config, wildcards.model, wildcards.method, wildcards.rate, "prune")
result.info["provenance"] = record(spec, params.seed)

# Atomic writes (masks staged with the weights): a kill leaves no output that looks done.
masks = {name: mask.cpu() for name, mask in result.masks.items()}
result.model.cpu()
save_model(result.model, Path(snakemake.output.weights).parent,
           also=(lambda folder: save_masks(masks, folder)) if masks else None)
atomic.write_text(snakemake.output.info, json.dumps(result.info, indent=2))
print(json.dumps(result.info))
