"""Writing files so that a crash never leaves half of one behind: the one helper every module uses.

Everything the book writes (checkpoints, downloads, exported weights, student copies) is written
to a temporary file in the destination's own folder and renamed over the real name only when it
is complete. ``os.replace`` is atomic on one file system, so a reader sees the old file or the
new one, never a torn one; on failure the temporary file is removed.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_path(dest) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; on success it is renamed to ``dest``.

    >>> with atomic_path("model.pt") as tmp:
    ...     torch.save(state, tmp)          # doctest: +SKIP
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(dest, data: bytes) -> Path:
    """Atomically write ``data`` to ``dest``."""
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)
    return Path(dest)


def write_text(dest, text: str, encoding: str = "utf-8") -> Path:
    """Atomically write ``text`` to ``dest``."""
    return write_bytes(dest, text.encode(encoding))


def copy_file(src, dest, chunk: int = 1 << 20) -> Path:
    """Atomically copy ``src`` to ``dest`` in chunks (never the whole file in memory)."""
    with atomic_path(dest) as tmp, open(src, "rb") as fi, open(tmp, "wb") as fo:
        for block in iter(lambda: fi.read(chunk), b""):
            fo.write(block)
    return Path(dest)
