"""Simulated human readers: readings made from ground-truth lesions with reader noise.

A :class:`ReaderModel` reads the known lesions of a synthetic study the way people
disagree (Messina 2006; Lewington 2017: agreement is worst at low scores): it misses
faint foci with a probability that falls with their conspicuity, now and then reports a
focus that is not there, and estimates the extent of diffuse involvement with a
multiplicative error, which moves grades across the 50 % and 95 % cut-offs. With no
model (``reader=None``) the truth is read exactly.

The lesions can be the phantom's ``Truth.lesions`` (``TruthLesion``) or ``Lesion``
objects (or mappings with the same keys); only ``id``, ``segment``, ``kind``,
``contrast``, ``radius_mm``, ``diffuse_fraction`` and, when present, ``cnr``,
``visible``, ``stored_positions``, ``positions`` and ``curie_segment`` are used. When a
lesion carries its expected contrast-to-noise ratio per view (``cnr``, computed by the
phantom from the noise-free image), detection depends on the best view's CNR; otherwise
on the lesion's contrast and size.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mibgkit.detect.model import Hotspot, Location
from mibgkit.scoring.reading import Reading
from mibgkit.segments import SIOPEN_KEYS

__all__ = ["ReaderModel", "FALSE_FOCUS_WEIGHTS", "detection_probability", "read_lesions"]

#: Where false-positive foci land (physiological uptake next to bone: bladder/pelvis,
#: bowel/spine, salivary glands/skull base, heart/ribs); relative weights per segment.
FALSE_FOCUS_WEIGHTS: dict[str, float] = {
    "skull": 2.0, "thoracic_cage": 2.0, "spine": 2.5, "pelvis": 3.0,
    "right_upper_limb_proximal": 0.4, "left_upper_limb_proximal": 0.4,
    "right_upper_limb_distal": 0.15, "left_upper_limb_distal": 0.15,
    "right_lower_limb_proximal": 0.5, "left_lower_limb_proximal": 0.5,
    "right_lower_limb_distal": 0.3, "left_lower_limb_distal": 0.3,
}


@dataclass(frozen=True)
class ReaderModel:
    """How one simulated reader reads.

    Parameters
    ----------
    name : str
        Reader name written in the readings.
    cnr50 : float
        Contrast-to-noise ratio (best view) at which a lesion is reported half the
        time; used when the lesion carries ``cnr`` (the phantom's ``visible`` flag is
        CNR >= 4, the Rose criterion).
    c50 : float
        Otherwise: conspicuity (contrast to liver x sqrt(radius / 6 mm)) at which a
        focus is reported half the time.
    width : float
        Spread of the detection curve in log units (smaller = sharper).
    false_foci : float
        Expected number of false foci per study (Poisson).
    diffuse_sd : float
        Log-normal SD of the reader's estimate of a diffuse lesion's extent.
    hidden_factor : float
        Detection probability multiplier for lesions the truth marks as not visible.
    """

    name: str
    cnr50: float = 5.0
    c50: float = 1.0
    width: float = 0.35
    false_foci: float = 0.05
    diffuse_sd: float = 0.25
    hidden_factor: float = 0.15

    def __post_init__(self) -> None:
        if self.cnr50 <= 0 or self.c50 <= 0 or self.width <= 0 or self.false_foci < 0 or self.diffuse_sd < 0:
            raise ValueError(f"invalid reader model {self}")


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def detection_probability(
    contrast: float,
    radius_mm: float,
    model: ReaderModel,
    diffuse: bool = False,
    cnr: float | None = None,
) -> float:
    """Probability that ``model`` reports a lesion.

    Parameters
    ----------
    contrast : float
        Activity concentration relative to liver.
    radius_mm : float
        Focus radius (diffuse lesions count as 6 mm with double contrast: they are
        large but their margins are faint).
    model : ReaderModel
    diffuse : bool
    cnr : float, optional
        Expected contrast-to-noise ratio in the best view; when given, it alone
        decides (against ``model.cnr50``).

    Returns
    -------
    float in [0, 1]
    """
    if cnr is not None:
        if cnr <= 0:
            return 0.0
        z = (math.log(cnr) - math.log(model.cnr50)) / model.width
    else:
        if contrast <= 0:
            return 0.0
        conspicuity = 2.0 * contrast if diffuse else contrast * math.sqrt(max(radius_mm, 0.5) / 6.0)
        z = (math.log(conspicuity) - math.log(model.c50)) / model.width
    return 1.0 / (1.0 + math.exp(-z))


def _locations(lesion: Any, frames: Mapping[str, Any] | None, views: Sequence[Mapping[str, Any]]) -> list[Location]:
    """Stored-pixel locations of a lesion: its ``stored_positions``, or ``positions``
    mapped through ``frames``, or (last resort) normalized positions as they are."""
    by_view = {str(v.get("view")): v for v in views}
    stored = _get(lesion, "stored_positions") or {}
    out = []
    if stored:
        for view, rc in stored.items():
            v = by_view.get(str(view), {})
            out.append(Location(str(view), str(v.get("sop_instance_uid", "")), int(v.get("frame", 1)),
                                float(rc[0]), float(rc[1])))
        return out
    for view, rc in (_get(lesion, "positions") or {}).items():
        frame = frames.get(view) if frames else None
        if frame is not None:
            row, col = frame.to_stored(float(rc[0]), float(rc[1]))
            out.append(Location(str(view), frame.sop_instance_uid, frame.frame, row, col))
        else:
            v = by_view.get(str(view), {})
            out.append(Location(str(view), str(v.get("sop_instance_uid", "")), int(v.get("frame", 1)),
                                float(rc[0]), float(rc[1])))
    return out


def read_lesions(
    lesions: Sequence[Any],
    study: Mapping[str, Any],
    reader: ReaderModel | None = None,
    rng: np.random.Generator | None = None,
    frames: Mapping[str, Any] | None = None,
    views: Sequence[Mapping[str, Any]] = (),
) -> Reading:
    """A reading of known lesions by a simulated reader (or the exact truth).

    Parameters
    ----------
    lesions : sequence
        Ground-truth skeletal lesions (see the module docstring for the attributes).
    study : mapping
        The reading's ``study`` block (``patient_id``, ``timepoint``, ...).
    reader : ReaderModel, optional
        None reads the truth exactly (reader name ``"truth"``).
    rng : numpy Generator, optional
        Source of the reader's randomness (required with a reader).
    frames : mapping of str to StoredFrame, optional
        Per view, the mapping from the normalized frame to stored pixels, for lesions
        that carry ``positions`` but no ``stored_positions``.
    views : sequence of mapping
        The reading's ``views`` block (``view``, ``sop_instance_uid``, ``frame``): it
        names the frame of each location.

    Returns
    -------
    Reading
        Findings confirmed, source ``reader``; false foci have ``extra["simulated"] =
        "false_positive"`` and no location; each true finding has
        ``extra["truth_id"]``.
    """
    if reader is not None and rng is None:
        raise ValueError("a simulated reader needs an rng")
    hotspots: list[Hotspot] = []
    for les in lesions:
        segment = _get(les, "segment")
        if segment not in SIOPEN_KEYS:
            continue
        kind = str(_get(les, "kind", "focal"))
        frac = float(_get(les, "diffuse_fraction", 0.0) or 0.0)
        if reader is not None:
            assert rng is not None
            cnrs = _get(les, "cnr") or {}
            p = detection_probability(float(_get(les, "contrast", 1.0)), float(_get(les, "radius_mm", 6.0)),
                                      reader, diffuse=kind == "diffuse",
                                      cnr=max(float(c) for c in cnrs.values()) if cnrs else None)
            if _get(les, "visible", True) is False:
                p *= reader.hidden_factor
            if rng.random() >= p:
                continue
            if kind == "diffuse":
                frac = float(np.clip(frac * math.exp(rng.normal(0.0, reader.diffuse_sd)), 0.02, 1.0))
        hotspots.append(Hotspot(
            id=f"h{len(hotspots) + 1}", segment=str(segment), pattern="diffuse" if kind == "diffuse" else "focal",
            status="confirmed", source="reader", confidence=1.0, locations=_locations(les, frames, views),
            diffuse_fraction=frac if kind == "diffuse" else None, curie_segment=_get(les, "curie_segment"),
            extra={"truth_id": str(_get(les, "id", ""))},
        ))
    if reader is not None and reader.false_foci > 0:
        assert rng is not None
        keys = list(FALSE_FOCUS_WEIGHTS)
        w = np.array([FALSE_FOCUS_WEIGHTS[k] for k in keys])
        for _ in range(int(rng.poisson(reader.false_foci))):
            seg = keys[int(rng.choice(len(keys), p=w / w.sum()))]
            hotspots.append(Hotspot(id=f"h{len(hotspots) + 1}", segment=seg, status="confirmed", source="reader",
                                    extra={"simulated": "false_positive"}))
    return Reading(
        study=dict(study), views=[dict(v) for v in views], hotspots=hotspots,
        reader="truth" if reader is None else reader.name,
        provenance={"parameters": {"simulated_reader": None if reader is None else reader.__dict__.copy()}},
    )
