"""The loader's fast value reader agrees with pydicom, and every file is parsed once."""

from __future__ import annotations

import cProfile
import pstats
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.datadict import keyword_for_tag
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence

from mibgkit.io import load
from mibgkit.io._values import HeaderValues, read_light
from mibgkit.io.inventory import inventory_rows


def _dicom_files(*folders: Path) -> list[Path]:
    return [p for f in folders for p in sorted(f.rglob("*")) if p.is_file() and p.read_bytes()[128:132] == b"DICM"]


def _plain(value: Any) -> Any:
    if isinstance(value, MultiValue | list):
        return [_plain(v) for v in value]
    return value


def _compare(fast: HeaderValues, ref: Dataset, where: str) -> int:
    """Every public element of ``ref`` (recursively) read through ``fast``; returns the count."""
    n = 0
    for elem in ref:
        keyword = keyword_for_tag(elem.tag)
        if not keyword or keyword == "PixelData" or elem.tag.group & 0xFF00 == 0x6000:
            continue
        n += 1
        if isinstance(elem.value, Sequence):  # items first: the fast path parses them itself
            items = fast.items(keyword)
            assert len(items) == len(elem.value), f"{where} {keyword}"
            n += sum(_compare(a, b, f"{where} {keyword}") for a, b in zip(items, elem.value))
            continue
        got, want = fast.get(keyword), elem.value
        if elem.VR == "PN":
            got, want = str(got), str(want)
        assert _plain(got) == _plain(want), f"{where} {keyword} ({elem.VR}): {got!r} != {want!r}"
        assert isinstance(got, list) == isinstance(want, MultiValue | list), f"{where} {keyword}"
    return n


def test_fast_values_equal_pydicom(nm_dicom: Path, sample_dicom: Path) -> None:
    files = _dicom_files(nm_dicom, sample_dicom)
    assert len(files) >= 15
    n = 0
    for path in files:
        fast = HeaderValues(pydicom.dcmread(path, defer_size=4096))
        n += _compare(fast, pydicom.dcmread(path), path.name)
    assert n > 1000


@pytest.mark.parametrize("name", ["PatientName", "OtherPatientIDs", "InstitutionName"])
def test_non_ascii_and_multi_values_go_through_pydicom(tmp_path: Path, nm_dicom: Path, name: str) -> None:
    ds = pydicom.dcmread(nm_dicom / "nmqc" / "FourBar.dcm")
    ds.SpecificCharacterSet = "ISO_IR 192"
    values = {"PatientName": "Müller^Zoë", "OtherPatientIDs": ["A-1", "B-2"], "InstitutionName": "Hôpital"}
    setattr(ds, name, values[name])
    ds.save_as(tmp_path / "x.dcm")
    fast = HeaderValues(pydicom.dcmread(tmp_path / "x.dcm", defer_size=4096))
    want = pydicom.dcmread(tmp_path / "x.dcm").get(name)
    assert str(fast.get(name)) == str(want)


def _dcmread_calls(fn: Any) -> int:
    profile = cProfile.Profile()
    profile.runcall(fn)
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    return sum(v[1] for k, v in stats.items() if k[2] == "dcmread" and k[0].endswith("filereader.py"))


def test_inventory_parses_each_file_once(nm_dicom: Path) -> None:
    folder = nm_dicom / "linaqa"
    n_dicom = len(_dicom_files(folder))
    rows: list[dict[str, Any]] = []
    assert _dcmread_calls(lambda: rows.extend(inventory_rows(folder, verify=True))) == n_dicom
    ok = [r for r in rows if r["status"] == "ok"]
    assert len(ok) == n_dicom and all(r["views"] or r["dynamics"] for r in ok)  # verified, not just listed
    # load parses these plain Explicit VR Little Endian files itself (read_light): no dcmread at all
    assert _dcmread_calls(lambda: load(folder)) == 0


def test_load_parses_plain_files_without_pydicom_and_compressed_ones_once(nm_dicom: Path) -> None:
    files = _dicom_files(nm_dicom)
    light = [p for p in files if read_light(str(p)) is not None]
    # every uncompressed and RLE file, including those with nested undefined-length sequences
    # (Energy Window Range inside Energy Window Information, in the nmqc and linaqa files)
    assert {p.name for p in light} >= {"Spatial_Resol_X.dcm", "UNIFORMIDAD_1.dcm", "MaxCountRate.dcm", "NM1_RLE"}
    assert _dcmread_calls(lambda: [load(p) for p in light]) == 0
    compressed = [p for p in files if p not in light]
    assert len(compressed) == 4 and _dcmread_calls(lambda: [load(p) for p in compressed]) == 4


def test_light_values_equal_pydicom(nm_dicom: Path, sample_dicom: Path) -> None:
    n, no_fallback = 0, 0
    for path in _dicom_files(nm_dicom, sample_dicom):
        fast = read_light(str(path))
        if fast is None:
            continue
        n += _compare(fast, pydicom.dcmread(path), path.name)
        no_fallback += fast.loaded_dataset is None  # every value, items included, decoded here
    assert n > 1000 and no_fallback >= 15


def test_loading_a_plain_study_imports_no_pydicom(sample_dicom: Path) -> None:
    """A fresh process loads the phantom sample study without importing pydicom (its import is
    ~0.3 s CPU, most of a first napari session's load on a small study)."""
    import subprocess
    import sys

    code = (
        "import sys, mibgkit; s = mibgkit.load(sys.argv[1])[0];"
        "print(len(s.views), 'pydicom' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(sample_dicom / "oligo")],
                         capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["2", "False"]
