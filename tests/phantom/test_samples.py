"""The committed sample_dicom/ set: manifest, sizes, and truth that matches the files."""

from __future__ import annotations

import hashlib
import json

import numpy as np

import mibgkit
from mibgkit.segments import label_of


def test_manifest_matches_files(sample_dicom):
    manifest = json.loads((sample_dicom / "MANIFEST.json").read_text())
    total = 0
    for rel, meta in manifest["files"].items():
        f = sample_dicom / rel
        data = f.read_bytes()
        assert len(data) == meta["bytes"] and hashlib.sha256(data).hexdigest() == meta["sha256"], rel
        assert len(data) < 3_000_000, rel
        total += len(data)
    assert total < 10_000_000
    assert {"clean", "oligo", "extensive", "infant_diffuse", "spect"} <= set(manifest["samples"])


def test_oligo_sample_loads_with_its_truth(sample_dicom):
    folder = sample_dicom / "oligo"
    truth = json.loads((folder / "truth.json").read_text())
    labels = np.load(folder / "labels.npz")
    studies = mibgkit.load(folder)
    assert len(studies) == 1
    st = studies[0]
    assert 1 <= truth["siopen_total"] <= 6 and truth["lesions"]
    for view in ("ANT", "POST"):
        v = st.view(view)
        assert v.source.sop_instance_uid == truth["views"][view]["sop_instance_uid"]
        assert v.source.frame == truth["views"][view]["frame"]
        lab = labels[f"labels_{view}"]
        assert lab.shape == v.image.shape
        for les in truth["lesions"]:
            r, c = les["positions"][view]
            assert np.allclose(v.source.to_stored(r, c), les["stored_positions"][view])
    for les in truth["lesions"]:
        hits = [int(labels[f"labels_{vw}"][round(les["positions"][vw][0]), round(les["positions"][vw][1])])
                for vw in ("ANT", "POST")]
        assert label_of(les["segment"]) in hits


def test_longitudinal_sample_is_one_patient(sample_dicom):
    tps = sorted((sample_dicom / "longitudinal").iterdir())
    assert len(tps) == 5
    truths = [json.loads((d / "truth.json").read_text()) for d in tps]
    assert len({t["patient"]["patient_id"] for t in truths}) == 1
    assert [t["patient"]["timepoint"] for t in truths] == [
        "diagnosis", "post_induction", "post_hdc", "end_of_treatment", "relapse"]
    totals = [t["siopen_total"] for t in truths]
    assert totals[0] > totals[1] > totals[2] >= totals[3] and totals[4] > totals[3]
    # the child grows and lies differently on the table; lesions keep their ids
    statures = [t["patient"]["stature_mm"] for t in truths]
    assert all(b > a for a, b in zip(statures, statures[1:]))
    assert len({t["patient"]["tilt_deg"] for t in truths}) == 5
    first = {les["id"] for les in truths[0]["lesions"]}
    assert any(les["id"] in first for les in truths[2]["lesions"])


def test_spect_sample_spots_load_at_their_own_pixel_size(sample_dicom):
    folder = sample_dicom / "spect"
    truth = json.loads((folder / "truth.json").read_text())
    labels = np.load(folder / "labels.npz")
    st = mibgkit.load(folder)[0]
    assert set(truth["spots"]) == {"thorax", "abdomen"}
    for name, info in truth["spots"].items():
        views = [v for v in st.views if v.kind == "static" and v.source.sop_instance_uid == info["sop_instance_uid"]]
        assert sorted(v.view for v in views) == ["ANT", "POST"]
        for v in views:
            assert v.image.shape == (256, 256) and labels[f"spot_labels_{name}_{v.view}"].shape == (256, 256)
            assert v.pixel_spacing_mm[0] == info["pixel_mm"] and 1.2 <= info["pixel_mm"] <= 2.4
            assert v.frame_duration_s == info["frame_duration_s"]
            assert int(v.image.sum()) == info["views"][v.view]["counts"]
            for les in info["lesions"].values():
                assert np.allclose(v.source.to_stored(*les["positions"][v.view]), les["stored_positions"][v.view])
