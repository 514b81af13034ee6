"""A small, fast gzip NIfTI-1 writer for the converter (header by hand, zlib deflate).

SimpleITK's NIfTI writer costs ~11 ms per planar image (a copy into an ``sitk.Image``
plus its own deflate). This module writes the same geometry in a single-file NIfTI-1
(``n+1``, data at byte 352) with the 348-byte header packed by :mod:`struct` and the
data deflated by :mod:`zlib` straight from the array buffer, at a fast level.

Geometry follows ITK's NIfTI writer, so SimpleITK reads back exactly the spacing,
origin and direction it would have written: the LPS index-to-physical matrix is turned
into RAS (x and y negated), stored as both the sform and the qform (quaternion from
``nifti_mat44_to_quatern`` of nifti1_io.c), codes 1 (scanner), units mm and s. The
output bytes depend only on the inputs and the deflate library (gzip header time 0), so
parallel runs on the same installation write identical files.

Voxel type: :func:`narrowest` gives the narrowest integer type (uint8, int16, uint16,
int32) that holds every value of a float array exactly, so rescaled integer counts are
written as integers (half the bytes of float32 or less, and faster to deflate); float32
is kept only for values that are not integers (a non-integer Rescale Slope/Intercept).

Deflate: the ``isal`` package (Intel ISA-L, optional: ``pip install mibgkit[fast]``)
when installed, ~5x faster than zlib at the same size on NM images; otherwise zlib
with the run-length strategy. Either output is a standard gzip member.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

_isal_zlib: Any
try:  # optional, much faster deflate
    from isal import isal_zlib as _isal_zlib
except ImportError:  # pragma: no cover - depends on the installation
    _isal_zlib = None

__all__ = ["DATATYPES", "DEFLATE", "GZIP_LEVEL", "INTEGER_TYPES", "narrowest", "nifti_gz_bytes", "nifti_header",
           "quaternion"]

#: Deflate level of the ``.nii.gz`` outputs. zlib: with the run-length strategy (NM
#: images are mostly zeros) level 1 is ~5x faster than level 6 and ~1.3x larger. ISA-L:
#: level 1 (of 0-3) is ~5x faster again, with about zlib level 1's size.
GZIP_LEVEL = 1
#: Deflate implementation used: ``"isal"`` when the package is installed, else ``"zlib"``.
DEFLATE = "isal" if _isal_zlib is not None else "zlib"
#: Integer voxel types :func:`narrowest` chooses from, narrowest first.
INTEGER_TYPES: tuple[str, ...] = ("uint8", "int16", "uint16", "int32")

#: numpy dtype -> (NIfTI datatype code, bits per voxel).
DATATYPES: dict[str, tuple[int, int]] = {
    "uint8": (2, 8),
    "int16": (4, 16),
    "int32": (8, 32),
    "float32": (16, 32),
    "float64": (64, 64),
    "int8": (256, 8),
    "uint16": (512, 16),
    "uint32": (768, 32),
}
_HEADER = struct.Struct("<i10s18sihbb8hfffhhhh8ffffhbbffffii80s24shh6f4f4f4f16s4s")
_VOX_OFFSET = 352  # 348-byte header + 4-byte extension flag (no extension)
_NIFTI_XFORM_SCANNER_ANAT = 1
_UNITS_MM_S = 2 | 8
assert _HEADER.size == 348


def quaternion(rotation: np.ndarray) -> tuple[float, float, float, float]:
    """NIfTI quaternion (b, c, d) and qfac of a 3x3 matrix with orthogonal columns.

    A port of ``nifti_mat44_to_quatern`` for a matrix whose columns are already
    orthogonal (directions of an image): columns are normalised, a negative
    determinant gives ``qfac = -1`` and flips the third column.

    Parameters
    ----------
    rotation : ndarray of shape (3, 3)
        Direction cosines as columns (spacing may be included; it is divided out).

    Returns
    -------
    b, c, d, qfac : float
    """
    r = np.array(rotation, dtype=np.float64)
    for j in range(3):
        norm = float(np.linalg.norm(r[:, j]))
        if norm == 0.0:
            r[:, j] = 0.0
            r[j, j] = 1.0
        else:
            r[:, j] /= norm
    qfac = 1.0
    if float(np.linalg.det(r)) <= 0.0:
        qfac = -1.0
        r[:, 2] = -r[:, 2]
    (r11, r12, r13), (r21, r22, r23), (r31, r32, r33) = r.tolist()
    a = r11 + r22 + r33 + 1.0
    if a > 0.5:
        a = 0.5 * math.sqrt(a)
        b = 0.25 * (r32 - r23) / a
        c = 0.25 * (r13 - r31) / a
        d = 0.25 * (r21 - r12) / a
    else:
        xd = 1.0 + r11 - (r22 + r33)
        yd = 1.0 + r22 - (r11 + r33)
        zd = 1.0 + r33 - (r11 + r22)
        if xd > 1.0:
            b = 0.5 * math.sqrt(xd)
            c = 0.25 * (r12 + r21) / b
            d = 0.25 * (r13 + r31) / b
            a = 0.25 * (r32 - r23) / b
        elif yd > 1.0:
            c = 0.5 * math.sqrt(yd)
            b = 0.25 * (r12 + r21) / c
            d = 0.25 * (r23 + r32) / c
            a = 0.25 * (r13 - r31) / c
        else:
            d = 0.5 * math.sqrt(zd)
            b = 0.25 * (r13 + r31) / d
            c = 0.25 * (r23 + r32) / d
            a = 0.25 * (r21 - r12) / d
        if a < 0.0:
            b, c, d = -b, -c, -d
    return b, c, d, qfac


def nifti_header(
    shape: Sequence[int],
    dtype: np.dtype,
    spacing: Sequence[float],
    origin: Sequence[float] | None = None,
    direction: np.ndarray | None = None,
) -> bytes:
    """The 352 bytes before the voxels of a single-file NIfTI-1 image.

    Parameters
    ----------
    shape : sequence of int
        Array shape in numpy order: (rows, cols) or (slices, rows, cols).
    dtype : numpy dtype
        One of :data:`DATATYPES` (little-endian data follow the header).
    spacing : sequence of float
        Spacing in ITK order (col, row[, slice]) in mm.
    origin : sequence of float, optional
        LPS position of the first voxel (ITK order); zeros by default.
    direction : ndarray of shape (n, n), optional
        ITK direction matrix (LPS) for n = len(shape); identity by default.

    Returns
    -------
    bytes
    """
    key = (
        tuple(int(v) for v in shape),
        np.dtype(dtype).name,
        tuple(float(v) for v in spacing),
        None if origin is None else tuple(float(v) for v in origin),
        None if direction is None else tuple(float(v) for v in np.asarray(direction, dtype=np.float64).ravel()),
    )
    return _header(*key)


@lru_cache(maxsize=256)
def _header(
    shape: tuple[int, ...],
    dtype: str,
    spacing: tuple[float, ...],
    origin: tuple[float, ...] | None,
    direction: tuple[float, ...] | None,
) -> bytes:
    """:func:`nifti_header` of hashable arguments (images of one series share a header)."""
    n = len(shape)
    if n not in (2, 3) or len(spacing) != n:
        raise ValueError(f"need a 2-D or 3-D array with one spacing per axis, not shape {tuple(shape)}")
    code, bitpix = DATATYPES[np.dtype(dtype).name]
    geometry = np.eye(3)
    geometry[:n, :n] = np.eye(n) if direction is None else np.asarray(direction, dtype=np.float64).reshape(n, n)
    sp = [float(v) for v in spacing] + [1.0] * (3 - n)
    org = [float(v) for v in (origin if origin is not None else [0.0] * n)] + [0.0] * (3 - n)
    lps_to_ras = np.diag([-1.0, -1.0, 1.0])
    matrix = lps_to_ras @ geometry @ np.diag(sp)
    offset = lps_to_ras @ np.asarray(org)
    b, c, d, qfac = quaternion(matrix)
    dims = [n, *reversed([int(v) for v in shape])] + [1] * (7 - n)
    pixdim = [qfac, *sp] + [0.0] * 4  # a 2-D image has slice spacing 1, as ITK writes it
    rows = [[*(float(v) for v in matrix[i]), float(offset[i])] for i in range(3)]
    header = _HEADER.pack(
        348, b"", b"", 0, 0, ord("r"), 0,
        *dims,
        0.0, 0.0, 0.0,  # intent_p1..3
        0, code, bitpix, 0,  # intent_code, datatype, bitpix, slice_start
        *pixdim,
        float(_VOX_OFFSET), 1.0, 0.0,  # vox_offset, scl_slope, scl_inter
        0, 0, _UNITS_MM_S,  # slice_end, slice_code, xyzt_units
        0.0, 0.0, 0.0, 0.0,  # cal_max, cal_min, slice_duration, toffset
        0, 0,  # glmax, glmin
        b"mibgkit", b"",  # descrip, aux_file
        _NIFTI_XFORM_SCANNER_ANAT, _NIFTI_XFORM_SCANNER_ANAT,
        b, c, d, *(float(v) for v in offset),
        *rows[0], *rows[1], *rows[2],
        b"", b"n+1\x00",
    )
    return header + b"\x00\x00\x00\x00"


def narrowest(array: np.ndarray, *, integer: bool = False) -> np.ndarray:
    """``array`` in the narrowest integer type that holds all its values exactly.

    Parameters
    ----------
    array : ndarray
        Typically float32 counts after rescale.
    integer : bool
        The caller knows every value is an integer (e.g. stored values of at most 16 bits
        with Rescale Slope 1 and an integer Intercept, see
        :func:`mibgkit.convert.engine.integer_by_header`): the element-wise exactness
        check is left out; the range still chooses the type.

    Returns
    -------
    ndarray
        The same values as uint8, int16, uint16 or int32 (the first of
        :data:`INTEGER_TYPES` whose range holds the minimum and maximum) when every
        value is an integer; otherwise ``array`` itself (e.g. float32 after a
        non-integer Rescale Slope). Integer input is returned unchanged.
    """
    if array.dtype.kind in "iub" or array.size == 0:
        return array
    lo, hi = float(array.min()), float(array.max())  # Python floats: exact comparisons with the limits
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return array
    for name in INTEGER_TYPES:
        info = np.iinfo(name)
        if info.min <= lo and hi <= info.max:
            candidate = array.astype(name)
            # exact iff every value was an integer (the range is already known to fit)
            return candidate if integer or np.array_equal(candidate, array) else array
    return array


def _compressor(level: int, deflate: str) -> Any:
    if deflate not in ("isal", "zlib") or (deflate == "isal" and _isal_zlib is None):
        known = "'zlib' or 'isal'" if _isal_zlib is not None else "'zlib' (isal is not installed)"
        raise ValueError(f"deflate must be {known}, not {deflate!r}")
    if deflate == "isal":
        return _isal_zlib.compressobj(min(level, _isal_zlib.ISAL_BEST_COMPRESSION), _isal_zlib.DEFLATED,
                                      16 + _isal_zlib.MAX_WBITS)
    # gzip wrapper (mtime 0, no name); Z_RLE: as fast as level 1 and smaller on NM data
    return zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS, 8, zlib.Z_RLE)


def nifti_gz_bytes(
    array: np.ndarray,
    spacing: Sequence[float],
    origin: Sequence[float] | None = None,
    direction: np.ndarray | None = None,
    *,
    level: int = GZIP_LEVEL,
    deflate: str = DEFLATE,
) -> bytes:
    """A complete ``.nii.gz`` file in memory (gzip member with time 0, no file name).

    Parameters
    ----------
    array : ndarray
        (rows, cols) or (slices, rows, cols); dtype one of :data:`DATATYPES`.
    spacing, origin, direction
        As for :func:`nifti_header` (ITK order and conventions).
    level : int
        Deflate level (zlib 1-9; ISA-L 0-3, higher values mean 3).
    deflate : {"isal", "zlib"}
        Deflate implementation (default :data:`DEFLATE`); ``"isal"`` needs the package.

    Returns
    -------
    bytes
    """
    data = np.ascontiguousarray(array)
    data = data.astype(data.dtype.newbyteorder("<"), copy=False)
    head = nifti_header(data.shape, data.dtype, spacing, origin, direction)
    z = _compressor(level, deflate)
    return z.compress(head) + z.compress(data.reshape(-1).view(np.uint8).data) + z.flush()
