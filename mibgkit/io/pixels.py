"""Check pixel data against its header, then decode it once to float32 counts.

Checks come before decoding so a corrupt or hostile header (60000 x 60000 pixels, a
truncated file) is refused without allocating anything: native pixel data must be as
long as Rows x Columns x Frames x bytes says, and a compressed first frame must declare
the same size as the header.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

import numpy as np

from mibgkit.errors import MissingTagError, PixelDataError
from mibgkit.io._values import HeaderValues, as_values, is_raw_element
from mibgkit.io.headers import file_size

if TYPE_CHECKING:  # pragma: no cover
    from pydicom.dataset import Dataset

__all__ = ["DEFAULT_MAX_PIXEL_BYTES", "expected_nbytes", "check_pixel_data", "decode_frames", "keep_stored_pixels",
           "rescale"]

#: Largest decoded pixel array accepted for one object (1 GiB); NM objects are far smaller.
DEFAULT_MAX_PIXEL_BYTES = 1 << 30
_PIXEL_DATA = 0x7FE00010
_UNDEFINED = 0xFFFFFFFF
_KEEP_STORED: ContextVar[bool] = ContextVar("mibgkit_keep_stored_pixels", default=False)


@contextmanager
def keep_stored_pixels() -> Iterator[None]:
    """Within this context :func:`decode_frames` also keeps the decoded stored values.

    They go to ``HeaderValues.stored_pixels`` of the object (shape (frames, rows, cols),
    the decoder's integer type, before rescale), so a caller that writes integers (the
    batch converter) need not convert the float32 counts back. Outside the context
    nothing is kept (no second copy of the pixels in memory).
    """
    token = _KEEP_STORED.set(True)
    try:
        yield
    finally:
        _KEEP_STORED.reset(token)


def _int(v: HeaderValues, keyword: str, path: str, default: int | None = None) -> int:
    value = v.get(keyword)
    if value is None or value == "":
        if default is not None:
            return default
        raise MissingTagError(f"{keyword} is missing", path)
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise PixelDataError(f"{keyword} is not a number ({v.original(keyword)!r})", path) from exc


def expected_nbytes(ds: Dataset | HeaderValues, path: str) -> int:
    """Decoded size in bytes that the header announces.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset or HeaderValues
    path : str
        The file (for messages).

    Returns
    -------
    int
        Rows x Columns x Number of Frames x Samples per Pixel x Bits Allocated / 8.
    """
    v = as_values(ds)
    rows = _int(v, "Rows", path)
    cols = _int(v, "Columns", path)
    frames = _int(v, "NumberOfFrames", path, default=1)
    samples = _int(v, "SamplesPerPixel", path, default=1)
    bits = _int(v, "BitsAllocated", path)
    if rows <= 0 or cols <= 0 or frames <= 0:
        raise PixelDataError(
            f"Rows {rows}, Columns {cols}, Number of Frames {frames}: not a valid size", path
        )
    if bits not in (8, 16, 32):
        raise PixelDataError(f"Bits Allocated {bits} is not supported (8, 16 or 32)", path)
    return rows * cols * frames * samples * bits // 8


def check_pixel_data(
    ds: Dataset | HeaderValues, path: str, *, max_bytes: int = DEFAULT_MAX_PIXEL_BYTES
) -> None:
    """Refuse pixel data that cannot match its header, without decoding it.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset or HeaderValues
        Header read with deferred pixel data.
    path : str
        The file.
    max_bytes : int
        Largest decoded size accepted.

    Raises
    ------
    PixelDataError
        No pixel data, colour pixels, absurd size, truncated, or a compressed frame whose
        own size disagrees with Rows/Columns.
    MissingTagError
        Rows, Columns or Bits Allocated is missing.
    """
    _check(as_values(ds), path, max_bytes)


def _check(v: HeaderValues, path: str, max_bytes: int) -> list[bytes] | None:
    """:func:`check_pixel_data`; returns the RLE frames it parsed on the way (see :func:`_rle_fragments`)."""
    if "PixelData" not in v:
        raise PixelDataError("no Pixel Data", path)
    samples = _int(v, "SamplesPerPixel", path, default=1)
    if samples != 1:
        raise PixelDataError(f"{samples} samples per pixel (colour); mibgkit loads grey-scale counts", path)
    need = expected_nbytes(v, path)
    if need > max_bytes:
        raise PixelDataError(
            f"header announces {v.original('Rows')} x {v.original('Columns')} x "
            f"{v.original('NumberOfFrames', 1)} pixels ({need / 2**20:.0f} MiB), more than the "
            f"{max_bytes / 2**20:.0f} MiB limit",
            path,
        )
    elem = v.raw_element(_PIXEL_DATA)  # raw element: length and offset without reading the value
    if is_raw_element(elem):
        length, value, tell = elem.length, elem.value, elem.value_tell
    else:
        value = elem.value
        length, tell = (len(value) if value is not None else 0), None
    if length != _UNDEFINED:
        have = len(value) if value is not None else length
        if value is None and tell is not None:
            have = min(length, max(0, file_size(path) - tell))
        if have < need:
            raise PixelDataError(
                f"pixel data truncated: {have} bytes for {need} announced by Rows x Columns x Frames x bytes",
                path,
            )
        return None
    return _check_encapsulated(v, path)


def _check_encapsulated(v: HeaderValues, path: str) -> list[bytes] | None:
    rows, cols = int(v.get("Rows")), int(v.get("Columns"))
    n_frames = _int(v, "NumberOfFrames", path, default=1)
    fragments = _rle_fragments(v, path, n_frames)
    if fragments is not None:  # one fragment per frame, offsets consistent: the first frame is the first fragment
        first: bytes = fragments[0]
    else:
        try:
            pixel_data = v.ds.PixelData  # pydicom's dataset: pydicom is imported from here on
            from pydicom.encaps import generate_frames

            first = next(generate_frames(pixel_data, number_of_frames=n_frames))
        except StopIteration:
            raise PixelDataError("compressed pixel data holds no frame", path) from None
        except Exception as exc:
            raise PixelDataError(f"compressed pixel data unreadable ({exc})", path) from exc
    size = _codestream_size(first)
    if size is not None and size != (rows, cols):
        raise PixelDataError(
            f"compressed frame is {size[0]} x {size[1]} but the header says {rows} x {cols}", path
        )
    return fragments


def _codestream_size(frame: bytes) -> tuple[int, int] | None:
    """(rows, cols) declared inside a JPEG, JPEG-LS or JPEG 2000 codestream; None for others."""
    j2k = frame.find(b"\xff\x4f\xff\x51")
    if j2k >= 0 and len(frame) >= j2k + 24:
        xsiz, ysiz, xo, yo = struct.unpack(">IIII", frame[j2k + 8 : j2k + 24])
        return ysiz - yo, xsiz - xo
    if frame[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 4 <= len(frame):
        if frame[i] != 0xFF:
            return None
        marker = frame[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        seg_len = struct.unpack(">H", frame[i + 2 : i + 4])[0]
        # SOF0..SOF15 except DHT (C4), JPG (C8), DAC (CC); SOF55 (F7) is JPEG-LS.
        if (0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC)) or marker == 0xF7:
            if i + 9 > len(frame):
                return None
            height, width = struct.unpack(">HH", frame[i + 5 : i + 9])
            return height, width
        i += 2 + seg_len
    return None


def rescale(ds: Dataset | HeaderValues, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Rescale slope and intercept of every frame.

    Per-frame values come from the Pixel Value Transformation Sequence of the
    Per-frame (then Shared) Functional Groups; otherwise the top-level Rescale
    Slope/Intercept apply to all frames; otherwise 1 and 0.

    Returns
    -------
    slopes, intercepts : ndarray of shape (n_frames,), float64
    """
    v = as_values(ds)
    slope = float(v.get("RescaleSlope", 1) or 1)
    intercept = float(v.get("RescaleIntercept", 0) or 0)
    shared = v.items("SharedFunctionalGroupsSequence")
    if shared:
        pvt = shared[0].items("PixelValueTransformationSequence")
        if pvt:
            slope = float(pvt[0].get("RescaleSlope", slope) or slope)
            intercept = float(pvt[0].get("RescaleIntercept", intercept) or intercept)
    slopes = np.full(n_frames, slope)
    intercepts = np.full(n_frames, intercept)
    per_frame = v.items("PerFrameFunctionalGroupsSequence")
    if per_frame and len(per_frame) == n_frames:
        for i, item in enumerate(per_frame):
            pvt = item.items("PixelValueTransformationSequence")
            if pvt:
                slopes[i] = float(pvt[0].get("RescaleSlope", slopes[i]) or slopes[i])
                intercepts[i] = float(pvt[0].get("RescaleIntercept", intercepts[i]) or intercepts[i])
    return slopes, intercepts


_NATIVE_LE = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"}  # Implicit / Explicit VR Little Endian


def _native_bytes(v: HeaderValues, path: str, count: int) -> bytes | memoryview:
    """The first ``count`` bytes of native Pixel Data, read straight from the file when deferred
    (no second header parse, no copy into the dataset)."""
    elem = v.raw_element(_PIXEL_DATA)
    if is_raw_element(elem) and elem.value is None:
        with open(path, "rb") as fh:
            fh.seek(elem.value_tell)
            return fh.read(count)
    if elem.value is None:
        return b""
    # the raw bytes are the value pydicom gives for little-endian OB/OW (no second parse)
    return memoryview(elem.value if is_raw_element(elem) else v.ds.PixelData)[:count]


def _native_view(v: HeaderValues, path: str, n_frames: int) -> np.ndarray | None:
    """Uncompressed little-endian integer pixels as a view of the bytes read (no further copy).

    Only for the plain case (one sample, all allocated bits stored); anything else goes
    through pydicom's decoders, which handle masking, sign extension and byte order.
    """
    if v.transfer_syntax not in _NATIVE_LE:
        return None
    bits = int(v.get("BitsAllocated"))
    if bits not in (8, 16, 32) or int(v.get("BitsStored", bits) or bits) != bits:
        return None
    signed = int(v.get("PixelRepresentation", 0) or 0) == 1
    dtype = np.dtype(f"<{'i' if signed else 'u'}{bits // 8}")
    rows, cols = int(v.get("Rows")), int(v.get("Columns"))
    count = rows * cols * n_frames
    data = _native_bytes(v, path, count * dtype.itemsize)
    if len(data) < count * dtype.itemsize:
        return None  # shorter than the header says: let pydicom decide what to do
    return np.frombuffer(data, dtype=dtype, count=count).reshape(n_frames, rows, cols)


_RLE_LOSSLESS = "1.2.840.10008.1.2.5"
_ITEM = (0xFFFE, 0xE000)
_SEQUENCE_END = (0xFFFE, 0xE0DD)
_ITEM_HEADER = struct.Struct("<HHI")


def _split_fragments(data: bytes | bytearray | memoryview, n_frames: int) -> list[bytes] | None:
    """The frames of encapsulated Pixel Data when each frame is exactly one fragment.

    Parameters
    ----------
    data : bytes-like
        The Pixel Data value (Basic Offset Table item, fragment items, then the sequence
        delimiter or the end of the value; bytes after the delimiter are ignored).
    n_frames : int
        Number of Frames of the object.

    Returns
    -------
    list of bytes or None
        One fragment per frame; None when the layout is anything else (several fragments
        per frame, a Basic Offset Table that does not point at each fragment, an item of
        undefined length, truncated items), which pydicom then handles.
    """
    mv = memoryview(data)
    size = len(mv)
    if size < 8:
        return None
    group, elem, length = _ITEM_HEADER.unpack_from(mv, 0)
    if (group, elem) != _ITEM or length % 4 or 8 + length > size:
        return None
    offsets = list(struct.unpack_from(f"<{length // 4}I", mv, 8)) if length else []
    pos = first = 8 + length
    fragments: list[bytes] = []
    starts: list[int] = []
    while pos < size:  # a value pydicom read into memory ends at the last fragment (no delimiter)
        if pos + 8 > size:
            return None
        group, elem, length = _ITEM_HEADER.unpack_from(mv, pos)
        if (group, elem) == _SEQUENCE_END:
            break
        if (group, elem) != _ITEM or length == _UNDEFINED or pos + 8 + length > size:
            return None
        starts.append(pos - first)
        fragments.append(bytes(mv[pos + 8 : pos + 8 + length]))
        pos += 8 + length
    if len(fragments) != n_frames or (offsets and offsets != starts):
        return None
    return fragments


def _encapsulated_value(v: HeaderValues, path: str) -> bytes | None:
    """Encapsulated Pixel Data bytes, read straight from the file when deferred (to its end)."""
    elem = v.raw_element(_PIXEL_DATA)
    if is_raw_element(elem) and elem.value is None:
        if elem.value_tell is None:
            return None
        with open(path, "rb") as fh:
            fh.seek(elem.value_tell)
            return fh.read()
    value = elem.value
    return bytes(value) if isinstance(value, (bytes, bytearray, memoryview)) else None


def _rle_fragments(v: HeaderValues, path: str, n_frames: int) -> list[bytes] | None:
    """RLE Lossless frames (one fragment each) of a plain grey-scale object, read once per dataset.

    Only for the layouts :func:`_rle_decode` handles (1 sample, 8 or 16 bits, all allocated
    bits stored, no Extended Offset Table); None sends everything else to pydicom.
    """
    fragments = None
    if v.transfer_syntax == _RLE_LOSSLESS and "ExtendedOffsetTable" not in v:
        bits = _int(v, "BitsAllocated", path)
        stored = v.get("BitsStored", bits)
        if bits in (8, 16) and stored not in (None, "") and int(stored) == bits:
            data = _encapsulated_value(v, path)
            if data is not None:
                fragments = _split_fragments(data, n_frames)
    return fragments


def _is_panic(exc: BaseException) -> bool:
    """True for a panic of a Rust codec (pyo3's ``PanicException`` derives from
    ``BaseException``, so ``except Exception`` lets it through and stops a batch)."""
    return type(exc).__name__ == "PanicException"


def _rle_decode(v: HeaderValues, fragments: list[bytes] | None, n_frames: int) -> np.ndarray | None:
    """Decode RLE Lossless frames (DICOM PS3.5 Annex G) without pydicom's pixel machinery.

    Each frame is one fragment whose RLE header lists one segment per byte plane (most
    significant first); the segments are PackBits-decoded by pylibjpeg-rle's codec, the same
    one pydicom uses for this transfer syntax, into one preallocated array. Returns None (so
    pydicom decodes) for any other layout or any segment the codec refuses.
    """
    if fragments is None:
        return None
    try:
        from rle.rle import decode_frame
    except ImportError:  # pragma: no cover - pylibjpeg-rle is a dependency
        return None
    bits = int(v.get("BitsAllocated"))
    signed = int(v.get("PixelRepresentation", 0) or 0) == 1
    dtype = np.dtype(f"<{'i' if signed else 'u'}{bits // 8}")
    rows, cols = int(v.get("Rows")), int(v.get("Columns"))
    pixels = rows * cols
    out = np.empty((n_frames, rows, cols), dtype=dtype)
    flat = out.reshape(n_frames, pixels).view(np.uint8)
    n_segments = bits // 8
    for i, fragment in enumerate(fragments):
        if len(fragment) < 64 or int.from_bytes(fragment[:4], "little") != n_segments:
            return None
        try:
            frame = decode_frame(fragment, pixels, bits, "<")
        except (ValueError, TypeError):
            return None
        except BaseException as exc:  # a Rust panic of the codec on a corrupt segment
            if _is_panic(exc):
                return None
            raise
        if len(frame) != pixels * n_segments:
            return None
        flat[i] = np.frombuffer(frame, dtype=np.uint8)
    return out


def decode_frames(
    ds: Dataset | HeaderValues, path: str, *, max_bytes: int = DEFAULT_MAX_PIXEL_BYTES
) -> np.ndarray:
    """Check, decode and rescale all frames of one object.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset or HeaderValues
        The object's dataset (pixel data may still be deferred).
    path : str
        The file.
    max_bytes : int
        Largest decoded size accepted.

    Returns
    -------
    ndarray of shape (frames, rows, cols), float32
        Stored values times Rescale Slope plus Intercept; negative values (signed data,
        lossy codecs) are kept.

    Raises
    ------
    PixelDataError
        Pixel data inconsistent with the header or not decodable.
    """
    v = as_values(ds)
    fragments = _check(v, path, max_bytes)
    n_frames = _int(v, "NumberOfFrames", path, default=1)
    raw = _native_view(v, path, n_frames)
    if raw is None:
        raw = _rle_decode(v, fragments, n_frames)
    if raw is None:
        try:
            raw = v.ds.pixel_array
        except Exception as exc:  # decoders raise their own types
            raise PixelDataError(f"pixel data cannot be decoded ({type(exc).__name__}: {exc})", path) from exc
        except BaseException as exc:
            if _is_panic(exc):
                raise PixelDataError(f"pixel data cannot be decoded (codec panic: {exc})", path) from exc
            raise
    if raw.ndim == 2:
        raw = raw[None]
    if raw.shape[0] != n_frames:
        raise PixelDataError(f"decoded {raw.shape[0]} frames, header says {n_frames}", path)
    if _KEEP_STORED.get():
        v.stored_pixels = raw
    out = raw.astype(np.float32)
    slopes, intercepts = rescale(v, n_frames)
    if np.any(slopes != 1):
        out *= slopes.astype(np.float32)[:, None, None]
    if np.any(intercepts != 0):
        out += intercepts.astype(np.float32)[:, None, None]
    # Free the cached decoded array; the float32 copy is what the model keeps.
    loaded = v.loaded_dataset
    if loaded is not None:
        loaded._pixel_array = None
        loaded._pixel_id = {}
    return out
