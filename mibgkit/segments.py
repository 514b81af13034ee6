"""SIOPEN and Curie segment definitions, read from ``mibgkit/data/segments.json``.

The bone -> segment table lives in data, not code, because centres differ (e.g. the
sacrum counted with the pelvis). Everything that names a segment uses the keys here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

__all__ = [
    "SIOPEN_KEYS",
    "SIOPEN_LABELS",
    "CURIE_KEYS",
    "Segment",
    "siopen_segments",
    "curie_segments",
    "bone_to_siopen",
    "bone_to_curie",
    "label_of",
    "key_of",
]


@dataclass(frozen=True)
class Segment:
    """One scored segment.

    Parameters
    ----------
    key : str
        Stable key used in every output (e.g. ``"skull"``).
    label : int
        Label value in label maps (1-12 for SIOPEN, 0 for Curie segments, which have
        no label map of their own).
    bones : tuple of str
        Bone names that belong to this segment.
    """

    key: str
    label: int
    bones: tuple[str, ...]


@lru_cache(maxsize=1)
def _table() -> dict:
    text = resources.files("mibgkit").joinpath("data/segments.json").read_text()
    return json.loads(text)


@lru_cache(maxsize=1)
def siopen_segments() -> tuple[Segment, ...]:
    """The 12 SIOPEN segments in label order."""
    return tuple(
        Segment(s["key"], int(s["label"]), tuple(s["bones"])) for s in _table()["siopen"]
    )


@lru_cache(maxsize=1)
def curie_segments() -> tuple[Segment, ...]:
    """The 10 Curie segments (9 skeletal + soft tissue)."""
    return tuple(Segment(s["key"], 0, tuple(s["bones"])) for s in _table()["curie"])


@lru_cache(maxsize=1)
def bone_to_siopen() -> dict[str, str]:
    """Map each bone name to its SIOPEN segment key."""
    return {b: s.key for s in siopen_segments() for b in s.bones}


@lru_cache(maxsize=1)
def bone_to_curie() -> dict[str, str]:
    """Map each bone name to its Curie segment key."""
    return {b: s.key for s in curie_segments() for b in s.bones}


SIOPEN_KEYS: tuple[str, ...] = tuple(s.key for s in siopen_segments())
SIOPEN_LABELS: dict[str, int] = {s.key: s.label for s in siopen_segments()}
CURIE_KEYS: tuple[str, ...] = tuple(s.key for s in curie_segments())


def label_of(key: str) -> int:
    """Label number (1-12) of a SIOPEN segment key."""
    try:
        return SIOPEN_LABELS[key]
    except KeyError:
        raise KeyError(f"unknown SIOPEN segment key {key!r}; expected one of {SIOPEN_KEYS}") from None


def key_of(label: int) -> str:
    """SIOPEN segment key of a label number (1-12)."""
    if not 1 <= int(label) <= len(SIOPEN_KEYS):
        raise KeyError(f"no SIOPEN segment has label {label}")
    return SIOPEN_KEYS[int(label) - 1]
