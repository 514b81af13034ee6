"""Planar segment maps on a phantom study (against its truth) and on the real NM1 scan."""

from __future__ import annotations

import time

import numpy as np
import pytest

from mibgkit.anatomy import map_segments
from mibgkit.anatomy.curie import curie_masks
from mibgkit.anatomy.planar import pair_shift, shift_array
from mibgkit.errors import MappingError
from mibgkit.io.model import PlanarView, StoredFrame, Study, StudyInfo
from mibgkit.segments import SIOPEN_KEYS, label_of


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * float((a & b).sum()) / max(int(a.sum() + b.sum()), 1)


@pytest.fixture(scope="module")
def phantom_maps(phantom_sim):
    return map_segments(phantom_sim.study)


def test_map_segments_is_exported_lazily_from_the_package():
    import mibgkit

    assert mibgkit.map_segments is map_segments


def test_phantom_dice_against_truth(phantom_maps, phantom_sim):
    for i, view in enumerate(phantom_sim.study.views):
        lab = phantom_maps.views[i].labels
        truth = phantom_sim.truth.labels[view.view]
        assert lab.shape == truth.shape and lab.dtype == np.uint8
        d = {k: _dice(lab == label_of(k), truth == label_of(k)) for k in SIOPEN_KEYS}
        for k in ("skull", "thoracic_cage", "spine", "pelvis"):
            assert d[k] > 0.65, (view.view, k, d[k])
        for k in ("right_lower_limb_proximal", "left_lower_limb_proximal",
                  "right_lower_limb_distal", "left_lower_limb_distal"):
            assert d[k] > 0.6, (view.view, k, d[k])
        assert d["right_upper_limb_proximal"] > 0.2 and d["left_upper_limb_proximal"] > 0.2


def test_ant_and_post_share_one_anatomy_but_differ_in_occlusion(phantom_maps, phantom_sim):
    ant, post = phantom_maps.views[0], phantom_maps.views[1]
    assert ant.view == "ANT" and post.view == "POST"
    la = {lm.name: lm for lm in ant.landmarks}
    lp = {lm.name: lm for lm in post.landmarks}
    assert abs(la["crotch"].row - lp["crotch"].row) <= 3
    # on POST the spine is in front: more spine pixels than on ANT, fewer thoracic cage
    assert post.mask("spine").sum() > ant.mask("spine").sum()
    assert post.area_mm2()["thoracic_cage"] != ant.area_mm2()["thoracic_cage"]
    assert ant.missing == () and post.missing == ()
    assert 0.5 < ant.confidence <= 1.0


def test_segments_are_in_anatomical_order(phantom_maps):
    m = phantom_maps.views[0]
    row = {k: np.nonzero(m.mask(k))[0].mean() for k in SIOPEN_KEYS}
    col = {k: np.nonzero(m.mask(k))[1].mean() for k in SIOPEN_KEYS}
    assert row["skull"] < row["thoracic_cage"] < row["pelvis"] < row["right_lower_limb_proximal"] < row["right_lower_limb_distal"]
    assert row["right_upper_limb_proximal"] < row["right_upper_limb_distal"]
    # patient right is on the low columns of the anterior display
    assert col["right_upper_limb_proximal"] < col["spine"] < col["left_upper_limb_proximal"]
    assert col["right_lower_limb_distal"] < col["left_lower_limb_distal"]


def test_lesion_centres_fall_in_their_segment_in_some_view(phantom_maps, phantom_sim):
    hits = total = 0
    for les in phantom_sim.truth.lesions:
        ok = []
        for i, view in enumerate(phantom_sim.study.views):
            r, c = les.positions[view.view]
            truth_here = phantom_sim.truth.labels[view.view][int(round(r)), int(round(c))]
            if truth_here == label_of(les.segment):
                ok.append(phantom_maps.views[i].segment_at(r, c) == les.segment)
        if ok:
            total += 1
            hits += any(ok)
    assert total >= 1
    assert hits >= 0.5 * total


def test_curie_map_splits_the_spine_at_l1(phantom_maps):
    m = phantom_maps.views[1]  # POST: the spine is in front
    masks = curie_masks(m)
    ct, ls = masks["cervical_thoracic_spine"], masks["lumbar_sacral_spine"]
    assert ct.any() and ls.any()
    assert np.nonzero(ct)[0].mean() < np.nonzero(ls)[0].mean()
    # every Curie spine pixel is SIOPEN spine
    assert np.all(m.labels[ct | ls] == label_of("spine"))
    r, c = np.argwhere(ls)[len(np.argwhere(ls)) // 2]
    assert m.curie_segment_at(r, c) == "lumbar_sacral_spine"
    assert m.segment_at(r, c) == "spine"


def test_mapping_time_under_a_second_per_study(phantom_sim):
    t0 = time.process_time()
    map_segments(phantom_sim.study)
    assert time.process_time() - t0 < 1.0  # CPU time of this process (wall time depends on the machine load)


def test_pair_shift_recovers_a_known_shift(phantom_sim):
    ant = phantom_sim.study.view("ANT").image.astype(float)
    moved = shift_array(ant, (3, -2))
    assert pair_shift(ant, moved) == (-3, 2)


def test_nm1_real_bone_scan(nm1_study):
    maps = map_segments(nm1_study, age_years=40.0)
    m = maps.views[0]
    assert m.labels.shape == (1024, 256)
    assert set(np.unique(m.labels)) == set(range(13))
    row = {k: np.nonzero(m.mask(k))[0].mean() for k in SIOPEN_KEYS}
    assert row["skull"] < row["thoracic_cage"] < row["pelvis"] < row["left_lower_limb_proximal"] < row["left_lower_limb_distal"]
    # the skull sits on the head (rows ~95-200 of NM1), the knees near rows 630-680
    assert 90 < row["skull"] < 200
    knee = np.nonzero(m.mask("right_lower_limb_proximal"))[0].max()
    assert 620 < knee < 720
    assert all(v > 0 for v in m.area_mm2().values())


def test_spot_view_maps_only_what_is_seen(phantom_sim):
    ant = phantom_sim.study.view("ANT")
    rows = np.flatnonzero(phantom_sim.truth.labels["ANT"].any(axis=1))
    r0 = int(rows[0]) - 15
    top = ant.image[r0 : r0 + 256].copy()
    view = PlanarView(top, "ANT", "assumed", "static", ant.pixel_spacing_mm,
                      StoredFrame("spot.dcm", "1.2.3", 1, top.shape))  # type: ignore[arg-type]
    m = map_segments(Study(StudyInfo("spot", patient_age_years=6.0), views=[view])).views[0]
    assert m.mask("skull").any()
    assert "right_lower_limb_distal" in m.missing and "left_lower_limb_distal" in m.missing
    assert "skull" not in m.missing


@pytest.mark.parametrize("image, why", [
    (np.zeros((1024, 256), np.float32), "no counts"),
    (np.full((1024, 256), 50.0, np.float32), "no body"),
])
def test_mapping_error_names_the_file_and_the_reason(image, why):
    view = PlanarView(image, "ANT", "assumed", "whole_body", (2.4, 2.4),
                      StoredFrame("/data/empty.dcm", "1.2.3", 1, image.shape))  # type: ignore[arg-type]
    with pytest.raises(MappingError) as err:
        map_segments(Study(StudyInfo("x"), views=[view]))
    assert "/data/empty.dcm" in str(err.value)
    assert why in str(err.value)
