"""Stage base_model: pretrain a built model to convergence, or take an existing checkpoint.

Run by the workflow through `shell:` (training code), as
`python -m p2law.base_model --spec JSON --pretrain JSON ... --out DIR --report JSON`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import torch

from p2law import atomic
from p2law.data import load_tokenizer, load_tokens, sequences
from p2law.models import build_config, build_model, count_parameters, load_model, save_model
from p2law.pretrain import PretrainSettings, pretrain
from p2law.provenance import record


def build_and_pretrain(spec: dict, settings: PretrainSettings, seq_len: int, tokenizer_dir: str,
                       train_tokens: str, valid_tokens: str, valid_sequences: int):
    tokenizer = load_tokenizer(tokenizer_dir)
    config = build_config(
        spec["family"], vocab_size=len(tokenizer), hidden_size=spec["hidden_size"],
        num_layers=spec["num_layers"], num_heads=spec["num_heads"],
        num_kv_heads=spec["num_kv_heads"], intermediate_size=spec["intermediate_size"],
        max_position_embeddings=seq_len, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = build_model(config, settings.seed)
    print(f"built {spec['family']} model: {count_parameters(model)}", flush=True)
    train_ids = sequences(load_tokens(train_tokens), seq_len)
    valid_ids = sequences(load_tokens(valid_tokens), seq_len, valid_sequences)
    report = pretrain(model, train_ids, valid_ids, settings,
                      log=lambda text: print(text, flush=True))
    return model, report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m p2law.base_model", description=__doc__)
    parser.add_argument("--spec", required=True, help="JSON: the model's entry in config.models")
    parser.add_argument("--pretrain", help="JSON: config.pretrain (built models only)")
    parser.add_argument("--seq-len", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--tokenizer", help="tokenizer directory (built models only)")
    parser.add_argument("--train-tokens")
    parser.add_argument("--valid-tokens")
    parser.add_argument("--out", required=True, help="checkpoint directory")
    parser.add_argument("--report", required=True, help="JSON written last, on success")
    args = parser.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    spec = json.loads(args.spec)
    # what defines this base model (p2law.provenance.STAGES["base"] has the config's view)
    defining = {"model": spec, "pretrain": json.loads(args.pretrain) if args.pretrain else None,
                "seq_len": args.seq_len, "seed": args.seed}
    if "checkpoint" in spec:  # paper profile: a hub id or local directory, not trained here
        model = load_model(spec["checkpoint"])
        report = {"source": spec["checkpoint"]}
    else:
        pre = json.loads(args.pretrain)
        valid_sequences = pre.pop("valid_sequences")
        settings = PretrainSettings(**pre, seed=args.seed)
        model, report = build_and_pretrain(spec, settings, args.seq_len, args.tokenizer,
                                           args.train_tokens, args.valid_tokens, valid_sequences)
    save_model(model, args.out)
    report.update(family=spec["family"], params=count_parameters(model),
                  provenance=record(defining, args.seed))
    atomic.write_text(args.report, json.dumps(report, indent=2))
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
