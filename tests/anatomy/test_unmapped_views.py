"""Spot views and views the mapper cannot map: per-view, typed, reported; the rest maps."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mibgkit.anatomy import map_segments
from mibgkit.anatomy.map import unmapped_reason
from mibgkit.anatomy.model import UNMAPPED_REASONS
from mibgkit.anatomy.spot import match_spot
from mibgkit.errors import MappingError
from mibgkit.io import load
from mibgkit.segments import label_of

SPECT = Path(__file__).resolve().parents[2] / "sample_dicom" / "spect"


@pytest.fixture(scope="module")
def spect_study():
    """The sample SPECT study: whole body ANT/POST, thorax and abdomen spots, SPECT + CT."""
    return load(SPECT)[0]


def _region(view) -> str:
    return "thorax" if "THORAX" in view.source.path else "abdomen"


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * float((a & b).sum()) / max(int(a.sum()) + int(b.sum()), 1)


def test_spot_views_are_mapped_by_registration_on_the_whole_body(spect_study):
    maps = map_segments(spect_study)
    truth = np.load(SPECT / "labels.npz")
    spots = [i for i, v in enumerate(spect_study.views) if v.kind != "whole_body"]
    assert len(spots) == 4 and set(maps.views) == set(range(len(spect_study.views)))
    for i in spots:
        view, sm = spect_study.views[i], maps.views[i]
        assert sm.method == "registered" and sm.labels.shape == view.image.shape
        tru = truth[f"spot_labels_{_region(view)}_{view.view}"]
        if _region(view) == "thorax":
            keys = ("thoracic_cage", "right_upper_limb_proximal", "left_upper_limb_proximal")
            assert "skull" in sm.missing and "pelvis" in sm.missing and "thoracic_cage" not in sm.missing
        else:
            keys = ("pelvis", "spine")
            assert "skull" in sm.missing and "thoracic_cage" in sm.missing and "pelvis" not in sm.missing
        for k in keys:
            assert _dice(sm.labels == label_of(k), tru == label_of(k)) > 0.6, (i, k)
    # volumes: each is mapped or listed with a typed reason, never silently dropped
    for i in range(len(spect_study.volumes)):
        assert (i in maps.volumes) != (i in maps.unmapped_volumes)
    for u in maps.unmapped_volumes.values():
        assert u.reason in UNMAPPED_REASONS and u.message and u.where


def test_spot_is_found_where_it_was_acquired(spect_study):
    wb = {v.view: v for v in spect_study.views if v.kind == "whole_body"}
    for v in spect_study.views:
        if v.kind == "whole_body":
            continue
        m = match_spot(v, wb[v.view])
        assert m.score > 0.9
        assert m.scale[0] == pytest.approx(v.pixel_spacing_mm[0] / wb[v.view].pixel_spacing_mm[0])
    # the ANT and POST spots of one acquisition land within a few pixels of each other
    pos = {(_region(v), v.view): match_spot(v, wb[v.view]).offset for v in spect_study.views if v.kind != "whole_body"}
    for region in ("thorax", "abdomen"):
        a, p = pos[(region, "ANT")], pos[(region, "POST")]
        assert abs(a[0] - p[0]) < 5 and abs(a[1] - p[1]) < 5


def test_an_unmappable_view_is_reported_and_the_rest_maps(spect_study):
    rng = np.random.default_rng(7)
    spot = next(v for v in spect_study.views if v.kind != "whole_body")
    flood = dataclasses.replace(spot, image=rng.poisson(20.0, spot.image.shape).astype(np.float32))
    views = [v for v in spect_study.views if v.kind == "whole_body"] + [flood]
    maps = map_segments(dataclasses.replace(spect_study, views=views, volumes=[]))
    assert set(maps.views) == {0, 1} and set(maps.unmapped) == {2}
    u = maps.unmapped[2]
    assert u.reason == "no_match" and "whole-body" in u.message and spot.source.path in u.where


def test_spot_views_alone_are_not_drawn_as_a_whole_body(spect_study):
    spots = [v for v in spect_study.views if v.kind != "whole_body"]
    # nothing can be mapped: the study-level error names the first view and why
    with pytest.raises(MappingError, match="no anatomical landmark"):
        map_segments(dataclasses.replace(spect_study, views=spots, volumes=[]))
    # with one mappable whole-body view the spots are registered on it
    ant = next(v for v in spect_study.views if v.kind == "whole_body" and v.view == "ANT")
    maps = map_segments(dataclasses.replace(spect_study, views=[ant, *spots], volumes=[]))
    ant_spots = [i for i, v in enumerate([ant, *spots]) if v.view == "ANT" and v.kind != "whole_body"]
    post_spots = [i for i, v in enumerate([ant, *spots]) if v.view == "POST"]
    assert all(maps.views[i].method == "registered" for i in ant_spots)
    # no posterior whole-body view: the posterior spots cannot be registered, nor fitted alone
    assert all(maps.unmapped[i].reason == "no_landmark" for i in post_spots)


def test_a_whole_body_image_labelled_static_still_maps():
    clean = load(SPECT.parent / "clean")[0]
    views = [dataclasses.replace(v, kind="static") for v in clean.views]
    maps = map_segments(dataclasses.replace(clean, views=views))
    assert set(maps.views) == {0, 1} and not maps.unmapped
    assert maps.views[0].method == "atlas" and "skull" not in maps.views[0].missing


@pytest.mark.parametrize("image, reason", [
    (np.zeros((64, 64), np.float32), "empty"),
    (np.full((64, 64), 50.0, np.float32), "no_body"),
    (np.ones((8, 8), np.float32), "not_planar"),
])
def test_unmapped_reasons_are_typed(spect_study, image, reason):
    from mibgkit.anatomy.planar import map_view

    view = dataclasses.replace(spect_study.views[0], image=image)
    with pytest.raises(MappingError) as info:
        map_view(view)
    u = unmapped_reason(info.value)
    assert u.reason == reason and u.reason in UNMAPPED_REASONS


def test_cli_segments_maps_the_spect_study_and_lists_what_it_could_not(tmp_path: Path):
    out = tmp_path / "seg"
    proc = subprocess.run([sys.executable, "-m", "mibgkit", "segments", str(SPECT), "--out", str(out), "--no-png"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "segments.json").read_text())
    methods = [v["method"] for v in summary["views"]]
    assert len(methods) == 6 and methods.count("registered") == 4
    for u in summary["unmapped"]:
        assert u["reason"] in UNMAPPED_REASONS and u["kind"] in ("view", "volume")
        assert f"not mapped ({u['reason']})" in proc.stdout
