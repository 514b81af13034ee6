"""Which way a planar frame looks at the patient (ANT / POST / UNKNOWN), and why.

Order of evidence (DESIGN.md): View Code Sequence, then the Detector Information
Sequence (per-detector View Code Sequence, then per-detector Image Orientation), then
free text (Image ID, Series Description, Protocol Name, Image Comments). When nothing
says, the view is ``UNKNOWN`` -- never guessed. Codes come from CID 26 (Nuclear Medicine
Projection) and CID 501 (antero-posterior / postero-anterior), in SNOMED CT and legacy
SNOMED-RT form.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mibgkit.io._values import HeaderValues, as_values, floats
from mibgkit.io.model import ViewName

if TYPE_CHECKING:  # pragma: no cover
    from pydicom.dataset import Dataset

__all__ = ["ViewEvidence", "view_from_code", "view_from_text", "detector_from_text", "identify_views"]


#: SNOMED CT concept values of the projections, as in pydicom's ``pydicom.sr.codedict.codes.SCT``
#: (a local table: importing the code dictionary costs ~0.2 s per process; tests check equality).
SCT_VIEW_CODES = {
    "AnteriorProjection": "399321004",
    "AnteroPosterior": "399348003",
    "PosteriorProjection": "399001007",
    "PosteroAnterior": "272479007",
}


def _code_values(*names: str) -> set[str]:
    return {SCT_VIEW_CODES[name] for name in names}


# SNOMED CT values plus their SNOMED-RT equivalents (pydicom's SRT<->SCT table).
_ANT_CODES = _code_values("AnteriorProjection", "AnteroPosterior") | {"G-5215", "R-10206"}
_POST_CODES = _code_values("PosteriorProjection", "PosteroAnterior") | {"G-5216", "R-10214"}

_ANT_WORDS = {"ANT", "ANTERIOR", "AP", "ANTERIEUR", "ANTERIORE", "ANTERIOR_PROJECTION", "VORNE"}
_POST_WORDS = {"POST", "POSTERIOR", "PA", "POSTERIEUR", "POSTERIORE", "HINTEN"}
_TEXT_KEYWORDS = ("ImageID", "SeriesDescription", "ProtocolName", "ImageComments")
_DETECTOR_RE = re.compile(
    r"(?:^|[^A-Z0-9])(?:D|H|DET|HEAD|DETECTOR|DETECTEUR|DETECTOR_)\s*([1-4])(?:$|[^0-9])"
)


@dataclass(frozen=True)
class ViewEvidence:
    """The view of one detector's frames and where it came from.

    Parameters
    ----------
    view : {"ANT", "POST", "UNKNOWN"}
    source : str
        ``"ViewCodeSequence"``, ``"DetectorInformationSequence"``, ``"text:<Keyword>"``
        or ``"none"``.
    label : str
        Free text that names the frame (code meaning or text), e.g. ``"FONDO D1"``.
    """

    view: ViewName
    source: str
    label: str = ""


def view_from_code(item: Dataset | HeaderValues) -> ViewName | None:
    """ANT / POST from one code item (code value, else its meaning as text); None if neither."""
    code = as_values(item)
    value = str(code.get("CodeValue", "") or code.get("LongCodeValue", "") or "").strip()
    if value in _ANT_CODES:
        return "ANT"
    if value in _POST_CODES:
        return "POST"
    return view_from_text(str(code.get("CodeMeaning", "") or ""))


def _tokens(text: str) -> list[str]:
    return [t for t in re.split(r"[^A-Z0-9]+", text.upper()) if t]


def view_from_text(text: str) -> ViewName | None:
    """ANT or POST when ``text`` has words of exactly one of them (``POSTERIOR_H2`` -> POST).

    Text naming both (``"WB ANT/POST"``) or neither gives None.
    """
    words = set(_tokens(text))
    ant, post = bool(words & _ANT_WORDS), bool(words & _POST_WORDS)
    if ant == post:
        return None
    return "ANT" if ant else "POST"


def detector_from_text(text: str) -> int | None:
    """Detector number written in free text (``'FONDO D1'`` -> 1, ``'Detector 2'`` -> 2)."""
    m = _DETECTOR_RE.search(text.upper())
    return int(m.group(1)) if m else None


def _first_code(v: HeaderValues, keyword: str) -> HeaderValues | None:
    items = v.items(keyword)
    return items[0] if items else None


def _normal(iop: object) -> tuple[float, float, float] | None:
    """Unit normal of an Image Orientation (plain floats: numpy costs more than the maths on 3-vectors)."""
    v = floats(iop, 6)
    if v is None:
        return None
    r0, r1, r2, c0, c1, c2 = (float(x) for x in v)
    n = (r1 * c2 - r2 * c1, r2 * c0 - r0 * c2, r0 * c1 - r1 * c0)
    norm = math.sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2])
    return (n[0] / norm, n[1] / norm, n[2] / norm) if norm > 0.5 else None


def _close(a: tuple[float, ...], b: tuple[float, ...], atol: float = 1e-3, rtol: float = 1e-5) -> bool:
    """``numpy.allclose(a, b, rtol, atol)`` for short tuples."""
    return all(abs(x - y) <= atol + rtol * abs(y) for x, y in zip(a, b))


def _view_from_normals(detectors: list[HeaderValues]) -> list[ViewName | None]:
    """ANT/POST from per-detector orientation: image normal +y (posterior) is an anterior view.

    Only trusted when the detectors' orientations differ from each other (or there is one
    detector): vendors that copy one orientation to every head say nothing per head.
    """
    found = [_normal(d.get("ImageOrientationPatient")) for d in detectors]
    normals = [n for n in found if n is not None]
    if len(normals) < len(found):
        return [None] * len(detectors)
    if len(normals) > 1 and any(_close(normals[0], n) for n in normals[1:]):
        return [None] * len(detectors)
    out: list[ViewName | None] = []
    for n in normals:
        if abs(n[1]) < 0.9:
            out.append(None)  # lateral or oblique
        else:
            out.append("ANT" if n[1] > 0 else "POST")
    return out


def identify_views(ds: Dataset | HeaderValues, detectors_used: Sequence[int]) -> dict[int, ViewEvidence]:
    """The view of each detector used by an object's frames.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset or HeaderValues
        The object's header.
    detectors_used : sequence of int
        1-based detector numbers the frames refer to (Detector Vector values).

    Returns
    -------
    dict
        Detector number -> :class:`ViewEvidence`.
    """
    dets = sorted(set(int(d) for d in detectors_used)) or [1]
    v = as_values(ds)
    dis = v.items("DetectorInformationSequence")
    result: dict[int, ViewEvidence] = {}

    top = _first_code(v, "ViewCodeSequence")
    top_view = view_from_code(top) if top is not None else None
    top_label = str(top.get("CodeMeaning", "") or "") if top is not None else ""
    normal_views = _view_from_normals(dis) if dis else []

    for det in dets:
        item = dis[det - 1] if 0 < det <= len(dis) else (dis[0] if len(dis) == 1 else None)
        det_code = _first_code(item, "ViewCodeSequence") if item is not None else None
        det_label = str(det_code.get("CodeMeaning", "") or det_code.get("CodeValue", "")) if det_code is not None else ""
        label = det_label or top_label
        if top_view is not None and len(dets) == 1:
            result[det] = ViewEvidence(top_view, "ViewCodeSequence", label)
            continue
        det_view = view_from_code(det_code) if det_code is not None else None
        if det_view is not None:
            result[det] = ViewEvidence(det_view, "DetectorInformationSequence", label)
            continue
        idx = det - 1 if 0 < det <= len(normal_views) else None
        if idx is not None and normal_views[idx] is not None:
            result[det] = ViewEvidence(normal_views[idx], "DetectorInformationSequence", label)  # type: ignore[arg-type]
            continue
        if len(dets) == 1:  # one text cannot name the views of several heads
            found = _view_from_texts(v)
            if found is not None:
                view, keyword, text = found
                result[det] = ViewEvidence(view, f"text:{keyword}", label or text)
                continue
        result[det] = ViewEvidence("UNKNOWN", "none", label)
    return result


def _view_from_texts(v: HeaderValues) -> tuple[ViewName, str, str] | None:
    """(view, keyword, text) from the first free-text attribute that names one view."""
    for keyword in _TEXT_KEYWORDS:
        text = str(v.get(keyword, "") or "")
        view = view_from_text(text) if text else None
        if view is not None:
            return view, keyword, text
    return None
