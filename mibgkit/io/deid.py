"""De-identified patient key: a keyed hash of the Patient ID.

``patient_key(patient_id)`` is ``"P-"`` followed by the first 12 hex digits of
HMAC-SHA256(key, Patient ID). The same key gives the same patient key in every run, so
time points of one child can be linked without carrying the ID; without the key the ID
cannot be recovered by hashing guesses.

The key is, in order:

1. the environment variable ``MIBGKIT_KEY`` (any text), or
2. the file ``$XDG_CONFIG_HOME/mibgkit/key`` (default ``~/.config/mibgkit/key``),
   created on first use with 32 random bytes (hex) and mode 0600.

Share the key file between the machines of one project to get the same patient keys;
keep it out of the data it protects.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from functools import lru_cache
from pathlib import Path

__all__ = ["KEY_ENV", "key_path", "load_key", "patient_key"]

KEY_ENV = "MIBGKIT_KEY"
# key per (XDG_CONFIG_HOME, HOME), the two variables key_path() depends on: no path is built
# (Path.home(), ~0.1 ms) for every object loaded
_cache: dict[tuple[str | None, str | None], bytes] = {}


def key_path() -> Path:
    """Where the per-user key file lives (``$XDG_CONFIG_HOME/mibgkit/key``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "mibgkit" / "key"


def load_key() -> bytes:
    """The HMAC key: ``MIBGKIT_KEY`` if set, else the key file (created on first use)."""
    env = os.environ.get(KEY_ENV)
    if env:
        return env.encode("utf-8")
    where = (os.environ.get("XDG_CONFIG_HOME"), os.environ.get("HOME"))
    cached = _cache.get(where)
    if cached is not None:
        return cached
    path = key_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it meanwhile
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32) + "\n")
    key = path.read_text().strip().encode("utf-8")
    _cache[where] = key
    return key


def patient_key(patient_id: str, key: bytes | None = None) -> str:
    """``"P-"`` + 12 hex digits of HMAC-SHA256(key, Patient ID); ``""`` for an empty ID.

    Parameters
    ----------
    patient_id : str
        Raw Patient ID (0010,0020).
    key : bytes, optional
        HMAC key; :func:`load_key` by default.
    """
    pid = (patient_id or "").strip()
    if not pid:
        return ""
    return _keyed_hash(key if key is not None else load_key(), pid)


@lru_cache(maxsize=4096)
def _keyed_hash(key: bytes, pid: str) -> str:
    """Cached per (key, ID): a folder of one patient's files hashes the ID once."""
    return "P-" + hmac.new(key, pid.encode("utf-8"), hashlib.sha256).hexdigest()[:12]
