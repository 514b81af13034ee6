"""mibgkit.anatomy: SIOPEN segment maps of planar views and SPECT/CT volumes.

mIBG shows no normal bone, so the skeleton is inferred from what is visible - the body
outline, head, neck, shoulders, arms, crotch, knees, feet - and the age: landmarks are
found on the image (:mod:`~mibgkit.anatomy.landmarks`), an age-proportioned 2-D
skeletal atlas (``data/atlas_planar.json``, :mod:`~mibgkit.anatomy.atlas`) is warped
onto them (:mod:`~mibgkit.anatomy.warp`) and painted per view with the bone nearer
the camera on top (:mod:`~mibgkit.anatomy.planar`). SPECT volumes are labelled from a
CT when there is one (:mod:`~mibgkit.anatomy.spect`); Curie segments are derived
from the same atlas (:mod:`~mibgkit.anatomy.curie`).

>>> maps = map_segments(study)            # doctest: +SKIP
>>> maps.views[0].segment_at(310, 128)    # doctest: +SKIP
'spine'
"""

from __future__ import annotations

from mibgkit.anatomy.map import map_segments
from mibgkit.anatomy.model import Landmark, SegmentMap, StudySegmentMaps, VolumeSegmentMap

__all__ = ["map_segments", "Landmark", "SegmentMap", "StudySegmentMaps", "VolumeSegmentMap"]
