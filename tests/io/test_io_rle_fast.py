"""The loader's own RLE Lossless path (``mibgkit.io.pixels``) against pydicom's ``pixel_array``.

Every RLE file of tests/data/nm_dicom and of the phantom layouts, plus crafted objects:
odd sizes, 8 and 16 bits, signed, multi-frame with and without a Basic Offset Table, and
hand-written PackBits segments with literal and replicate runs of 128 and no-op bytes.
Layouts the fast path does not take (several fragments per frame, a wrong offset table,
Bits Stored < Bits Allocated) must go to pydicom and give pydicom's result.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import RLELossless, SecondaryCaptureImageStorage, generate_uid

from mibgkit.io import orientation, pixels, viewid
from mibgkit.io._values import as_values
from mibgkit.io.headers import read_header
from mibgkit.phantom import LAYOUTS, make_patient, simulate, write_dicom

NM = Path(__file__).resolve().parents[1] / "data" / "nm_dicom"


def _expected(path: Path) -> np.ndarray:
    """pydicom's pixel_array, rescaled to float32 the loader's way."""
    ds = pydicom.dcmread(path)
    raw = ds.pixel_array
    if raw.ndim == 2:
        raw = raw[None]
    out = raw.astype(np.float32)
    slopes, intercepts = pixels.rescale(ds, out.shape[0])
    if np.any(slopes != 1):
        out *= slopes.astype(np.float32)[:, None, None]
    if np.any(intercepts != 0):
        out += intercepts.astype(np.float32)[:, None, None]
    return out


def _fast_fragments(path: Path) -> list[bytes] | None:
    v = as_values(read_header(path))
    return pixels._check(v, str(path), pixels.DEFAULT_MAX_PIXEL_BYTES)


def _assert_same(path: Path, fast: bool) -> None:
    assert (_fast_fragments(path) is not None) is fast
    got = pixels.decode_frames(read_header(path), str(path))
    want = _expected(path)
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def _is_rle(path: Path) -> bool:
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except Exception:
        return False
    return str(getattr(ds, "file_meta", {}).get("TransferSyntaxUID", "")) == RLELossless


def test_every_rle_test_file_equals_pydicom() -> None:
    files = [p for p in sorted(NM.rglob("*")) if p.is_file() and _is_rle(p)]
    assert files
    for p in files:
        _assert_same(p, fast=True)


@pytest.fixture(scope="module")
def phantom_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    sim = simulate(make_patient(age_years=6.0, sex="M", seed=3, pattern="limited"), seed=2, spect=True)
    out: list[Path] = []
    for layout in LAYOUTS:
        out += write_dicom(sim, tmp_path_factory.mktemp(layout), layout=layout, truth=False)
    return out


def test_every_phantom_layout_equals_pydicom(phantom_files: list[Path]) -> None:
    rle = [p for p in phantom_files if _is_rle(p)]
    assert len(rle) >= 4
    multi = 0
    for p in rle:
        _assert_same(p, fast=True)
        multi += int(pydicom.dcmread(p, stop_before_pixels=True).get("NumberOfFrames", 1) or 1) > 1
    assert multi >= 2  # whole-body pair and SPECT volume


# ----------------------------------------------------------------------------- crafted objects
def _packbits_literal(data: bytes) -> bytes:
    out = bytearray()
    for i in range(0, len(data), 128):
        chunk = data[i : i + 128]
        out += bytes([len(chunk) - 1]) + chunk
    return bytes(out)


def _packbits_replicate(value: int, count: int) -> bytes:
    out = bytearray()
    while count:
        n = min(count, 128)
        if n == 1:
            out += bytes([0, value])
        else:
            out += bytes([257 - n, value])
        count -= n
    return bytes(out)


def _rle_frame(segments: list[bytes]) -> bytes:
    header = struct.pack("<I", len(segments))
    offsets, pos = [], 64
    for seg in segments:
        offsets.append(pos)
        pos += len(seg) + (len(seg) % 2)
    header += struct.pack(f"<{len(segments)}I", *offsets) + b"\0" * (60 - 4 * len(segments))
    body = b"".join(seg + b"\0" * (len(seg) % 2) for seg in segments)
    return header + body


def _write(
    tmp: Path,
    name: str,
    frames: list[bytes],
    rows: int,
    cols: int,
    bits: int,
    *,
    signed: bool = False,
    stored: int | None = None,
    bot: bool = True,
    split: bool = False,
) -> Path:
    meta = FileMetaDataset()
    meta.TransferSyntaxUID = RLELossless
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality = "OT"
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = bits
    ds.BitsStored = stored or bits
    ds.HighBit = (stored or bits) - 1
    ds.PixelRepresentation = int(signed)
    if len(frames) > 1:
        ds.NumberOfFrames = len(frames)
    if split:  # each frame as two fragments, the offset table pointing at each frame's first
        pieces, starts = b"", []
        for f in frames:
            starts.append(len(pieces))
            half = (len(f) // 4) * 2
            for part in (f[:half], f[half:]):
                pieces += struct.pack("<HHI", 0xFFFE, 0xE000, len(part)) + part
        table = struct.pack(f"<{len(starts)}I", *starts)
        ds.PixelData = struct.pack("<HHI", 0xFFFE, 0xE000, len(table)) + table + pieces
    else:
        ds.PixelData = encapsulate(frames, has_bot=bot)
    ds["PixelData"].VR = "OB"
    path = tmp / name
    ds.save_as(path, enforce_file_format=True)
    return path


def _planes(arr: np.ndarray, bits: int) -> list[bytes]:
    """Byte planes of one frame, most significant first (PS3.5 G.2)."""
    raw = arr.astype(f"<{'i' if arr.dtype.kind == 'i' else 'u'}{bits // 8}").ravel().view(np.uint8)
    n = bits // 8
    return [raw[n - 1 - k :: n].tobytes() for k in range(n)]


def _encode(arr: np.ndarray, bits: int) -> bytes:
    """Mixed literal/replicate PackBits of every byte plane."""
    segments = []
    for plane in _planes(arr, bits):
        seg = bytearray()
        i = 0
        while i < len(plane):
            j = i
            while j < len(plane) and plane[j] == plane[i]:
                j += 1
            if j - i >= 3:
                seg += _packbits_replicate(plane[i], j - i)
                i = j
            else:
                k = min(len(plane), i + 128)
                seg += _packbits_literal(plane[i : min(k, max(j, i + 1))])
                i = min(k, max(j, i + 1))
        segments.append(bytes(seg))
    return _rle_frame(segments)


@pytest.mark.parametrize(
    ("rows", "cols", "bits", "signed", "n_frames", "bot"),
    [
        (3, 5, 8, False, 1, True),  # odd pixel count, odd segment lengths (padded)
        (7, 9, 16, False, 1, False),
        (5, 3, 16, True, 3, True),  # signed, multi-frame with offset table
        (17, 31, 16, False, 4, False),  # multi-frame without offset table
        (64, 64, 8, False, 2, True),
    ],
)
def test_crafted_objects_equal_pydicom(
    tmp_path: Path, rows: int, cols: int, bits: int, signed: bool, n_frames: int, bot: bool
) -> None:
    rng = np.random.default_rng(rows * cols + bits)
    dtype = np.dtype(f"{'i' if signed else 'u'}{bits // 8}")
    info = np.iinfo(dtype)
    frames, arrays = [], []
    for f in range(n_frames):
        arr = rng.integers(info.min, info.max, size=(rows, cols), endpoint=True).astype(dtype)
        arr[: rows // 2] = f  # long replicate runs next to literal noise
        arrays.append(arr)
        frames.append(_encode(arr, bits))
    path = _write(tmp_path, "x.dcm", frames, rows, cols, bits, signed=signed, bot=bot)
    _assert_same(path, fast=True)
    got = pixels.decode_frames(read_header(path), str(path))
    np.testing.assert_array_equal(got, np.stack(arrays).astype(np.float32))


def test_runs_of_128_and_noop_bytes(tmp_path: Path) -> None:
    rows, cols = 4, 96  # 384 bytes per plane
    lit = bytes(range(128))
    high = bytes([0x80]) + _packbits_replicate(7, 128) + bytes([0x80]) + _packbits_literal(lit) + _packbits_replicate(0, 128)
    low = _packbits_literal(bytes((3 * i) % 256 for i in range(256))) + bytes([0x81, 200])  # 0x81 = 128 copies
    path = _write(tmp_path, "runs.dcm", [_rle_frame([high, low])], rows, cols, 16)
    _assert_same(path, fast=True)
    got = pixels.decode_frames(read_header(path), str(path)).astype(np.int64).ravel()
    hi = np.array([7] * 128 + list(lit) + [0] * 128)
    lo = np.array([(3 * i) % 256 for i in range(256)] + [200] * 128)
    np.testing.assert_array_equal(got, hi * 256 + lo)


def test_unusual_layouts_go_to_pydicom(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    arr = rng.integers(0, 4095, size=(6, 10)).astype(np.uint16)
    frames = [_encode(arr, 16), _encode(arr[::-1].copy(), 16)]
    split = _write(tmp_path, "split.dcm", frames, 6, 10, 16, split=True)
    _assert_same(split, fast=False)
    narrow = _write(tmp_path, "stored12.dcm", frames, 6, 10, 16, stored=12)
    _assert_same(narrow, fast=False)
    # An offset table that does not point at the fragments: pydicom decides.
    ds = pydicom.dcmread(narrow)
    ds.BitsStored, ds.HighBit = 16, 15
    bad_bot = struct.pack("<HHI", 0xFFFE, 0xE000, 8) + struct.pack("<II", 0, 4)
    items = bytes(ds.PixelData)[8 + 8 :]  # drop the original 2-entry table
    ds.PixelData = bad_bot + items
    ds.save_as(tmp_path / "badbot.dcm", enforce_file_format=True)
    assert _fast_fragments(tmp_path / "badbot.dcm") is None


def test_split_fragments_refuses_truncated_and_undefined_items() -> None:
    frame = _rle_frame([_packbits_replicate(1, 8)])
    good = encapsulate([frame, frame], has_bot=True)
    end = struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    assert pixels._split_fragments(good, 2) == [frame, frame]  # as pydicom holds it: no delimiter
    assert pixels._split_fragments(good + end + b"\x01\x02junk", 2) == [frame, frame]
    assert pixels._split_fragments(good, 3) is None
    assert pixels._split_fragments(good[:-8], 2) is None  # last fragment cut short
    assert pixels._split_fragments(good[:30], 2) is None  # truncated fragment
    undefined = bytearray(good)
    undefined[8 + 8 + 4 : 8 + 8 + 8] = b"\xff\xff\xff\xff"
    assert pixels._split_fragments(bytes(undefined), 2) is None


def test_native_little_endian_is_not_taken() -> None:
    path = next(p for p in sorted(NM.rglob("*")) if p.is_file() and not _is_rle(p) and _has_pixels(p))
    assert _fast_fragments(path) is None
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    assert str(ds.file_meta.TransferSyntaxUID) != RLELossless
    _assert_same(path, fast=False)


def _has_pixels(p: Path) -> bool:
    try:
        return "PixelData" in pydicom.dcmread(p, stop_before_pixels=False, defer_size=64)
    except Exception:
        return False


def test_local_code_tables_equal_pydicom_codedict() -> None:
    """orientation/viewid keep SNOMED CT values locally instead of importing pydicom.sr."""
    from pydicom.sr.codedict import codes

    for name, value in viewid.SCT_VIEW_CODES.items():
        assert str(getattr(codes.SCT, name).value) == value
    for name, value in orientation.SCT_POSITION_CODES.items():
        assert str(getattr(codes.SCT, name).value) == value


def test_loader_does_not_import_the_code_dictionary() -> None:
    import subprocess
    import sys

    code = "import sys, mibgkit.io.loader, mibgkit.convert.engine; print('pydicom.sr.codedict' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
