"""A detected focus in a bridged gap of the mapped spinal column is filed under spine."""

from __future__ import annotations

import numpy as np

from mibgkit.anatomy.gaps import bridge_spine_gaps
from mibgkit.anatomy.model import SegmentMap
from mibgkit.detect.detector import _gap_segment
from mibgkit.segments import label_of

SPINE, CAGE = label_of("spine"), label_of("thoracic_cage")


def _map(with_lookup: bool) -> SegmentMap:
    lab = np.zeros((40, 20), np.uint8)
    lab[:, 8:12] = SPINE
    lab[:, 2:8] = CAGE
    lab[18:20, 8:12] = CAGE          # a rib crossing the column, 2 px = 4.6 mm
    look = bridge_spine_gaps(lab, 2.3) if with_lookup else None
    return SegmentMap(lab, "POST", (2.3, 2.3), lookup_labels=look)


def test_focus_in_a_bridged_gap_is_spine_elsewhere_unchanged():
    smap = _map(True)
    assert smap.labels[18, 9] == CAGE
    assert _gap_segment("thoracic_cage", smap, 18.2, 9.4) == "spine"
    assert smap.segment_at(18.2, 9.4) == "spine"  # the reader's click reads the same way
    # a rib beside the column, and a spine pixel, keep their segment
    assert _gap_segment("thoracic_cage", smap, 18, 4) == "thoracic_cage"
    assert _gap_segment("spine", smap, 5, 9) == "spine"
    # outside the image: unchanged
    assert _gap_segment("thoracic_cage", smap, -3, 9) == "thoracic_cage"


def test_without_lookup_labels_the_label_map_decides():
    smap = _map(False)
    assert _gap_segment("thoracic_cage", smap, 18, 9) == "thoracic_cage"
    assert smap.segment_at(18, 9) == "thoracic_cage"
