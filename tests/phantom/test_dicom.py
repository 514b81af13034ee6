"""Writer round trip with pydicom and with mibgkit.load, for every layout."""

from __future__ import annotations

import json

import numpy as np
import pydicom
import pytest

import mibgkit
from mibgkit.phantom import LAYOUTS, make_patient, simulate, write_dicom
from mibgkit.segments import label_of


@pytest.mark.parametrize("layout", LAYOUTS)
def test_pydicom_round_trip(limited_sim, tmp_path, layout):
    files = write_dicom(limited_sim, tmp_path, layout=layout)
    assert (tmp_path / "truth.json").exists() and (tmp_path / "labels.npz").exists()
    frames = []
    for f in files:
        ds = pydicom.dcmread(f)
        assert ds.Modality == "NM"
        assert ds.StudyInstanceUID == limited_sim.study.info.study_instance_uid
        assert pydicom.uid.UID(ds.SOPInstanceUID).is_valid
        assert ds.PatientAge == "005Y" and ds.PatientSex == "M"
        arr = ds.pixel_array
        frames.extend(arr if arr.ndim == 3 else [arr])
        if layout == "nm_multiframe":
            assert int(ds.NumberOfFrames) == 2 and list(ds.DetectorVector) == [1, 2]
            assert 0x00540020 in [int(t) for t in ds.FrameIncrementPointer]
            codes = [d.ViewCodeSequence[0].CodeValue for d in ds.DetectorInformationSequence]
            assert codes == ["399321004", "399001007"]
            w = ds.EnergyWindowInformationSequence[0].EnergyWindowRangeSequence[0]
            assert float(w.EnergyWindowLowerLimit) == pytest.approx(143.1)
            rp = ds.RadiopharmaceuticalInformationSequence[0]
            assert 37 <= float(rp.RadionuclideTotalDose) <= 370
            assert list(ds.ImageType) == ["ORIGINAL", "PRIMARY", "WHOLE BODY", "EMISSION"]
            assert float(ds.ScanVelocity) > 0
        if layout == "text_only":
            assert "ViewCodeSequence" not in ds
            assert "ViewCodeSequence" not in ds.DetectorInformationSequence[0]
        if layout == "secondary_capture":
            assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.7"
    stored = [limited_sim.stored["ANT"], limited_sim.stored["POST"]]
    for a, b in zip(frames, stored):
        assert np.array_equal(a.astype(np.int64), b.astype(np.int64))
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert truth["siopen_total"] == limited_sim.truth.siopen_total
    assert truth["layout"] == layout


@pytest.mark.parametrize("layout", LAYOUTS)
def test_load_reads_what_was_simulated(limited_sim, tmp_path, layout):
    write_dicom(limited_sim, tmp_path, layout=layout)
    studies = mibgkit.load(tmp_path)
    assert len(studies) == 1
    st = studies[0]
    assert st.info.study_instance_uid == limited_sim.study.info.study_instance_uid
    for view in ("ANT", "POST"):
        got, mine = st.view(view), limited_sim.study.view(view)
        assert np.array_equal(got.image, mine.image)
        assert got.source == mine.source
        assert got.view_source == mine.view_source
        assert got.pixel_spacing_mm == pytest.approx(mine.pixel_spacing_mm)
        for les in limited_sim.truth.lesions:
            assert got.source.to_stored(*les.positions[view]) == pytest.approx(les.stored_positions[view])


def test_spect_and_ct_round_trip(tmp_path):
    sim = simulate(make_patient(age_years=8.0, sex="F", seed=31, pattern="limited"), seed=1, spect=True)
    files = write_dicom(sim, tmp_path)
    spect = pydicom.dcmread(files[1])
    assert list(spect.ImageType)[2] == "RECON TOMO" and int(spect.NumberOfFrames) == 128
    st = mibgkit.load(tmp_path)[0]
    assert len(st.volumes) == 2
    for mine in sim.study.volumes:
        got = next(v for v in st.volumes if v.modality == mine.modality)
        assert np.array_equal(got.array, mine.array)
        assert np.allclose(got.origin_lps, mine.origin_lps, atol=1e-3)
        assert np.allclose(got.direction, mine.direction)
        assert np.allclose(got.spacing_mm, mine.spacing_mm, atol=1e-3)
        assert got.frame_of_reference_uid == mine.frame_of_reference_uid
    ct = next(v for v in st.volumes if v.modality == "CT").array
    assert ct.min() >= -1024 and 500 < ct.max() < 1200 and np.median(ct) < -500


def test_spot_views_have_their_own_zoom_counts_and_truth(tmp_path):
    from scipy import ndimage

    from mibgkit.phantom.simulation import DETECTOR_FOV_MM, SPOT_NATIVE_PIXEL_MM

    sim = simulate(make_patient(age_years=6.0, sex="F", seed=3, pattern="extensive"), seed=2,
                   spots=("head", "thorax", "pelvis"), spot_seconds=400.0)
    spots = [v for v in sim.study.views if v.kind == "static"]
    assert len(spots) == 6 and all(v.image.shape == (256, 256) for v in spots)
    wb_pix = sim.acquisition["pixel_mm"]
    t_wb = DETECTOR_FOV_MM[0] / sim.acquisition["scan_velocity_mm_s"]
    n_checked = 0
    for name, info in sim.truth.spots.items():
        ps = info["pixel_mm"]
        assert 1.19 <= ps <= 2.41 and ps == pytest.approx(SPOT_NATIVE_PIXEL_MM / info["zoom"], abs=1e-3)
        assert info["frame_duration_s"] == 400.0
        # simulated on its own grid, with the count density of a 400-s static acquisition
        lam = sim.expected[f"{name}:ANT"]
        rr, cc = np.meshgrid(np.arange(256.0), np.arange(256.0), indexing="ij")
        wb_r = (info["origin_mm"][0] + rr * ps) / wb_pix
        wb_c = (info["origin_mm"][1] + cc * ps) / wb_pix
        wb = ndimage.map_coordinates(sim.expected["ANT"], [wb_r, wb_c], order=1)
        body = lam > 0
        expect = (ps / wb_pix) ** 2 * 400.0 / t_wb
        assert float(lam[body].sum() / wb[body].sum()) == pytest.approx(expect, rel=0.1)
        for view in ("ANT", "POST"):
            pv = next(v for v in spots if v.view == view and name.upper() in v.series_description)
            assert pv.pixel_spacing_mm == pytest.approx((ps, ps)) and pv.frame_duration_s == 400.0
            assert info["views"][view]["counts"] == int(pv.image.sum())
        # each lesion sits where the truth says: a local maximum of the noise-free spot frame
        for lid, where in info["lesions"].items():
            les = next(t for t in sim.truth.lesions if t.id == lid)
            if les.kind != "focal" or les.cnr["ANT"] < 15:
                continue
            r, c = where["positions"]["ANT"]
            ri, ci = int(round(r)), int(round(c))
            if not (6 <= ri < 250 and 6 <= ci < 250):
                continue
            win = lam[ri - 4 : ri + 5, ci - 4 : ci + 5]
            pr, pc = np.unravel_index(np.argmax(win), win.shape)
            assert np.hypot(pr - 4 + ri - r, pc - 4 + ci - c) <= 2.0, (name, lid)
            labels = [int(sim.truth.spot_labels[f"{name}:{v}"][ri, ci]) for v in ("ANT", "POST")]
            assert label_of(les.segment) in labels
            assert where["stored_positions"]["POST"] == pytest.approx([r, 255 - c], abs=0.01)
            n_checked += 1
    assert n_checked >= 3
    # written with their own spacing, zoom and time; mibgkit.load reads back what was simulated
    write_dicom(sim, tmp_path, layout="nm_single")
    ds = pydicom.dcmread(tmp_path / "NM_SPOT_THORAX.dcm")
    th = sim.truth.spots["thorax"]
    assert float(ds.PixelSpacing[0]) == pytest.approx(th["pixel_mm"], abs=1e-4)
    assert float(ds.DetectorInformationSequence[0].ZoomFactor[0]) == pytest.approx(th["zoom"])
    assert int(ds.ActualFrameDuration) == 400000
    st = mibgkit.load(tmp_path)[0]
    for mine in sim.study.views:
        got = [v for v in st.views if v.source == mine.source]
        assert len(got) == 1 and got[0].kind == mine.kind and got[0].view == mine.view
        assert np.array_equal(got[0].image, mine.image)
        assert got[0].frame_duration_s == mine.frame_duration_s
        assert got[0].pixel_spacing_mm == pytest.approx(mine.pixel_spacing_mm)
