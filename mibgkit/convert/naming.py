"""Output names from a template: safe characters, deterministic, no collisions.

A template is a relative path with ``{field}`` placeholders, without extension::

    {patient_key}/{study_date}_{series_number}_{view}      (the default)

Study fields (the same for every image of a study): ``patient_key`` (keyed hash of
the Patient ID, ``P-...``), ``study_key`` (keyed hash of the Study Instance UID,
``S-...``), ``study_date`` (``YYYYMMDD``, shifted when de-identified), ``modality``.
Image fields: ``series_number``, ``view`` (``ANT``, ``POST``, ``UNKNOWN``, ``SPECT``),
``kind`` (``whole_body``, ``static``, ``volume``), ``frame`` (1-based stored frame),
``detector``, ``energy_window``.

Every value is reduced to ``[A-Za-z0-9._-]`` (other runs become ``-``), so a name is
safe on every file system and never climbs out of the output folder. Collisions are
resolved deterministically: inside a study the second image with the same name gets
``_2``, the third ``_3`` (in the loader's image order); across studies, every study
whose study part of the name equals an earlier study's (in study-key order) gets
``_<study_key>`` appended, so parallel workers never race for a name.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence

__all__ = [
    "DEFAULT_TEMPLATE",
    "STUDY_FIELDS",
    "IMAGE_FIELDS",
    "check_template",
    "safe",
    "render",
    "study_part",
    "dedupe",
]

DEFAULT_TEMPLATE = "{patient_key}/{study_date}_{series_number}_{view}"
STUDY_FIELDS = frozenset({"patient_key", "study_key", "study_date", "modality"})
IMAGE_FIELDS = frozenset({"series_number", "view", "kind", "frame", "detector", "energy_window"})
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_PART = 100
_IMAGE_PLACEHOLDER = "\x00"


def check_template(template: str) -> list[str]:
    """Validate a name template; return its field names in order.

    Raises
    ------
    ValueError
        Unknown field, format spec, absolute path, ``..``, or no field at all.
    """
    fields = []
    for _, name, spec, conv in string.Formatter().parse(template):
        if name is None:
            continue
        if name not in STUDY_FIELDS | IMAGE_FIELDS:
            known = ", ".join(sorted(STUDY_FIELDS | IMAGE_FIELDS))
            raise ValueError(f"unknown field {{{name}}} in name template {template!r}; known: {known}")
        if spec or conv:
            raise ValueError(f"field {{{name}}} in name template {template!r} takes no format spec")
        fields.append(name)
    if not fields:
        raise ValueError(f"name template {template!r} has no field")
    if template.startswith(("/", "\\")) or ".." in template.replace("\\", "/").split("/"):
        raise ValueError(f"name template {template!r} must be a relative path inside the output folder")
    return fields


def safe(value: object) -> str:
    """A value reduced to ``[A-Za-z0-9._-]``, never empty, never ``.`` or ``..``."""
    text = _UNSAFE.sub("-", "" if value is None else str(value)).strip("-.")
    return text[:_MAX_PART] or "none"


def render(template: str, fields: Mapping[str, object]) -> str:
    """Fill a template with safe values; ``/`` separates folders.

    Parameters
    ----------
    template : str
        Checked with :func:`check_template`.
    fields : mapping
        A value for every field the template uses (``None`` renders as ``none``).

    Returns
    -------
    str
        Relative POSIX path, without extension.
    """
    check_template(template)
    values = {k: (v if v == _IMAGE_PLACEHOLDER else safe(v)) for k, v in fields.items()}
    parts = [p for p in template.replace("\\", "/").split("/") if p]
    return "/".join(part.format(**values) for part in parts)


def study_part(template: str, study_fields: Mapping[str, object]) -> str:
    """The template rendered with study fields only (image fields left as placeholders).

    Two studies with equal study parts could produce the same names.
    """
    placeholders = dict.fromkeys(IMAGE_FIELDS, _IMAGE_PLACEHOLDER)
    return render(template, {**placeholders, **study_fields})


def dedupe(stems: Sequence[str]) -> list[str]:
    """Make names unique in order: repeats get ``_2``, ``_3``, ... (case-insensitively)."""
    seen: set[str] = set()
    out = []
    for stem in stems:
        candidate, n = stem, 1
        while candidate.lower() in seen:
            n += 1
            candidate = f"{stem}_{n}"
        seen.add(candidate.lower())
        out.append(candidate)
    return out
