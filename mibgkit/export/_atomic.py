"""Atomic file writes: write to a temporary file in the same folder, then ``os.replace``.

A reader (or a resumed batch) never sees a half-written output: either the old file,
no file, or the complete new one. The temporary name is ``.<name>.<random>.part<ext>``:
hidden, marked ``.part`` so left-overs of a killed run are recognised, and ending with
the final extension because writers such as SimpleITK choose the format from it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path", "TMP_SUFFIX"]

TMP_SUFFIX = ".part"


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[str]:
    """Yield a temporary path beside ``path``; on success move it onto ``path``.

    Parameters
    ----------
    path : str or path-like
        Final file name. Its folder is created if needed.

    Yields
    ------
    str
        Temporary file name to write to.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(final.suffixes[-2:]) if final.name.endswith(".nii.gz") else final.suffix
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=f"{TMP_SUFFIX}{suffix}", dir=final.parent)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
