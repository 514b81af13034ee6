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
