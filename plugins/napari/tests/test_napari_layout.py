"""StudyLayout: world placement of the views and stored <-> world round trips."""

from __future__ import annotations

import numpy as np
import pytest
from mibgkit.detect.model import Location
from mibgkit.io.model import Volume
from synthetic_study import COLS, ROWS, SPACING

from napari_mibgkit._layout import GAP_MM, StudyLayout, display_contrast


def test_post_sits_right_of_ant_with_a_gap(small_study):
    study, _ = small_study
    lay = StudyLayout(study)
    assert [v.view for v in lay.planar] == ["ANT", "POST"]
    assert lay.placements[0].translate == (0.0, 0.0)
    assert lay.placements[1].translate == (0.0, COLS * SPACING[1] + GAP_MM)
    assert lay.placements[1].scale == SPACING


def test_world_round_trip_and_off_view(small_study):
    lay = StudyLayout(small_study[0])
    y, x = lay.to_world(1, 100.0, 20.0)
    assert lay.from_world(y, x) == pytest.approx((1, 100.0, 20.0))
    assert lay.from_world(10.0, COLS * SPACING[1] + GAP_MM / 2) is None  # in the gap
    assert lay.from_world(-50.0, 10.0) is None


def test_mirrored_post_location_maps_to_same_normalized_pixel(small_study):
    study, _ = small_study
    lay = StudyLayout(study)
    post = study.view("POST")
    stored = Location("POST", post.source.sop_instance_uid, 1, 100.0, float(COLS - 1 - 20))
    i, y, x = lay.location_to_world(stored)
    assert i == 1
    assert (y, x) == pytest.approx(lay.to_world(1, 100.0, 20.0))
    back = lay.location_at(1, 100.0, 20.0)
    assert (back.row, back.col) == (100.0, float(COLS - 1 - 20))
    assert back.sop_instance_uid == post.source.sop_instance_uid


def test_unknown_uid_is_not_placed(small_study):
    lay = StudyLayout(small_study[0])
    assert lay.find_view(Location("ANT", "9.9.9", 1, 5.0, 5.0)) is None


def test_contrast_is_below_the_hot_bladder(small_study):
    ant = small_study[0].view("ANT")
    low, high = display_contrast(ant.image)
    assert low == 0.0
    assert high < 0.5 * float(ant.image.max())
    assert high > float(np.median(ant.image[ant.image > 0]))
    assert display_contrast(np.zeros((ROWS, COLS))) == (0.0, 1.0)


def test_spect_volume_placed_right_of_the_planar_views(spect_study):
    study, _ = spect_study
    lay = StudyLayout(study)
    [place] = lay.volume_placements
    assert place.scale == (4.0, 4.0, 4.0)
    assert place.translate[2] == pytest.approx(2 * (COLS * SPACING[1] + GAP_MM))


def test_ct_in_the_same_frame_is_overlaid_and_flipped_to_the_spect(spect_study):
    study, _ = spect_study
    spect = study.volumes[0]
    spect.frame_of_reference_uid = "1.2.3.4"
    direction = np.diag([1.0, 1.0, -1.0])  # CT slices run the other way
    top = np.array(spect.origin_lps) + 3 * 4.0 * np.array([0.0, 0.0, 1.0])
    origin = tuple(top + direction[:, 2] * -(40 - 1) * 4.0)
    ct = Volume(np.zeros((40, 32, 32), np.float32), (4.0, 4.0, 4.0), origin, direction, "CT", [], frame_of_reference_uid="1.2.3.4")
    spect.direction = np.eye(3)
    study.volumes.append(ct)
    lay = StudyLayout(study)
    assert lay.volume_flips == [(), (0,)]
    spect_t, ct_t = lay.volume_placements[0].translate, lay.volume_placements[1].translate
    assert ct_t[1:] == pytest.approx(spect_t[1:])
    assert ct_t[0] == pytest.approx(spect_t[0] + 3 * 4.0)  # CT starts 12 mm above the SPECT
