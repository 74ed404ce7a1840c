"""Corpus splits, tokenizer and token files."""

import numpy as np
import pytest

from p2law.data import (
    SPLITS,
    encode_split,
    load_tokenizer,
    load_tokens,
    read_paragraphs,
    sequences,
    shakespeare_files,
    split_paragraphs,
    train_tokenizer,
    write_split,
)


@pytest.fixture(scope="module")
def paragraphs():
    files = shakespeare_files()
    assert len(files) == 42, "the shakespeare package ships 42 modern-spelling texts"
    # de-duplicated, so set operations below compare positions, not repeated lines like "ACT I."
    return list(dict.fromkeys(read_paragraphs(files[:3])))


def test_splits_are_deterministic_disjoint_and_nested(paragraphs):
    kwargs = dict(heldout_fraction=0.1, pretrain_fraction=0.8, posttrain_fraction=0.5, seed=3)
    a = split_paragraphs(paragraphs, **kwargs)
    assert a == split_paragraphs(paragraphs, **kwargs)
    assert a != split_paragraphs(paragraphs, **{**kwargs, "seed": 4})
    heldout = set(a["valid"]) | set(a["eval"])
    assert not heldout & set(a["pretrain"]), "held-out text must never be trained on"
    assert not set(a["valid"]) & set(a["eval"])
    assert set(a["posttrain"]) <= set(a["pretrain"]), "post-training draws from seen data"
    assert 0 < len(a["posttrain"]) < len(a["pretrain"])
    assert all(a[s] for s in SPLITS)


def test_tokenizer_round_trips_text_and_token_files(paragraphs, tmp_path):
    text = tmp_path / "train.txt"
    write_split(paragraphs, text)
    train_tokenizer([text], 300, tmp_path / "tok")
    tokenizer = load_tokenizer(tmp_path / "tok")
    assert len(tokenizer) == 300
    sample = "Now is the winter of our discontent\nMade glorious summer, by this sun of York!"
    ids = tokenizer(sample, add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids) == sample
    assert len(ids) < len(sample) / 1.3, "BPE should merge characters"

    count = encode_split(tokenizer, text, tmp_path / "train.bin")
    tokens = load_tokens(tmp_path / "train.bin")
    assert tokens.size == count
    eos = tokenizer.eos_token_id
    assert (np.asarray(tokens) == eos).sum() == len(read_paragraphs([text]))
    first = tokenizer.decode(np.asarray(tokens[: np.argmax(np.asarray(tokens) == eos)]))
    assert first == paragraphs[0]


def test_sequences_are_non_overlapping_windows():
    tokens = np.arange(100, dtype=np.uint16)
    windows = sequences(tokens, 16, limit=4)
    assert windows.shape == (4, 16)
    assert windows[1, 0] == 16 and windows.dtype == np.int64
    with pytest.raises(ValueError, match="fewer than one sequence"):
        sequences(tokens[:10], 16)


def test_sequence_view_is_a_lazy_view_and_as_ids_casts_only_used_rows(tmp_path):
    from p2law.data import as_ids, sequence_view

    path = tmp_path / "t.bin"
    np.arange(10, dtype=np.uint16).tofile(path)
    tokens = load_tokens(path)
    view = sequence_view(tokens, 3)
    assert view.shape == (3, 3) and view.dtype == np.uint16
    assert np.shares_memory(view, tokens)  # no copy of the shard
    rows = as_ids(view[[2, 0]])
    assert rows.dtype == np.int64 and rows.tolist() == [[6, 7, 8], [0, 1, 2]]
    assert np.array_equal(as_ids(view), sequences(tokens, 3))
