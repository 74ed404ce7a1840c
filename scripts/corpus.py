"""Rule corpus: the Shakespeare texts split into pretrain / posttrain / valid / eval shards."""
from _log import to_log

to_log(snakemake.log[0])

from p2law.data import SPLITS, read_paragraphs, shakespeare_files, split_paragraphs, write_split

corpus = snakemake.params.corpus
paragraphs = read_paragraphs(shakespeare_files())
splits = split_paragraphs(
    paragraphs,
    heldout_fraction=corpus["heldout_fraction"],
    pretrain_fraction=corpus["pretrain_fraction"],
    posttrain_fraction=corpus["posttrain_fraction"],
    seed=snakemake.params.seed,
)
for split in SPLITS:
    write_split(splits[split], snakemake.output[split])
    print(f"{split}: {len(splits[split])} paragraphs, {sum(map(len, splits[split]))} characters")
