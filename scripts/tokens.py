"""Rule tokens: one split's token ids, written once as a uint16 file."""
from _log import to_log

to_log(snakemake.log[0])

from pathlib import Path

from p2law.data import encode_split, load_tokenizer

tokenizer = load_tokenizer(Path(snakemake.input.tokenizer).parent)
count = encode_split(tokenizer, snakemake.input.text, snakemake.output.tokens)
print(f"{snakemake.wildcards.split}: {count} tokens")
