"""Rule tokenizer: a byte-level BPE trained on the pretraining shard, saved as an HF tokenizer."""
from _log import to_log

to_log(snakemake.log[0])

from pathlib import Path

from p2law.data import load_tokenizer, train_tokenizer

directory = Path(snakemake.output.tokenizer).parent
train_tokenizer([snakemake.input.text], snakemake.params.vocab_size, directory)
tokenizer = load_tokenizer(directory)  # the saved files must reload to the same vocabulary
print(f"vocab {len(tokenizer)} saved in {directory}")
