"""Point lookups across the short gaps of the mapped spinal column (mibgkit.anatomy.gaps)."""

from __future__ import annotations

import numpy as np
import pytest

from mibgkit.anatomy import map_segments
from mibgkit.anatomy.gaps import SPINE_GAP_MM, bridge_spine_gaps
from mibgkit.anatomy.model import SegmentMap
from mibgkit.segments import label_of

SPINE, CAGE, SKULL = label_of("spine"), label_of("thoracic_cage"), label_of("skull")


@pytest.fixture(scope="module")
def pair_maps(phantom_sim):
    return map_segments(phantom_sim.study)


def test_short_gaps_of_cage_or_background_are_bridged_longer_or_other_bones_not():
    lab = np.zeros((40, 6), np.uint8)
    lab[:, :] = SPINE
    lab[5:8, 0] = CAGE          # 3 px = 6.9 mm at 2.3 mm: bridged
    lab[5:9, 1] = CAGE          # 4 px = 9.2 mm: kept
    lab[10:12, 2] = 0           # 2 px of background: bridged
    lab[10:12, 3] = SKULL       # another bone: kept
    lab[20:22, 4] = CAGE
    lab[22, 4] = SKULL          # a run holding another bone: kept whole
    lab[30:, 5] = CAGE          # no spine below: kept
    out = bridge_spine_gaps(lab, 2.3)
    assert out is not lab and lab[5, 0] == CAGE  # a copy, the input untouched
    assert (out[5:8, 0] == SPINE).all() and (out[10:12, 2] == SPINE).all()
    assert (out[5:9, 1] == CAGE).all() and (out[10:12, 3] == SKULL).all()
    assert (out[20:22, 4] == CAGE).all() and (out[30:, 5] == CAGE).all()
    # 3 px at 2.4 mm (7.2 mm) exceed the 7 mm limit
    assert (bridge_spine_gaps(lab, 2.4)[5:8, 0] == CAGE).all()
    assert (bridge_spine_gaps(lab, 2.4, max_gap_mm=SPINE_GAP_MM + 0.5)[5:8, 0] == SPINE).all()
    # nothing to bridge: the same array back
    none = np.full((10, 3), CAGE, np.uint8)
    assert bridge_spine_gaps(none, 2.3) is none
    same = np.full((10, 3), SPINE, np.uint8)
    assert bridge_spine_gaps(same, 2.3) is same


def test_mapped_gaps_read_as_spine_for_points_only(pair_maps):
    post = pair_maps.views[1]
    assert post.view == "POST" and post.lookup_labels is not None
    changed = post.lookup_labels != post.labels
    # the phantom's POST spine is interrupted by rib crossings and vertebral gaps
    assert 0 < int(changed.sum()) < 0.3 * int((post.labels == SPINE).sum())
    assert set(np.unique(post.labels[changed]).tolist()) <= {0, CAGE}
    assert (post.lookup_labels[changed] == SPINE).all()
    # the label map (and so every Dice) keeps its gaps; the point lookup reads across them:
    # a rib crossing the column is spine for a point, thoracic cage in the map
    bare = SegmentMap(post.labels, "POST", post.pixel_spacing_mm)
    crossings = np.argwhere(changed & (post.labels == CAGE))
    assert len(crossings) > 0
    for r, c in crossings:
        assert post.labels[r, c] == CAGE and bare.segment_at(r, c) == "thoracic_cage"
        assert bare.nearest_segment(r, c) == "thoracic_cage" and post.segment_at(r, c) == "spine"
        assert post.nearest_segment(r, c) == "spine"
    # away from the gaps the lookup is unchanged
    keep = np.argwhere(~changed & (post.labels > 0))[::997]
    for rr, cc in keep:
        assert post.nearest_segment(rr, cc) == bare.nearest_segment(rr, cc)
