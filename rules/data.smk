# Corpus shards, tokenizers and token files: computed once, memory-mapped by every later job.
# Built models use a BPE trained here (tokens/{split}.bin); hub models use their checkpoint's
# tokenizer, one folder per tokenizer (tokens/{tok}/{split}.u32): vocabularies differ by family.


rule corpus:
    output:
        pretrain="results/data/pretrain.txt",
        posttrain="results/data/posttrain.txt",
        valid="results/data/valid.txt",
        eval="results/data/eval.txt",
    log:
        "logs/corpus.log",
    benchmark:
        "results/benchmarks/corpus.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        **rule_resources("corpus", mem_mb=2000, runtime=10),
    params:
        corpus=config["corpus"],
        seed=config["seed"],
    script:
        "../scripts/corpus.py"


rule tokenizer:
    input:
        text=rules.corpus.output.pretrain,
    output:
        tokenizer="results/data/tokenizer/tokenizer.json",
    log:
        "logs/tokenizer.log",
    benchmark:
        "results/benchmarks/tokenizer.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        **rule_resources("tokenizer", mem_mb=2000, runtime=10),
    params:
        vocab_size=lookup(dpath="tokenizer/vocab_size", within=config, default=None),
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
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        **rule_resources("tokens", mem_mb=2000, runtime=10),
    script:
        "../scripts/tokens.py"


# A streamed corpus (SlimPajama or a local stand-in) writes post-training and eval only.
if config["corpus"]["source"] != "shakespeare":

    ruleorder: stream_corpus > corpus

    rule stream_corpus:
        output:
            posttrain="results/data/posttrain.txt",
            eval="results/data/eval.txt",
        log:
            "logs/stream_corpus.log",
        benchmark:
            "results/benchmarks/stream_corpus.tsv"
        conda:
            "../envs/data.yaml"
        threads: 1
        resources:
            **rule_resources("corpus", mem_mb=4000, runtime=60),
        params:
            spec=json.dumps(config["corpus"]),
            seed=config["seed"],
        shell:
            "python -m p2law.hub_data corpus --spec {params.spec:q} --seed {params.seed} "
            "--out-dir $(dirname {output.eval}) > {log} 2>&1"


rule pretrained_tokenizer:
    output:
        tokenizer="results/data/tokenizers/{tok}/tokenizer.json",
    log:
        "logs/pretrained_tokenizer/{tok}.log",
    benchmark:
        "results/benchmarks/pretrained_tokenizer/{tok}.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        **rule_resources("pretrained_tokenizer", mem_mb=2000, runtime=10),
    params:
        source=hub_tokenizer_source,
    shell:
        "python -m p2law.hub_data tokenizer --source {params.source:q} "
        "--out-dir $(dirname {output.tokenizer}) > {log} 2>&1"


rule hub_tokens:
    input:
        text="results/data/{split}.txt",
        tokenizer=rules.pretrained_tokenizer.output.tokenizer,
    output:
        tokens="results/data/tokens/{tok}/{split}.u32",
    log:
        "logs/hub_tokens/{tok}/{split}.log",
    benchmark:
        "results/benchmarks/hub_tokens/{tok}/{split}.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        **rule_resources("hub_tokens", mem_mb=4000, runtime=60),
    params:
        budget=token_budget,
    shell:
        "python -m p2law.hub_data tokens --tokenizer $(dirname {input.tokenizer}) "
        "--text {input.text} --out {output.tokens} {params.budget} > {log} 2>&1"
