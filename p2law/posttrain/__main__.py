"""Entry point for the `deepspeed` launcher: `deepspeed --module p2law.posttrain ...`.

Exit status 0: the curve, summary (and model) were written. A NaN or exploding loss exits
with status 3 after one line on stderr naming the run and step; nothing is written.
"""

from __future__ import annotations

import argparse
import json
import sys

from p2law.posttrain.warm_ops import use_project_cache

STOPPED = 3  # exit status of a run stopped for a NaN or exploding loss


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m p2law.posttrain", description=__doc__)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--model", required=True, help="pruned HF checkpoint directory")
    parser.add_argument("--train-tokens", required=True, help="uint16 token file to train on")
    parser.add_argument("--eval-tokens", required=True, help="uint16 token file to evaluate on")
    parser.add_argument("--ds-config", required=True, help="DeepSpeed JSON config")
    parser.add_argument("--settings", required=True, help="JSON of PosttrainSettings fields")
    parser.add_argument("--scratch", required=True, help="folder for resumable checkpoints")
    parser.add_argument("--curve", required=True, help="output CSV: step, tokens, loss")
    parser.add_argument("--summary", required=True, help="output JSON: throughput, memory, ...")
    parser.add_argument("--save-model", help="also save the post-trained HF checkpoint here")
    parser.add_argument("--run-spec", help="JSON: the config settings that define this run "
                        "(p2law.provenance.run_spec); hashed into the summary's provenance")
    parser.add_argument("--local_rank", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    use_project_cache()  # JIT ops come from the project's cache, built once (warm_ops)

    from p2law.evaluate import NonFiniteLossError
    from p2law.posttrain.engine import (
        LossExplodedError,
        PosttrainRun,
        PosttrainSettings,
        write_outputs,
    )

    with open(args.ds_config) as handle:
        ds_config = json.load(handle)
    settings = PosttrainSettings.from_dict(json.loads(args.settings))
    run = PosttrainRun(
        run_id=args.run_id, model_dir=args.model, train_tokens=args.train_tokens,
        eval_tokens=args.eval_tokens, ds_config=ds_config, settings=settings,
        scratch=args.scratch, log=lambda text: print(text, flush=True),
    )
    try:
        result = run.run()
    except (NonFiniteLossError, LossExplodedError) as error:
        if run.rank == 0:
            print(f"ERROR [{args.run_id}] {error}", file=sys.stderr, flush=True)
        return STOPPED
    if args.save_model:
        run.save_model(args.save_model)
    if run.rank == 0:
        from p2law.provenance import record

        # without a run spec (a run started by hand) the post-training settings define it
        spec = {"posttrain": settings.fingerprint()}
        if args.run_spec:
            spec = json.loads(args.run_spec)
        result["summary"]["provenance"] = record(spec, settings.seed)
        write_outputs(result, args.curve, args.summary)
    run.finish()
    return 0


if __name__ == "__main__":
    sys.exit(main())
