# Corpus shards, tokenizer and token files: computed once, memory-mapped by every later job.


rule corpus:
    output:
        pretrain="results/data/pretrain.txt",
        posttrain="results/data/posttrain.txt",
        valid="results/data/valid.txt",
        eval="results/data/eval.txt",
    params:
        corpus=config["corpus"],
        seed=config["seed"],
    log:
        "logs/corpus.log",
    benchmark:
        "results/benchmarks/corpus.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/p2law.yaml"
    script:
        "../scripts/corpus.py"


rule tokenizer:
    input:
        text=rules.corpus.output.pretrain,
    output:
        tokenizer="results/data/tokenizer/tokenizer.json",
    params:
        vocab_size=config["tokenizer"]["vocab_size"],
    log:
        "logs/tokenizer.log",
    benchmark:
        "results/benchmarks/tokenizer.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/p2law.yaml"
    script:
        "../scripts/tokenizer.py"


rule tokens:
    input:
        text="results/data/{split}.txt",
        tokenizer=rules.tokenizer.output.tokenizer,
    output:
        tokens="results/data/tokens/{split}.bin",
    log:
        "logs/tokens/{split}.log",
    benchmark:
        "results/benchmarks/tokens/{split}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/p2law.yaml"
    script:
        "../scripts/tokens.py"
