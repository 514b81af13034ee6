"""The converter's pydicom-free paths: header parse, stored integers, de-identification plan.

Each is checked against what pydicom (or the float32 path) gives on the real test files,
every phantom layout, and crafted variants, including the cases that must fall back.
"""

from __future__ import annotations

import cProfile
import json
import pstats
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.datadict import keyword_for_tag
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian, ImplicitVRLittleEndian

import mibgkit.convert.engine as engine
from mibgkit.convert import convert_tree
from mibgkit.convert.deid import (
    _CHARACTERISTICS,
    _DATE_KEYWORDS,
    _SIDECAR_TAGS,
    _UIDS,
    BASIC_PROFILE,
    DeidPolicy,
    _jsonable,
    _keyword,
)
from mibgkit.convert.nifti import narrowest
from mibgkit.io._values import HeaderValues, read_light
from mibgkit.io.headers import light_headers, read_and_classify, read_header
from mibgkit.io.loader import load_headers, studies_from_headers
from mibgkit.io.pixels import decode_frames, keep_stored_pixels
from mibgkit.phantom import make_patient, simulate
from tests.convert.convert_data import BACKGROUND, JASZACK, NM, NM1, write_every_layout

KEY = b"light-read-test-key"


@pytest.fixture(scope="module")
def phantom_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    sim = simulate(make_patient(age_years=4.0, sex="F", seed=5, pattern="limited", arms="raised"), seed=4,
                   spect=True)
    return write_every_layout(sim, tmp_path_factory)


def _test_files() -> list[Path]:
    return sorted(p for p in NM.rglob("*") if p.is_file())


def _same_values(light: HeaderValues, ref: HeaderValues, struct: Dataset, where: str) -> int:
    """Compare every keyword of ``struct`` (and of its sequence items) between the two caches."""
    n = 0
    for elem in struct:
        kw = keyword_for_tag(elem.tag)
        if not kw or kw == "PixelData":
            continue
        if elem.VR == "SQ":
            a, b = light.items(kw), ref.items(kw)
            assert len(a) == len(b) == len(elem.value), (where, kw)
            for x, y, item in zip(a, b, elem.value):
                n += _same_values(x, y, item, f"{where}/{kw}")
            continue
        va, vb = light.get(kw), ref.get(kw)
        assert va == vb, (where, kw, va, vb)
        assert type(va) is type(vb) or isinstance(va, (int, float, str)) and str(va) == str(vb), (where, kw)
        n += 1
    return n


def _assert_light_equals_pydicom(path: Path) -> HeaderValues:
    light = read_light(str(path))
    assert light is not None, path
    ds = read_header(path)
    ref = HeaderValues(ds)
    assert light.tags() == [int(t) for t in ds.keys()], path
    assert light.transfer_syntax == str(ds.file_meta.TransferSyntaxUID)
    assert light.meta("MediaStorageSOPClassUID") == str(ds.file_meta.get("MediaStorageSOPClassUID", ""))
    assert _same_values(light, ref, read_header(path), str(path)) > 20
    pa, pb = light.raw_element(0x7FE00010), ds._dict.get(0x7FE00010)
    assert (pa.length, pa.value_tell) == (pb.length, pb.value_tell), path
    np.testing.assert_array_equal(decode_frames(light, str(path)), decode_frames(ref, str(path)))
    return light


def test_light_read_equals_pydicom_on_every_test_file_and_phantom_layout(phantom_files: list[Path]) -> None:
    light = other = 0
    for path in _test_files() + phantom_files:
        try:
            read_header(path)
        except Exception:
            assert read_light(str(path)) is None, path  # not DICOM: never parsed here either
            continue
        if read_light(str(path)) is None:
            assert read_header(path).file_meta.TransferSyntaxUID.is_compressed, path  # JPEG family: pydicom
            other += 1
            continue
        _assert_light_equals_pydicom(path)
        light += 1
    assert light >= 20 and other == 4  # all but the 4 JPEG-family objects of NM1: plain little-endian or RLE


def test_light_read_fallbacks_and_lazy_pydicom(tmp_path: Path) -> None:
    def variant(name: str, edit: Any, syntax: Any = None) -> Path:
        ds = pydicom.dcmread(NM1)
        edit(ds)
        if syntax is not None:
            pixels = ds.pixel_array.astype(">u2" if syntax == ExplicitVRBigEndian else "<u2").tobytes()
            ds.file_meta.TransferSyntaxUID = syntax
            ds.PixelData = pixels
        path = tmp_path / name
        ts = ds.file_meta.TransferSyntaxUID
        pydicom.dcmwrite(path, ds, implicit_vr=ts.is_implicit_VR, little_endian=ts.is_little_endian,
                         force_encoding=True)
        return path

    def undefined_sequences(ds: Dataset) -> None:
        inner = Dataset()
        inner.CodeValue = "T-D0050"
        item = Dataset()
        item.CodeMeaning = "Whole body"
        item.AnatomicRegionModifierSequence = Sequence([inner])
        ds.AnatomicRegionSequence = Sequence([item, Dataset()])
        for elem in (ds["AnatomicRegionSequence"], item["AnatomicRegionModifierSequence"]):
            elem.is_undefined_length = True
        item.is_undefined_length_sequence_item = True

    def non_ascii(ds: Dataset) -> None:
        ds.SpecificCharacterSet = "ISO_IR 100"
        ds.PatientName = "Müller^Jörg"

    # parsed here, same values as pydicom
    for path in (variant("implicit", lambda ds: None, ImplicitVRLittleEndian),
                 variant("undefined", undefined_sequences)):
        _assert_light_equals_pydicom(path)
        light = read_light(str(path))  # fresh: what the loader reads needs no pydicom dataset
        assert light is not None and light.get("StudyInstanceUID") and light.get("Rows") == 1024
        decode_frames(light, str(path))
        assert light.loaded_dataset is None
    # a value whose character set matters: pydicom reads the file when (and only when) it is asked
    path = variant("latin1", non_ascii)
    light = read_light(str(path))
    assert light is not None and light.get("Modality") == "NM" and light.loaded_dataset is None
    assert light.get("PatientName") == pydicom.dcmread(path).PatientName and light.loaded_dataset is not None
    # other transfer syntaxes, no preamble, truncated, out of order: pydicom's call
    assert read_light(str(variant("big", lambda ds: None, ExplicitVRBigEndian))) is None
    deflated = variant("deflate", lambda ds: None, DeflatedExplicitVRLittleEndian)
    assert read_light(str(deflated)) is None
    data = NM1.read_bytes()
    (tmp_path / "raw").write_bytes(data[132:])
    (tmp_path / "cut").write_bytes(data[: len(data) // 2])
    at = data.index(b"\x08\x00\x60\x00CS")  # (0008,0060) -> (0008,0001): out of order
    (tmp_path / "unordered").write_bytes(data[: at + 2] + b"\x01\x00" + data[at + 4 :])
    for name in ("raw", "cut", "unordered"):
        assert read_light(str(tmp_path / name)) is None, name
    # ... and the loader still reads and classifies each of them as before
    def outcome(path: Path) -> tuple[Any, ...]:
        try:
            h = read_and_classify(path)
        except Exception as exc:  # the same refusal, with the same message
            return type(exc).__name__, str(exc)
        return h.kind, h.sop_instance_uid, h.n_frames

    for name in ("big", "deflate", "unordered", "raw", "cut", "latin1"):
        with light_headers():
            inside = outcome(tmp_path / name)
        assert inside == outcome(tmp_path / name), name


def _dcmread_calls(fn: Any) -> int:
    profile = cProfile.Profile()
    profile.runcall(fn)
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    return sum(v[1] for k, v in stats.items() if k[2] == "dcmread" and k[0].endswith("filereader.py"))


def test_light_headers_load_the_same_studies_without_dcmread(tmp_path: Path) -> None:
    files = [str(shutil.copy(f, tmp_path / f.name)) for f in (NM1, BACKGROUND, JASZACK)]
    plain, plain_skipped = load_headers(files)
    found: list[Any] = []

    def light_load() -> None:
        with light_headers():
            found.extend(load_headers(files))

    assert _dcmread_calls(light_load) == 0  # every file parsed without pydicom
    light, light_skipped = found
    assert [(h.path, h.kind, h.kind_source, h.sop_instance_uid, h.series_uid, h.n_frames, h.transfer_syntax)
            for h in light] == [(h.path, h.kind, h.kind_source, h.sop_instance_uid, h.series_uid, h.n_frames,
                                 h.transfer_syntax) for h in plain]
    assert light_skipped == plain_skipped
    assert all(h.values.loaded_dataset is None for h in light)
    assert str(light[0].ds.SOPInstanceUID) == light[0].sop_instance_uid  # pydicom's dataset on request
    a = studies_from_headers(light, light_skipped)
    b = studies_from_headers(plain, plain_skipped)
    for sa, sb in zip(a, b):
        for va, vb in zip(sa.views, sb.views):
            assert (va.view, va.source) == (vb.view, vb.source)
            np.testing.assert_array_equal(va.image, vb.image)
        for xa, xb in zip(sa.volumes, sb.volumes):
            np.testing.assert_array_equal(xa.array, xb.array)


def test_stored_integers_equal_the_float32_path(phantom_files: list[Path], tmp_path: Path) -> None:
    rescaled = tmp_path / "rescaled"
    ds = pydicom.dcmread(NM1)
    ds.RescaleSlope, ds.RescaleIntercept = 1, 5  # integer counts, but not the stored values
    ds.save_as(rescaled, enforce_file_format=True)
    files = [str(p) for p in phantom_files] + [str(NM1), str(BACKGROUND), str(JASZACK), str(rescaled)]
    stored = fallback = 0
    mirrored = False
    for path in files:
        with light_headers():
            parsed, skipped = load_headers([path])
        with keep_stored_pixels():
            collection = studies_from_headers(parsed, skipped)
        headers = {h.path: h.values for h in parsed}
        assert all(h.values.stored_pixels is not None for h in parsed)
        for study in collection:
            images = [(v.image, [v.source]) for v in study.views]
            images += [(vol.array, list(vol.sources)) for vol in study.volumes]
            for image, sources in images:
                expected = narrowest(image.astype(np.float32))
                got = engine._counts(image, sources, headers)
                assert got.dtype == expected.dtype and got.shape == expected.shape, path
                np.testing.assert_array_equal(got, expected)
                direct = engine._stored_image(sources, image.shape, headers, image)
                stored += direct is not None
                fallback += direct is None
                mirrored |= direct is not None and any(s.mirrored or s.flipped_rows for s in sources)
        if path == str(rescaled):
            assert engine._stored_image([study.views[0].source], study.views[0].shape, headers,
                                        study.views[0].image) is None
    assert stored >= 8 and fallback >= 1 and mirrored
    # outside the context the loader keeps nothing
    parsed, skipped = load_headers([files[0]])
    studies_from_headers(parsed, skipped)
    assert parsed[0].values.stored_pixels is None


def _header_fields_reference(policy: DeidPolicy, values: HeaderValues, patient_id: str) -> tuple[dict, dict]:
    """The tag loop as it was before the per-layout plan (reference for the test)."""
    fields: dict[str, Any] = {}
    removed: dict[str, str] = {}
    present = [int(t) for t in values.ds.keys()]
    for kw, tag in _SIDECAR_TAGS:
        if tag in set(present):
            value = values.get(kw)
            if value not in (None, ""):
                fields[kw] = _jsonable(value)
    for tag in present:
        if tag >> 16 & 1:
            removed[f"({tag >> 16:04X},{tag & 0xFFFF:04X})"] = "removed (private)"
            continue
        kw = _keyword(tag)
        action = BASIC_PROFILE.get(kw)
        if action is None or kw in _CHARACTERISTICS:
            continue
        if kw in _UIDS or action == "U":
            removed[kw] = "uid replaced"
            if kw in fields:
                fields[kw] = policy.uid(str(fields[kw]))
        elif kw in _DATE_KEYWORDS:
            policy._date_field(kw, fields, removed, patient_id)
        else:
            removed[kw] = {"X": "removed", "Z": "emptied", "D": "replaced"}.get(action, "removed")
            fields.pop(kw, None)
    return fields, removed


def test_header_fields_plan_equals_the_tag_loop(phantom_files: list[Path]) -> None:
    policy = DeidPolicy(key=KEY)
    checked = 0
    for path in _test_files() + phantom_files:
        try:
            header = read_and_classify(path)
        except Exception:
            continue
        fresh = HeaderValues(pydicom.dcmread(path))
        for p in (policy, DeidPolicy(enabled=False)):
            got = p.header_fields(header.values, "PID")
            ref = _header_fields_reference(p, fresh, "PID") if p.enabled else (got[0], {})
            assert json.dumps(got[0], sort_keys=True) == json.dumps(ref[0], sort_keys=True), path
            assert got[1] == ref[1], path
        checked += 1
    assert checked >= 15


def test_convert_outputs_equal_with_and_without_the_fast_paths(tmp_path: Path) -> None:
    """The whole converter: light headers and stored integers on (default) or off, same bytes."""
    src = tmp_path / "in"
    src.mkdir()
    for f in (NM1, BACKGROUND, JASZACK):
        shutil.copy(f, src / f.name)
    convert_tree(src, tmp_path / "fast", key=KEY)
    convert_tree(src, tmp_path / "slow", key=KEY, fast_paths=False)  # pydicom headers, float32 counts
    fast = {p.relative_to(tmp_path / "fast"): p.read_bytes() for p in (tmp_path / "fast").rglob("*") if p.is_file()}
    slow = {p.relative_to(tmp_path / "slow"): p.read_bytes() for p in (tmp_path / "slow").rglob("*") if p.is_file()}
    assert fast.keys() == slow.keys() and len(fast) >= 10
    assert all(fast[k] == slow[k] for k in fast)


def test_corrupted_files_same_outcome_with_and_without_the_fast_paths(
    phantom_files: list[Path], tmp_path: Path
) -> None:
    """Seeded corruption (flipped bytes, truncation, broken lengths) of real and phantom files:
    the light parser never raises, and the converter writes the same bytes and manifest
    (status and reason per input) whether or not the fast paths are on."""
    import csv
    import random

    rng = random.Random(20261127)
    pool = [p for p in (*_test_files(), *phantom_files) if p.stat().st_size < 4_000_000]
    src = tmp_path / "in"
    src.mkdir()
    for i in range(120):
        data = bytearray(rng.choice(pool).read_bytes())
        kind = i % 3
        if kind == 0:  # flipped bytes in the header region
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(128, min(len(data), 4096))] = rng.randrange(256)
        elif kind == 1:  # truncated anywhere after the preamble
            data = data[: rng.randrange(132, len(data))]
        else:  # a broken 16-bit field (tag, VR or length)
            j = rng.randrange(132, min(len(data), 2048))
            data[j : j + 2] = rng.randrange(65536).to_bytes(2, "little")
        path = src / f"{i:03d}.dcm"
        path.write_bytes(bytes(data))
        read_light(str(path))  # None or values, never an exception
    outs = {}
    for fast in (True, False):
        out = tmp_path / f"out_{fast}"
        convert_tree(src, out, key=KEY, fast_paths=fast)
        outs[fast] = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert outs[True].keys() == outs[False].keys()
    assert all(outs[True][k] == outs[False][k] for k in outs[True])
    with open(tmp_path / "out_True" / "manifest.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 120 and all(r["reason"] for r in rows if r["status"] == "failed")
    assert {r["status"] for r in rows} >= {"failed", "converted"}
