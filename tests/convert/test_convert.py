"""Batch conversion on real NM files: outputs, sidecars, de-identification, manifest,
resume, atomic writes, bad files, and an untouched input tree."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from convert_data import BACKGROUND, FOURBAR, JASZACK, NM, NM1, make_tree, tree_digest

import mibgkit
from mibgkit.convert import convert_tree
from mibgkit.errors import MibgkitError
from mibgkit.io.deid import patient_key

KEY = b"convert-test-key"


def _manifest(out: Path) -> dict[str, dict]:
    data = json.loads((out / "manifest.json").read_text())
    return {f["input"]: f for f in data["files"]}


def test_real_tree_every_file_in_manifest_and_input_untouched(tmp_path: Path) -> None:
    before = tree_digest(NM)
    report = convert_tree(NM, tmp_path / "out", key=KEY)
    assert tree_digest(NM) == before  # the input tree is never modified

    rows = _manifest(tmp_path / "out")
    every_file = {p.relative_to(NM).as_posix() for p in NM.rglob("*") if p.is_file()}
    assert set(rows) == every_file
    assert rows["SOURCES.md"]["status"] == "skipped" and "not DICOM" in rows["SOURCES.md"]["reason"]
    assert rows["linaqa/MCR.dcm"]["status"] == "skipped"  # dynamic: said so, not converted
    assert "dynamic" in rows["linaqa/MCR.dcm"]["reason"]
    converted = [r for r in rows.values() if r["status"] == "converted"]
    assert len(converted) == 13 and report.count("failed") == 0
    # two detectors of one object -> two images; four copies of NM1 in one series -> _2.._4
    assert len(rows["linaqa/Background"]["outputs"]) == 2
    nm1_names = sorted(Path(p).name for r in rows.values() if r["input"].startswith("nema_wg04_nm1/NM1_J")
                       for p in r["outputs"])
    assert len(set(nm1_names)) == 4 and any(n.endswith("_4.nii.gz") for n in nm1_names)
    csv_lines = (tmp_path / "out" / "manifest.csv").read_text().splitlines()
    assert csv_lines[0] == "input,size,status,reason,study_key,outputs" and len(csv_lines) == len(every_file) + 1


def test_planar_and_spect_images_match_the_loader(tmp_path: Path) -> None:
    out = tmp_path / "out"
    convert_tree(NM / "nmqc", out, key=KEY)
    rows = _manifest(out)
    study = mibgkit.load([str(JASZACK), str(FOURBAR)])[0]

    spect = out / rows["Jaszack.dcm"]["outputs"][0]
    img = sitk.ReadImage(str(spect))
    vol = study.volumes[0]
    np.testing.assert_array_equal(sitk.GetArrayFromImage(img), vol.array)
    assert img.GetSpacing() == pytest.approx(vol.spacing_mm[::-1], abs=1e-4)
    assert img.GetOrigin() == pytest.approx(vol.origin_lps, abs=1e-3)
    assert np.asarray(img.GetDirection()) == pytest.approx(np.asarray(vol.direction).ravel(), abs=1e-6)

    planar = out / rows["FourBar.dcm"]["outputs"][0]
    assert planar.name.endswith("_POST.nii.gz")
    view = study.view("POST")
    np.testing.assert_array_equal(sitk.GetArrayFromImage(sitk.ReadImage(str(planar))), view.image)

    side = json.loads(planar.with_name(planar.name.replace(".nii.gz", ".json")).read_text())
    assert side["view"] == "POST" and side["frame_mapping"]["mirrored"] == view.source.mirrored
    assert side["frame_mapping"]["frame"] == 1 and side["frame_mapping"]["stored_shape"] == [512, 512]
    assert side["spacing_mm"] == pytest.approx(list(view.pixel_spacing_mm))
    assert side["image"]["sha256"] and side["inputs"][0]["size"] == FOURBAR.stat().st_size
    assert side["software"]["name"] == "mibgkit"
    for key in ("energy_windows", "radiopharmaceutical", "timing", "dicom", "deidentification"):
        assert key in side


def test_deidentified_by_default_and_keep_phi(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(NM1, src / "nm1")
    raw = pydicom.dcmread(NM1, stop_before_pixels=True)

    convert_tree(src, tmp_path / "deid", key=KEY)
    files = [p for p in (tmp_path / "deid").rglob("*") if p.is_file()]
    text = "\n".join(p.read_text() for p in files if p.suffix in (".json", ".csv"))
    for phi in (str(raw.PatientName), str(raw.PatientID), str(raw.StudyInstanceUID), "BERRA", "St. John"):
        assert phi not in text
    assert not any(str(raw.PatientID) in str(p) for p in files)
    side = json.loads(next((tmp_path / "deid").rglob("*_UNKNOWN.json")).read_text())
    assert side["deidentification"]["deidentified"] is True
    assert [m["code"] for m in side["deidentification"]["method"]] == ["113100", "113107", "113108"]
    removed = side["deidentification"]["removed"]
    assert removed["PatientName"] == "emptied" and removed["StudyInstanceUID"] == "uid replaced"
    assert removed["(0009,1040)"].startswith("removed")  # GE private 'Patient Object Name'
    assert side["dicom"]["StudyDate"] != raw.StudyDate and side["dicom"]["PatientSex"] == "M"
    assert (tmp_path / "deid" / patient_key(str(raw.PatientID), KEY)).is_dir()

    convert_tree(src, tmp_path / "phi", deidentify=False, key=KEY)
    side = json.loads(next((tmp_path / "phi").rglob("*_UNKNOWN.json")).read_text())
    assert side["dicom"]["PatientID"] == raw.PatientID
    assert side["dicom"]["StudyInstanceUID"] == raw.StudyInstanceUID
    assert side["dicom"]["StudyDate"] == raw.StudyDate
    assert side["deidentification"] == {"deidentified": False, "method": [], "date_shift_applied": False, "removed": {}}
    assert side["frame_mapping"]["path"] == "nm1"


def test_dates_shift_consistently_within_a_patient(tmp_path: Path) -> None:
    src = tmp_path / "in"
    make_tree(src, 2)
    convert_tree(src, tmp_path / "out", key=KEY)
    sidecars = [p for p in (tmp_path / "out").rglob("*.json") if p.name != "manifest.json" and ".mibgkit" not in p.parts]
    assert len(sidecars) == 6  # per study: NM1 + the two detectors of Background
    for side_path in sidecars:
        side = json.loads(side_path.read_text())
        raw = pydicom.dcmread(NM1 if side["dicom"]["Modality"] == "NM" and side["dicom"]["Rows"] == 1024
                              else BACKGROUND, stop_before_pixels=True)
        def day(text: str) -> dt.date:
            return dt.datetime.strptime(text, "%Y%m%d").date()

        shift = day(raw.StudyDate) - day(side["dicom"]["StudyDate"])
        assert 1 <= shift.days <= 3650
        assert day(raw.SeriesDate) - day(side["dicom"]["SeriesDate"]) == shift


def test_resume_skips_done_studies_and_redoes_damaged_ones(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    make_tree(src, 3)
    first = convert_tree(src, out, key=KEY)
    assert first.count("converted") == 6
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.nii.gz")}

    second = convert_tree(src, out, key=KEY)
    assert second.count("unchanged") == 6 and second.count("converted") == 0
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.nii.gz")} == stamps

    damaged = sorted(stamps)[0]
    damaged.write_bytes(damaged.read_bytes()[:100])  # a half file
    third = convert_tree(src, out, key=KEY)
    assert third.count("converted") == 2 and third.count("unchanged") == 4
    sitk.ReadImage(str(damaged))  # whole again

    touched = next(p for p in src.rglob("IM00001"))
    touched.touch()  # new mtime: that study is redone
    fourth = convert_tree(src, out, key=KEY)
    assert fourth.count("converted") == 2 and fourth.count("unchanged") == 4

    fifth = convert_tree(src, out, key=KEY, fmt="nrrd")  # other options: redone
    assert fifth.count("converted") == 6


def test_bad_files_never_stop_the_batch(tmp_path: Path) -> None:
    src = tmp_path / "in"
    make_tree(src, 2)
    (src / "broken").mkdir()
    data = (next(src.rglob("IM00000"))).read_bytes()
    (src / "broken" / "truncated.dcm").write_bytes(data[: len(data) // 3])
    (src / "broken" / "notes.txt").write_text("not an image")
    (src / "broken" / "empty").write_bytes(b"")
    bad_vr = bytearray(BACKGROUND.read_bytes())  # Study Date with a VR no dictionary knows
    at = bad_vr.index(b"\x08\x00\x20\x00DA")
    bad_vr[at + 4 : at + 6] = b"\x44\xae"
    (src / "broken" / "bad_vr.dcm").write_bytes(bytes(bad_vr))
    report = convert_tree(src, tmp_path / "out", key=KEY)
    rows = _manifest(tmp_path / "out")
    assert rows["broken/truncated.dcm"]["status"] == "failed" and rows["broken/truncated.dcm"]["reason"]
    assert rows["broken/bad_vr.dcm"]["status"] == "failed" and "StudyDate" in rows["broken/bad_vr.dcm"]["reason"]
    assert rows["broken/notes.txt"]["status"] == "skipped" and rows["broken/empty"]["status"] == "skipped"
    assert report.count("converted") == 4  # both studies complete despite the bad files


@pytest.mark.parametrize("fmt, suffix", [("nrrd", ".nrrd"), ("tiff", ".tiff")])
def test_other_formats(tmp_path: Path, fmt: str, suffix: str) -> None:
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(FOURBAR, src / "fourbar")
    report = convert_tree(src, tmp_path / "out", fmt=fmt, key=KEY)
    (out,) = report.outputs
    assert out.endswith(suffix)
    img = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "out" / out)))
    view = mibgkit.load(str(FOURBAR))[0].views[0]
    np.testing.assert_array_equal(img.reshape(view.shape), view.image)


def test_dicomdir_input(tmp_path: Path) -> None:
    from pydicom.fileset import FileSet

    fs = FileSet()
    for src in (NM1, FOURBAR):
        fs.add(pydicom.dcmread(src))
    fs.write(tmp_path / "media")
    report = convert_tree(tmp_path / "media" / "DICOMDIR", tmp_path / "out", key=KEY)
    rows = _manifest(tmp_path / "out")
    assert rows["DICOMDIR"]["status"] == "skipped" and "DICOMDIR" in rows["DICOMDIR"]["reason"]
    assert report.count("converted") == 2

    again = convert_tree(tmp_path / "media", tmp_path / "out2", key=KEY)
    assert again.count("converted") == 2


def test_output_inside_input_is_not_walked_and_same_folder_refused(tmp_path: Path) -> None:
    src = tmp_path / "in"
    make_tree(src, 1)
    convert_tree(src, src / "converted", key=KEY)
    second = convert_tree(src, src / "converted", key=KEY)
    assert {o.status for o in second.outcomes} == {"unchanged"}
    with pytest.raises(MibgkitError, match="differ"):
        convert_tree(src, src, key=KEY)
    with pytest.raises(ValueError, match="unknown field"):
        convert_tree(src, tmp_path / "x", template="{patient_name}/{view}", key=KEY)


def test_write_failure_is_reported_and_retried(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    make_tree(src, 1)
    names = convert_tree(src, out, key=KEY).outputs
    shutil.rmtree(out)
    blocker = out / names[0]
    blocker.mkdir(parents=True)  # a folder where an image must go: os.replace fails
    report = convert_tree(src, out, key=KEY)
    failed = [o for o in report.outcomes if o.status == "failed"]
    assert len(failed) == 1 and failed[0].reason.startswith("cannot write")
    assert report.count("converted") == 1  # the other file of the study still converted
    blocker.rmdir()
    again = convert_tree(src, out, key=KEY)
    assert again.count("converted") == 2 and again.count("failed") == 0
