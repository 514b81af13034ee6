"""The npe2 reader: cheap DICOM check, layers with physical scale and count contrast."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from mibgkit.errors import DicomReadError
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from napari_mibgkit._layout import GAP_MM
from napari_mibgkit._reader import STUDY_KEY, is_dicom_file, napari_get_reader, read_study, study_layers


def _write_mr(path: Path) -> Path:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"  # MR Image Storage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = pydicom.Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "MR"
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.save_as(path, enforce_file_format=True)
    return path


def test_declines_what_is_not_dicom(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not an image\n" * 20)
    assert napari_get_reader(str(text)) is None
    assert napari_get_reader(str(tmp_path)) is None  # folder without DICOM
    assert napari_get_reader(str(tmp_path / "missing.dcm")) is None
    assert napari_get_reader([]) is None
    assert not is_dicom_file(text)


def test_takes_dicom_file_folder_and_list(tmp_path, nm1_rle):
    assert is_dicom_file(nm1_rle)
    assert napari_get_reader(str(nm1_rle)) is read_study
    assert napari_get_reader(str(nm1_rle.parent)) is read_study
    assert napari_get_reader([str(nm1_rle)]) is read_study
    (tmp_path / "DICOMDIR").write_bytes(b"\0" * 10)
    assert napari_get_reader(str(tmp_path)) is read_study


def test_real_whole_body_file_gives_a_scaled_image_layer(nm1_rle):
    layers = read_study(str(nm1_rle))
    assert len(layers) == 1
    data, kwargs, kind = layers[0]
    assert kind == "image"
    assert data.shape == (1024, 256)
    assert kwargs["scale"] == pytest.approx((2.26, 2.26))
    low, high = kwargs["contrast_limits"]
    assert low == 0.0 and 0 < high < float(data.max())
    assert kwargs["metadata"][STUDY_KEY].views[0].image is data


def test_dicom_that_is_not_nm_raises_one_line_error(tmp_path):
    _write_mr(tmp_path / "mr.dcm")
    reader = napari_get_reader(str(tmp_path))
    assert reader is read_study
    with pytest.raises(DicomReadError, match="no study loaded"):
        reader(str(tmp_path))


def test_study_layers_side_by_side(small_study):
    study, _ = small_study
    layers = study_layers(study)
    assert [kw["name"] for _, kw, _ in layers] == ["ANT", "POST"]
    ant, post = (kw for _, kw, _ in layers)
    assert ant["translate"] == (0.0, 0.0)
    assert post["translate"][1] == pytest.approx(study.view("ANT").shape[1] * 4.0 + GAP_MM)
    assert ant["colormap"] == "gray_r"
    assert ant["contrast_limits"][1] < float(np.max(study.view("ANT").image))
