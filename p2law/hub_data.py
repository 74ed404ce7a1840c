"""Paper-profile data: SlimPajama through `datasets` streaming, and the checkpoints' tokenizers.

The same calls read the hub (`cerebras/SlimPajama-627B`, `meta-llama/...`) on a cluster and a
local directory in tests: `load_dataset(<id or dir>, streaming=True)` infers splits from file
names (`train/**.jsonl[.zst]`, `validation/**`), `AutoTokenizer.from_pretrained(<id or dir>)`.

Split text files keep the embedded profile's format (blank-line separated blocks, one block per
document; blank lines inside a document are collapsed). Token files are per tokenizer and always
uint32 (`.u32`): Llama-3 and Qwen-2.5 vocabularies exceed uint16.

Run by the workflow as `python -m p2law.hub_data corpus|tokenizer|tokens ...`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

TOKEN_DTYPE = np.uint32
TOKEN_SUFFIX = ".u32"


def slug(source: str) -> str:
    """A folder name for a tokenizer source: 'meta-llama/Llama-3.1-8B' -> 'meta-llama--Llama-3.1-8B'."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "--", source).strip("-.")
    if not name:
        raise ValueError(f"tokenizer source {source!r} gives an empty folder name")
    return name


def normalize(text: str) -> str:
    """One document as one block: strip it and collapse its blank lines."""
    return re.sub(r"\n\s*\n+", "\n", text.strip())


def stream_documents(dataset: str, split: str, *, seed: int, text_field: str = "text",
                     shuffle_buffer: int = 10_000) -> Iterator[str]:
    """Non-empty, normalized documents of one split, in a seeded streaming shuffle order."""
    from datasets import load_dataset

    stream = load_dataset(dataset, split=split, streaming=True)
    for row in stream.shuffle(seed=seed, buffer_size=shuffle_buffer):
        text = normalize(row[text_field] or "")
        if text:
            yield text


def write_corpus(spec: dict, seed: int, out_dir: str | Path) -> dict[str, dict]:
    """Write `{split}.txt` for every split in `spec["splits"]` until its character budget.

    Budget: tokens x `chars_per_token` (an upper bound on characters per token, so the text
    holds at least the token budget; the token files are cut to it exactly). Splits read
    from the same source split share one stream and are filled in config order, so they
    are disjoint.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    groups: dict[str, list[str]] = {}
    for name, split in spec["splits"].items():
        groups.setdefault(split["split"], []).append(name)
    stats = {}
    for source_split, names in groups.items():
        docs = stream_documents(spec["dataset"], source_split, seed=seed,
                                text_field=spec["text_field"],
                                shuffle_buffer=spec["shuffle_buffer"])
        for name in names:
            budget = int(spec["splits"][name]["tokens"] * spec["chars_per_token"])
            stats[name] = _write_split(docs, budget, out_dir / f"{name}.txt", name)
            stats[name]["source_split"] = source_split
            print(f"{name}: {json.dumps(stats[name])}", flush=True)
    return stats


def _write_split(docs: Iterator[str], budget: int, path: Path, name: str) -> dict:
    tmp = path.with_name(f"{path.name}.tmp")
    chars = count = 0
    with tmp.open("w", encoding="utf-8") as handle:
        for text in docs:
            handle.write(("\n\n" if count else "") + text)
            chars, count = chars + len(text), count + 1
            if chars >= budget:
                break
        handle.write("\n")
    if chars < budget:
        tmp.unlink()
        raise RuntimeError(f"corpus split {name!r}: the source ran out after {count} documents "
                           f"({chars} of {budget} characters)")
    tmp.replace(path)
    return {"documents": count, "characters": chars}


def save_tokenizer(source: str, out_dir: str | Path):
    """The checkpoint's own tokenizer (hub id or directory), saved where the workflow reads it."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source)
    if len(tokenizer) < 2:  # transformers 5 can silently return a 1-token tokenizer
        raise RuntimeError(f"tokenizer {source!r} loaded with {len(tokenizer)} tokens")
    if tokenizer.eos_token_id is None:
        raise RuntimeError(f"tokenizer {source!r} has no EOS token to separate documents")
    tokenizer.save_pretrained(str(out_dir))
    return tokenizer


def read_blocks(path: str | Path) -> Iterator[str]:
    """Blank-line separated blocks of a split file, streamed (a paper split is gigabytes)."""
    lines: list[str] = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                lines.append(line)
            elif lines:
                yield "".join(lines).strip()
                lines = []
    if lines:
        yield "".join(lines).strip()


def encode_file(tokenizer_dir: str | Path, text_file: str | Path, out_file: str | Path,
                budget: int | None = None, batch: int = 1000) -> int:
    """Documents joined by EOS as uint32 ids, cut to exactly `budget` tokens (all if None)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    eos = tokenizer.eos_token_id
    tmp = Path(f"{out_file}.tmp")
    written = 0
    blocks = read_blocks(text_file)
    with tmp.open("wb") as handle:
        while budget is None or written < budget:
            texts = [text for _, text in zip(range(batch), blocks)]
            if not texts:
                break
            encoded = tokenizer(texts, add_special_tokens=False)["input_ids"]
            ids = np.fromiter((t for seq in encoded for t in (*seq, eos)), dtype=TOKEN_DTYPE)
            if budget is not None:
                ids = ids[: budget - written]
            ids.tofile(handle)
            written += int(ids.size)
    if budget is not None and written < budget:
        tmp.unlink()
        raise RuntimeError(f"{text_file} holds {written} tokens, fewer than the budget of "
                           f"{budget}: raise corpus/chars_per_token or lower the budget")
    tmp.replace(out_file)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m p2law.hub_data", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    corpus = sub.add_parser("corpus", help="stream the dataset into split text files")
    corpus.add_argument("--spec", required=True, help="JSON: config.corpus")
    corpus.add_argument("--seed", type=int, required=True)
    corpus.add_argument("--out-dir", required=True)
    tok = sub.add_parser("tokenizer", help="save a checkpoint's tokenizer")
    tok.add_argument("--source", required=True, help="hub id or local directory")
    tok.add_argument("--out-dir", required=True)
    ids = sub.add_parser("tokens", help="encode one split file to uint32 ids")
    ids.add_argument("--tokenizer", required=True, help="directory written by `tokenizer`")
    ids.add_argument("--text", required=True)
    ids.add_argument("--out", required=True)
    ids.add_argument("--budget", type=int, help="exact token count (default: the whole file)")
    args = parser.parse_args(argv)
    if args.command == "corpus":
        write_corpus(json.loads(args.spec), args.seed, args.out_dir)
    elif args.command == "tokenizer":
        tokenizer = save_tokenizer(args.source, args.out_dir)
        print(f"{args.source}: vocab {len(tokenizer)}, eos {tokenizer.eos_token_id}", flush=True)
    else:
        count = encode_file(args.tokenizer, args.text, args.out, args.budget)
        print(f"{args.text}: {count} tokens", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
