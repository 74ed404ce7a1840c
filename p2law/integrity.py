"""Cheap structural checks of weight files before they are loaded.

A truncated file (a job killed mid-copy, a full disk) otherwise fails deep inside safetensors
or torch with a message that names no file, or worse, loads partly. Both formats state their
own length, so truncation is found from the header and the file size, without reading data.
"""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path


class CorruptFileError(RuntimeError):
    """A weight or checkpoint file that is truncated or not in its format; names the file."""


def check_safetensors(path: str | Path) -> None:
    """Raise unless `path` is a whole safetensors file: 8-byte header size, JSON, then data."""
    path = Path(path)
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            raise CorruptFileError(f"{path}: truncated safetensors file ({size} bytes)")
        (n,) = struct.unpack("<Q", head)
        if 8 + n > size:
            raise CorruptFileError(
                f"{path}: truncated safetensors file (header of {n} bytes, " f"file of {size})"
            )
        try:
            header = json.loads(handle.read(n))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise CorruptFileError(f"{path}: not a safetensors file (unreadable header)") from None
    ends = [t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"]
    expected = 8 + n + max(ends, default=0)
    if size != expected:
        raise CorruptFileError(
            f"{path}: truncated or corrupt safetensors file ({size} bytes, "
            f"its header describes {expected})"
        )


def check_torch_file(path: str | Path) -> None:
    """Raise unless `path` is a whole torch.save zip (its central directory is at the end).

    torch's legacy (pickle) format carries no length to check: it is let through, and a
    damaged one fails in torch.load.
    """
    with open(path, "rb") as handle:
        magic = handle.read(2)
    if magic == b"\x80\x02":  # legacy torch.save: pickle protocol 2
        return
    try:
        with zipfile.ZipFile(path) as archive:
            archive.infolist()
    except (zipfile.BadZipFile, OSError) as err:
        raise CorruptFileError(f"{path}: truncated or corrupt checkpoint file ({err})") from None


def check_model_dir(directory: str | Path) -> None:
    """Check every safetensors file of a local checkpoint folder (weights, shards, masks)."""
    files = sorted(Path(directory).glob("*.safetensors"))
    if not files and (Path(directory) / "config.json").is_file():
        raise CorruptFileError(f"{directory}: has config.json but no *.safetensors weights")
    for path in files:
        check_safetensors(path)
