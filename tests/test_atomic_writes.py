"""A job killed while writing leaves no output that looks finished (issue 9, crashes).

Two moments of a kill are simulated for each writer: in the middle of writing the content
(a partial file exists somewhere), and after the content is written but before it is renamed
into place. Either way the declared output must not exist, and an older complete version
must survive untouched.
"""

import os

import numpy as np
import pandas as pd
import pytest

from p2law import atomic


class Killed(BaseException):
    """Stands in for SIGKILL: not an Exception, so no handler in the code under test sees it."""


def _kill_at_rename(monkeypatch):
    def killed(*args, **kwargs):
        raise Killed()

    monkeypatch.setattr(os, "replace", killed)  # Path.replace goes through os.replace too


def _tiny_model():
    from _tiny import tiny_llama

    return tiny_llama()


def _fit():
    from p2law.law.fit import Fit
    from p2law.law.forms import get_form

    return Fit(
        law="L1", theta=np.zeros(get_form("L1").k), n0_unit=1e6, d_unit=1e6, huber_delta=1e-3
    )


def _report_table(path):
    from p2law.report_tables import write_table

    outputs = {k: path.with_suffix(f".{k}") for k in ("csv", "md", "tex", "html")}
    write_table(pd.DataFrame({"a": [1.0, 2.0]}), outputs)


def _run_outputs(path):
    from p2law.posttrain.engine import write_outputs

    write_outputs(
        {"rows": [{"step": 0, "tokens": 0, "loss": 3.0}], "summary": {}},
        path,
        path.with_suffix(".json"),
    )


def _eval_loss_table(path):
    from p2law.tables import write_csv

    write_csv(pd.DataFrame({"loss": [3.0]}), path)


def _split_json(path):
    from p2law.analysis import save_json

    save_json({"a": 1}, path)


def _checkpoint(path):
    from p2law.models import save_model

    save_model(_tiny_model(), path.parent)


# (output, writer(path)): every writer behind a declared workflow output
WRITERS = [
    ("eval-loss table", _eval_loss_table),
    ("report table", _report_table),
    ("fit JSON", lambda path: _fit().save(path)),
    ("split / bootstrap JSON", _split_json),
    ("prune / l0 / train JSON", lambda path: atomic.write_text(path, "{}")),
    ("post-training curve", _run_outputs),
    ("pruned checkpoint", _checkpoint),
]


def _target(tmp_path, what):
    # checkpoints are folders whose declared output is model.safetensors
    return tmp_path / ("model.safetensors" if what == "pruned checkpoint" else "out.csv")


@pytest.mark.parametrize("what,write", WRITERS, ids=[w[0] for w in WRITERS])
def test_kill_before_rename_leaves_no_output(tmp_path, monkeypatch, what, write):
    target = _target(tmp_path, what)
    write(target)  # a complete earlier version
    before = target.read_bytes()
    _kill_at_rename(monkeypatch)
    with pytest.raises(Killed):
        write(target)
    assert target.read_bytes() == before  # never replaced by a partial file
    monkeypatch.undo()
    target.unlink()
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    _kill_at_rename(monkeypatch)
    with pytest.raises(Killed):
        write(_target(fresh, what))
    assert not _target(fresh, what).exists()


def test_kill_mid_table_write_leaves_no_table(tmp_path, monkeypatch):
    from p2law.tables import write_csv

    real = pd.DataFrame.to_csv

    def half_then_killed(self, path, **kwargs):
        real(self.iloc[: len(self) // 2], path, **kwargs)  # half the rows reach the disk
        raise Killed()

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_killed)
    target = tmp_path / "results" / "tables" / "eval_loss.csv"
    with pytest.raises(Killed):
        write_csv(pd.DataFrame({"loss": np.arange(10.0)}), target)
    assert not target.exists()


def test_kill_mid_checkpoint_write_leaves_no_weights(tmp_path, monkeypatch):
    """The pruned model's weights half-written, or its 2:4 masks not yet written."""
    from transformers import PreTrainedModel

    from p2law.models import save_model

    model, out = _tiny_model(), tmp_path / "pruned"

    def half_then_killed(self, folder, **kwargs):
        (folder / "model.safetensors").write_bytes(b"\x00" * 100)  # a partial weights file
        raise Killed()

    def masks_killed(folder):
        (folder / "masks.safetensors").write_bytes(b"\x00" * 10)
        raise Killed()

    with pytest.raises(Killed):
        save_model(model, out, also=masks_killed)
    assert not (out / "model.safetensors").exists() and not (out / "masks.safetensors").exists()
    monkeypatch.setattr(PreTrainedModel, "save_pretrained", half_then_killed)
    with pytest.raises(Killed):
        save_model(model, out)
    assert not (out / "model.safetensors").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["pruned"]  # no staging folder left behind


def test_checkpoint_files_arrive_together_weights_last(tmp_path):
    import torch
    from safetensors.torch import save_file

    from p2law.models import load_model, save_model
    from p2law.posttrain.checkpoint import MASKS_FILE

    out = tmp_path / "pruned"
    masks = {"w": torch.ones(4, dtype=torch.bool)}
    save_model(_tiny_model(), out, also=lambda folder: save_file(masks, folder / MASKS_FILE))
    assert {p.name for p in out.iterdir()} >= {
        "config.json",
        "model.safetensors",
        "masks.safetensors",
    }
    assert load_model(out).config.num_hidden_layers == 2
