"""Atomic writes and cheap path helpers for the converter.

The same protocol as :mod:`mibgkit.export._atomic` (hidden ``.<name>.<pid>-<n>.part<ext>``
temporary in the target folder, then ``os.replace``), kept here so a conversion worker
does not import :mod:`mibgkit.export` (whose package pulls in highdicom). Bytes are
hashed from memory, so an output is never read back to get its SHA-256.
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Callable
from pathlib import Path

__all__ = ["TMP_SUFFIX", "FolderCache", "atomic_write", "atomic_write_with", "relative", "sha256_file"]

#: Marks temporaries (the value of :data:`mibgkit.export._atomic.TMP_SUFFIX`).
TMP_SUFFIX = ".part"


class FolderCache:
    """Create output folders once per run instead of once per file."""

    def __init__(self) -> None:
        self._made: set[str] = set()

    def ensure(self, folder: str) -> None:
        """``mkdir -p folder``, remembered."""
        if folder not in self._made:
            os.makedirs(folder, exist_ok=True)
            self._made.add(folder)


_COUNTER = itertools.count()
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def _open_temp(final: str) -> tuple[int, str]:
    """Create a new hidden temporary next to ``final``: (open fd, path).

    Its name is unique per process (pid + counter; ``O_EXCL`` refuses a left-over of
    an earlier process that had the same pid, and the next name is tried).
    """
    folder, name = os.path.split(final)
    ext = ".nii.gz" if name.endswith(".nii.gz") else os.path.splitext(name)[1]
    while True:
        tmp = os.path.join(folder, f".{name}.{os.getpid()}-{next(_COUNTER)}{TMP_SUFFIX}{ext}")
        try:
            return os.open(tmp, _FLAGS, 0o666), tmp
        except FileExistsError:
            continue


def _temp_for(final: str) -> str:
    fd, tmp = _open_temp(final)
    os.close(fd)
    return tmp


def atomic_write(final: str, data: bytes, folders: FolderCache | None = None) -> str:
    """Write ``data`` to ``final`` through a temporary; return its SHA-256 (hex).

    Parameters
    ----------
    final : str
        Target file; its folder is created when needed.
    data : bytes
    folders : FolderCache, optional
        Remembers folders already created.

    Returns
    -------
    str
    """
    (folders or FolderCache()).ensure(os.path.dirname(final) or ".")
    fd, tmp = _open_temp(final)
    try:
        with open(fd, "wb", closefd=True) as f:
            f.write(data)
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return hashlib.sha256(data).hexdigest()


def atomic_write_with(final: str, write: Callable[[str], None], folders: FolderCache | None = None) -> str:
    """Let ``write(tmp)`` fill a temporary (e.g. SimpleITK), move it onto ``final``; return its SHA-256."""
    (folders or FolderCache()).ensure(os.path.dirname(final) or ".")
    tmp = _temp_for(final)
    try:
        write(tmp)
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return sha256_file(final)


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 (hex) of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def relative(path: str, root: str) -> str:
    """``path`` relative to ``root`` (POSIX), or ``path`` itself when outside it.

    ``root`` must be absolute and resolved (as :func:`mibgkit.convert.convert_tree`
    makes it); a path that textually starts with it needs no file system call.
    """
    prefix = root.rstrip(os.sep) + os.sep
    if path.startswith(prefix):
        return path[len(prefix):].replace(os.sep, "/")
    try:
        return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()
