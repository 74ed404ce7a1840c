"""Atomic output writes: a job killed mid-write never leaves a file that looks finished.

Every writer goes through a temporary name beside the target and renames it into place
(`os.replace` is atomic on one file system), so a finished-looking path always holds a
complete file and a crash leaves only `*.tmp.<pid>` debris that no rule declares as output.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path


def _tmp_name(path: Path) -> Path:
    return path.with_name(f"{path.name}.tmp.{os.getpid()}")


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path to write; it becomes `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # after a failure; a no-op after the rename


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


@contextmanager
def staged_dir(directory: str | Path, last: str):
    """Yield a temporary folder to fill; on success move its files into `directory`.

    `last` (the file a rule declares as output, e.g. model.safetensors) moves last, so it
    exists only once every file beside it (config.json, masks) is already in place.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(directory)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        files = sorted(tmp.iterdir(), key=lambda p: p.name == last)
        if not files or files[-1].name != last:
            raise FileNotFoundError(f"{tmp}: nothing was written as {last}")
        for item in files:
            os.replace(item, directory / item.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
