"""Fast, cached access to DICOM element values, and tolerant conversion to numbers.

pydicom turns a raw element into a value through hooks, validation and a new
``DataElement`` on first access -- tens of microseconds each. The loader reads some 60-100
values per file, which used to cost more than parsing the file. :class:`HeaderValues`
decodes the plain cases straight from the raw bytes, exactly as pydicom's own converters
would, and caches every value. Anything unusual goes through pydicom itself: big endian,
non-ASCII text, person names, sequences, unknown or ambiguous VRs, malformed numbers,
deferred values, or a pydicom configuration other than the defaults.
"""

from __future__ import annotations

import math
import os
import re
import struct
import sys
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Any, Final, NamedTuple

import numpy as np

from mibgkit.io._dicomdict import dictionary_vr, tag_for_keyword

if TYPE_CHECKING:  # pragma: no cover
    from pydicom.dataset import Dataset

__all__ = ["HeaderValues", "LightPixelData", "as_values", "floats", "is_raw_element", "read_light", "strings"]

_ABSENT: Final = object()
_SLOW: Final = object()  # "let pydicom decode this one"

_BINARY = {"US": "H", "UL": "L", "SS": "h", "SL": "l", "FL": "f", "FD": "d"}
_BINARY_SIZE = {vr: struct.calcsize("<" + fmt) for vr, fmt in _BINARY.items()}
# decoded by pydicom from ISO 8859-1 bytes, whatever the character set (plain str by default)
_STRING_VRS = frozenset({"CS", "AS", "DA", "DT", "TM", "UI", "IS", "DS"})
_TEXT_MULTI = frozenset({"SH", "LO", "UC"})
_TEXT_SINGLE = frozenset({"ST", "LT", "UT"})
_DECODED_VRS = frozenset(_BINARY) | _STRING_VRS | _TEXT_MULTI | _TEXT_SINGLE | {"AT", "PN"}
_INT_RE = re.compile(r"[+-]?[0-9]+")
_FLOAT_RE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


@cache
def _tag(keyword: str) -> int | None:
    return tag_for_keyword(keyword)


@cache
def _dictionary_vr(tag: int) -> str | None:
    """VR of a public tag for implicit-VR files; None when unknown or ambiguous ('US or SS')."""
    try:
        vr = dictionary_vr(tag)
    except KeyError:
        return None
    return vr if len(vr) == 2 else None


def _pydicom_defaults() -> bool:
    """True when pydicom converts values the default way (the fast path mirrors only that).

    Without pydicom imported its configuration cannot have been changed: True.
    """
    _config = sys.modules.get("pydicom.config")
    if _config is None:
        return True
    return not (
        _config.datetime_conversion
        or _config.use_DS_numpy
        or _config.use_IS_numpy
        or _config.use_DS_decimal
        or _config.use_none_as_empty_text_VR_value
        or _config.data_element_callback
    )


def _one_or_list(items: list[Any]) -> Any:
    return items[0] if len(items) == 1 else items


def _numbers(text: str, pattern: re.Pattern[str], kind: type) -> Any:
    out: list[Any] = []
    for item in text.rstrip(" \x00").split("\\"):
        stripped = item.strip()
        if not stripped:
            out.append(item)  # pydicom keeps a blank IS/DS value as the string itself
        elif pattern.fullmatch(stripped):
            out.append(kind(stripped))
        else:
            return _SLOW
    return _one_or_list(out)


_TEXT_VRS = frozenset({"AE", "AS", "CS", "DA", "DT", "LO", "LT", "SH", "ST", "TM", "UC", "UI", "UR", "UT"})


def _empty_value(vr: str) -> Any:
    """pydicom's ``empty_value_for_VR`` for the default configuration ('' for text, None for
    numbers); an empty person name is pydicom's ``PersonName("")`` when pydicom is imported,
    else ``""`` (equal to it, and the same text)."""
    if vr == "PN":
        valuerep = sys.modules.get("pydicom.valuerep")
        return "" if valuerep is None else valuerep.PersonName("")
    return "" if vr in _TEXT_VRS else None


def _tag_type() -> Any:
    """pydicom's ``BaseTag`` (an ``int``) for AT values when pydicom is imported, else ``int``
    (equal values; only ``str()`` differs, and nothing here prints a tag that way)."""
    tag_module = sys.modules.get("pydicom.tag")
    return int if tag_module is None else tag_module.BaseTag


def _decode(tag: int, vr: str | None, value: bytes | None) -> Any:
    """The value pydicom would decode from little-endian ``value``, or ``_SLOW`` when this is
    not a plain case."""
    if value is None:
        return _SLOW
    if vr is None:
        vr = _dictionary_vr(tag)
        if vr is None:
            return _SLOW
    if not value:  # pydicom's empty value ('' for text, None for numbers)
        return _empty_value(vr) if vr in _DECODED_VRS else _SLOW
    fmt = _BINARY.get(vr)
    if fmt is not None:
        n, rest = divmod(len(value), _BINARY_SIZE[vr])
        if rest:
            return _SLOW
        return _one_or_list(list(struct.unpack(f"<{n}{fmt}", value)))
    if vr in _STRING_VRS:
        text = value.decode("latin-1")
        if vr == "IS":
            return _numbers(text, _INT_RE, int)
        if vr == "DS":
            return _numbers(text.strip(), _FLOAT_RE, float)
        return _one_or_list(text.rstrip(" \x00").split("\\"))
    if vr == "AT":
        n, rest = divmod(len(value), 4)
        if rest:
            return _SLOW
        words = struct.unpack(f"<{2 * n}H", value)
        tag_type = _tag_type()
        return _one_or_list([tag_type(words[i] << 16 | words[i + 1]) for i in range(0, 2 * n, 2)])
    if not value.isascii() or b"\x1b" in value:
        return _SLOW  # text whose character set matters: pydicom decodes it
    if vr == "PN":
        if b"\\" in value:
            return _SLOW  # several names: pydicom's MultiValue of PersonName
        return value.rstrip(b"\x00 ").decode("ascii")  # str(PersonName) of the same bytes
    if vr in _TEXT_MULTI:
        return _one_or_list([t.rstrip("\x00 ") for t in value.decode("ascii").split("\\")])
    if vr in _TEXT_SINGLE:
        return value.decode("ascii").rstrip("\x00 ")
    return _SLOW


_ITEM, _ITEM_END, _SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_UNDEFINED = 0xFFFFFFFF
_LONG_LENGTH_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"})
_IMPLICIT_HEAD = struct.Struct("<HHL")
_EXPLICIT_HEAD = struct.Struct("<HH2sH")
_LONG = struct.Struct("<L")
_VR_NAMES = {name.encode("ascii"): name for name in _DECODED_VRS | _LONG_LENGTH_VRS | {"OB", "UN"}}
#: An element of a sequence item parsed here: (VR or None when implicit, value bytes).
Light = tuple[str | None, bytes]
Elements = dict[int, Any]  # tag -> RawDataElement, pydicom DataElement, or Light


def _parse_items(buf: bytes, implicit: bool) -> list[Elements] | None:
    """The items of a little-endian SQ value as {tag: (VR, bytes)}, without pydicom
    ``Dataset`` objects (a nested undefined-length sequence is kept whole, its end found);
    None for layouts left to pydicom (other undefined-length elements, malformed items)."""
    items: list[Elements] = []
    pos, end = 0, len(buf)
    try:
        while pos + 8 <= end:
            group, element, length = _IMPLICIT_HEAD.unpack_from(buf, pos)
            tag = group << 16 | element
            pos += 8
            if tag == _SEQ_END:
                break
            if tag != _ITEM:
                return None
            found = _parse_elements(buf, pos, None if length == _UNDEFINED else pos + length, implicit)
            if found is None:
                return None
            item, pos = found
            items.append(item)
    except (struct.error, UnicodeDecodeError):
        return None
    return items


def _parse_elements(buf: bytes, pos: int, stop: int | None, implicit: bool) -> tuple[Elements, int] | None:
    """Elements from ``pos`` to ``stop``, or to an Item Delimitation Item when ``stop`` is None."""
    elements: Elements = {}
    end = len(buf) if stop is None else stop
    vr: str | None = None
    while pos < end:
        if pos + 8 > end:
            return None
        if implicit:
            group, element, length = _IMPLICIT_HEAD.unpack_from(buf, pos)
            start = pos + 8
        else:
            group, element, vr_bytes, length = _EXPLICIT_HEAD.unpack_from(buf, pos)
            start = pos + 8
        tag = group << 16 | element
        if tag == _ITEM_END:
            return (elements, pos + 8) if stop is None else None
        if not implicit:
            vr = _VR_NAMES.get(vr_bytes) or vr_bytes.decode("ascii")
            if vr in _LONG_LENGTH_VRS:
                length, start = _LONG.unpack_from(buf, pos + 8)[0], pos + 12
        if length == _UNDEFINED:  # a nested sequence of undefined length: kept whole, as at top level
            if (vr or _dictionary_vr(tag)) != "SQ":
                return None
            seq_end = _undefined_end(buf, start, implicit)
            if seq_end is None or seq_end > end:
                return None
            elements[tag] = (vr, buf[start:seq_end])
            pos = seq_end
            continue
        if start + length > end:
            return None
        elements[tag] = (vr, buf[start : start + length])
        pos = start + length
    return (elements, pos) if stop is not None else None


class HeaderValues:
    """Read-only, cached element values of one dataset, looked up by keyword.

    Values are what pydicom gives (``ds.get(keyword)``), with plain Python types for
    the fast cases: ``int``/``float``/``str``, and a ``list`` where pydicom gives a
    ``MultiValue``. Reading never changes the dataset except through pydicom's own
    conversion of the values it decodes. In a file parsed by :func:`read_light` while
    pydicom is not imported, an AT value is a plain ``int`` (pydicom: ``BaseTag``, an
    ``int``) and an empty PN value is ``""`` (pydicom: ``PersonName("")``): equal values,
    the same text in every output; pydicom is not imported just to build those types.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        The dataset; its raw elements are decoded on first access.
    """

    __slots__ = ("_ds", "_elements", "_cache", "_items", "_fast", "_origin", "_path", "_meta", "stored_pixels")

    #: The stored (integer) pixels as decoded, before rescale, shape (frames, rows, cols):
    #: set by :func:`mibgkit.io.pixels.decode_frames` only inside
    #: :func:`mibgkit.io.pixels.keep_stored_pixels`, else None.
    stored_pixels: Any

    def __init__(self, ds: Dataset) -> None:
        self._ds: Dataset | None = ds
        self._elements: Elements = ds._dict  # type: ignore[assignment]  # BaseTag keys are ints
        self._cache: dict[str, Any] = {}
        self._items: dict[str, list[HeaderValues]] = {}
        self._fast = _pydicom_defaults()
        self._origin: tuple[HeaderValues, int, int] | None = None
        self._path: str | None = None
        self._meta: Elements | None = None  # file meta elements of a file parsed by read_light
        self.stored_pixels = None

    @classmethod
    def _file(cls, elements: Elements, meta: Elements, path: str) -> HeaderValues:
        """A whole file parsed by :func:`read_light`; pydicom reads it only if ever needed."""
        self = cls.__new__(cls)
        self._ds = None
        self._elements = elements
        self._cache = {}
        self._items = {}
        self._fast = True
        self._origin = None
        self._path = path
        self._meta = meta
        self.stored_pixels = None
        return self

    @classmethod
    def _item(cls, elements: Elements, parent: HeaderValues, tag: int, index: int) -> HeaderValues:
        """A sequence item parsed here; its pydicom Dataset is made only if ever needed."""
        self = cls.__new__(cls)
        self._ds = None
        self._elements = elements
        self._cache = {}
        self._items = {}
        self._fast = parent._fast
        self._origin = (parent, tag, index)
        self._path = None
        self._meta = None
        self.stored_pixels = None
        return self

    @property
    def ds(self) -> Dataset:
        """The pydicom dataset (for a sequence item: pydicom's own parse of that item; for a
        file parsed by :func:`read_light`: pydicom's own parse of the file, read now)."""
        if self._ds is None:
            if self._origin is not None:
                parent, tag, index = self._origin
                self._ds = parent.ds[tag].value[index]  # pydicom parses the sequence, with its character set
            else:
                from mibgkit.io.headers import read_header  # the loader's own pydicom read

                assert self._path is not None
                self._ds = read_header(self._path)
        return self._ds

    @property
    def loaded_dataset(self) -> Dataset | None:
        """The pydicom dataset if one exists already (never reads the file)."""
        return self._ds

    def tags(self) -> list[int]:
        """Tags of the top-level elements in file order (no file meta), as ``Dataset.keys()``."""
        if self._meta is not None:
            return list(self._elements)
        return [int(t) for t in self.ds.keys()]

    def raw_element(self, tag: int) -> Any:
        """The element as stored (pydicom ``RawDataElement``/``DataElement``, or a ``(VR, bytes)``
        pair of a file or item parsed here); None when absent. Not decoded."""
        return self._elements.get(tag)

    def meta(self, keyword: str) -> str:
        """A File Meta Information value as text (e.g. ``TransferSyntaxUID``); '' when absent."""
        if self._meta is not None:
            tag = _tag(keyword)
            elem = self._meta.get(tag) if tag is not None else None
            if elem is None:
                return ""
            return elem[1].decode("latin-1").rstrip(" \x00")
        if self._origin is not None:
            return ""
        meta = getattr(self.ds, "file_meta", None)
        return str(meta.get(keyword, "")) if meta is not None else ""

    @property
    def transfer_syntax(self) -> str:
        """Transfer Syntax UID of the file ('' when unknown or for a sequence item)."""
        return self.meta("TransferSyntaxUID")

    def get(self, keyword: str, default: Any = None) -> Any:
        """Value of ``keyword``, ``default`` when the element is absent (as ``Dataset.get``)."""
        cache = self._cache
        if keyword in cache:
            value = cache[keyword]
        else:
            value = cache[keyword] = self._read(keyword)
        return default if value is _ABSENT else value

    def __contains__(self, keyword: str) -> bool:
        """Whether the element is present (its value is not decoded)."""
        tag = _tag(keyword)
        return tag is not None and tag in self._elements

    def items(self, keyword: str) -> list[HeaderValues]:
        """The items of sequence ``keyword`` (empty when absent, empty or not a sequence)."""
        found = self._items.get(keyword)
        if found is None:
            found = self._items[keyword] = self._read_items(keyword)
        return found

    def original(self, keyword: str, default: Any = None) -> Any:
        """pydicom's own value (``MultiValue``, ``DSfloat``...), for messages that quote it."""
        return self.ds.get(keyword, default)

    def _read(self, keyword: str) -> Any:
        tag = _tag(keyword)
        if tag is None:
            return _ABSENT
        elem = self._elements.get(tag)
        if elem is None:
            return _ABSENT
        if self._fast:
            if type(elem) is tuple:  # parsed here (sequence item)
                value = _decode(tag, elem[0], elem[1])
            elif is_raw_element(elem) and elem.is_little_endian:
                value = _decode(tag, elem.VR, elem.value)
            else:
                value = _SLOW
            if value is not _SLOW:
                return value
        try:
            return self.ds[tag].value
        except (NotImplementedError, ValueError, TypeError, KeyError) as exc:  # e.g. an unknown VR
            from mibgkit.errors import DicomReadError

            where = self._path or getattr(self._ds, "filename", None)
            raise DicomReadError(f"{keyword} cannot be decoded ({type(exc).__name__}: {exc})",
                                 where if isinstance(where, str) else None) from exc

    def _read_items(self, keyword: str) -> list[HeaderValues]:
        tag = _tag(keyword)
        elem = self._elements.get(tag) if tag is not None else None
        if elem is None:
            return []
        raw: tuple[str | None, bytes, bool] | None = None
        if not self._fast or tag is None:
            pass
        elif type(elem) is tuple:
            raw = (elem[0], elem[1], elem[0] is None)
        elif is_raw_element(elem) and elem.is_little_endian and elem.value is not None:
            raw = (elem.VR, elem.value, elem.is_implicit_VR)
        if raw is not None and tag is not None and (raw[0] or _dictionary_vr(tag)) == "SQ":
            parsed = _parse_items(raw[1], raw[2])
            if parsed is not None:
                return [HeaderValues._item(e, self, tag, i) for i, e in enumerate(parsed)]
        seq = self.get(keyword)
        if not seq:
            return []
        from pydicom.dataset import Dataset  # the value came from pydicom: it is imported

        return [HeaderValues(item) for item in seq if isinstance(item, Dataset)]


def as_values(ds: Dataset | HeaderValues) -> HeaderValues:
    """``ds`` itself when it is a :class:`HeaderValues`, else a new one over it."""
    return ds if isinstance(ds, HeaderValues) else HeaderValues(ds)


def strings(value: object) -> list[str]:
    """A string or multi-valued string element as a list of str (``[]`` when empty)."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable):
        return [str(v) for v in value]
    return [str(value)]


def floats(value: object, n: int) -> np.ndarray | None:
    """``value`` as a float64 array of exactly ``n`` finite numbers, else None."""
    if not isinstance(value, Iterable) or isinstance(value, str | bytes):
        return None
    try:
        v = [float(x) for x in value]
    except (TypeError, ValueError):
        return None
    if len(v) != n or not all(math.isfinite(x) for x in v):
        return None
    return np.array(v, dtype=np.float64)


# ------------------------------------------------------------ reading a file without pydicom
#: Transfer syntaxes :func:`read_light` parses -> implicit VR (all little endian, not deflated).
_LIGHT_SYNTAXES: Final = {
    "1.2.840.10008.1.2": True,  # Implicit VR Little Endian
    "1.2.840.10008.1.2.1": False,  # Explicit VR Little Endian
    "1.2.840.10008.1.2.5": False,  # RLE Lossless (encapsulated pixel data, explicit VR dataset)
}
#: Largest file :func:`read_light` reads whole (bigger files go to pydicom, which defers values).
LIGHT_MAX_BYTES: Final = 16 << 20
_ALL_VRS = frozenset(
    "AE AS AT CS DA DS DT FL FD IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV".split()
)
_ALL_VR_NAMES = {name.encode("ascii"): name for name in _ALL_VRS}
_PIXEL_DATA_TAG = 0x7FE00010
_EXPLICIT_SHORT = struct.Struct("<HH2sH")


class LightPixelData(NamedTuple):
    """The Pixel Data element of a file parsed by :func:`read_light`, with pydicom's
    ``RawDataElement`` fields and values (equal to the one pydicom keeps, as a tuple), the
    value already read; defined here so that reading it needs no pydicom."""

    tag: int
    VR: str | None
    length: int
    value: bytes | None
    value_tell: int
    is_implicit_VR: bool
    is_little_endian: bool
    is_raw: bool = True
    is_buffered: bool = False


def is_raw_element(elem: object) -> bool:
    """Whether ``elem`` is a raw (undecoded) element: a :class:`LightPixelData` or a pydicom
    ``RawDataElement`` (checked only when pydicom is imported)."""
    if type(elem) is LightPixelData:
        return True
    dataelem = sys.modules.get("pydicom.dataelem")
    return dataelem is not None and isinstance(elem, dataelem.RawDataElement)


def _undefined_end(buf: bytes, pos: int, implicit: bool, depth: int = 0) -> int | None:
    """End (after the Sequence Delimitation Item) of an undefined-length SQ or encapsulated
    Pixel Data value starting at ``pos``; None for anything malformed."""
    n = len(buf)
    if depth > 16:
        return None
    while pos + 8 <= n:
        group, element, length = _IMPLICIT_HEAD.unpack_from(buf, pos)
        tag = group << 16 | element
        pos += 8
        if tag == _SEQ_END:
            return pos if length == 0 else None
        if tag != _ITEM:
            return None
        if length != _UNDEFINED:
            pos += length
            continue
        while True:  # an undefined-length item: elements until the Item Delimitation Item
            found = _element(buf, pos, implicit)
            if found is None:
                return None
            tag, _vr, start, length = found
            if tag == _ITEM_END:
                pos = start
                break
            if length == _UNDEFINED:
                end = _undefined_end(buf, start, implicit, depth + 1)
                if end is None:
                    return None
                pos = end
            else:
                pos = start + length
    return None


def _element(buf: bytes, pos: int, implicit: bool) -> tuple[int, str | None, int, int] | None:
    """(tag, VR, value start, length) of the element header at ``pos``; None when malformed."""
    if pos + 8 > len(buf):
        return None
    if implicit:
        group, element, length = _IMPLICIT_HEAD.unpack_from(buf, pos)
        return group << 16 | element, None, pos + 8, length
    group, element, vr_bytes, length = _EXPLICIT_SHORT.unpack_from(buf, pos)
    tag = group << 16 | element
    if group == 0xFFFE:  # item and delimiter tags have no VR
        return tag, None, pos + 8, _LONG.unpack_from(buf, pos + 4)[0]
    vr = _ALL_VR_NAMES.get(vr_bytes)
    if vr is None:
        return None
    if vr in _LONG_LENGTH_VRS:
        if pos + 12 > len(buf):
            return None
        return tag, vr, pos + 12, _LONG.unpack_from(buf, pos + 8)[0]
    return tag, vr, pos + 8, length


def _parse_file(buf: bytes) -> tuple[Elements, Elements] | None:
    """(elements, file meta) of a Part 10 file in one of :data:`_LIGHT_SYNTAXES`, else None."""
    n = len(buf)
    if n < 132 or buf[128:132] != b"DICM":
        return None
    meta: Elements = {}
    pos = 132
    while pos + 8 <= n and buf[pos : pos + 2] == b"\x02\x00":
        found = _element(buf, pos, False)
        if found is None:
            return None
        tag, vr, start, length = found
        if vr is None or length == _UNDEFINED or start + length > n or tag in meta:
            return None
        meta[tag] = (vr, buf[start : start + length])
        pos = start + length
    syntax = meta.get(0x00020010)
    if syntax is None:
        return None
    implicit = _LIGHT_SYNTAXES.get(syntax[1].decode("latin-1").rstrip(" \x00"))
    if implicit is None:
        return None
    elements: Elements = {}
    last = -1
    while pos < n:
        found = _element(buf, pos, implicit)
        if found is None:
            return None
        tag, vr, start, length = found
        if tag <= last or tag >> 16 in (0x0002, 0xFFFE):
            return None  # out of order, repeated, meta or item tags: pydicom's call
        last = tag
        if length == _UNDEFINED:
            if tag != _PIXEL_DATA_TAG and (vr or _dictionary_vr(tag)) != "SQ":
                return None
            end = _undefined_end(buf, start, implicit)
            if end is None:
                return None
        else:
            end = start + length
            if end > n:
                return None
        if tag == _PIXEL_DATA_TAG:  # as pydicom keeps it (raw), with the value already read
            elements[tag] = LightPixelData(tag, vr, length, buf[start:end], start, implicit, True, True)
        else:
            elements[tag] = (vr, buf[start:end])
        pos = end
    return (elements, meta) if elements else None


def read_light(path: str) -> HeaderValues | None:
    """Parse a plain DICOM file without pydicom, or None to let pydicom read it.

    Handled: a Part 10 file (preamble and ``DICM``) of at most :data:`LIGHT_MAX_BYTES` in
    Implicit or Explicit VR Little Endian or RLE Lossless, whose elements are in
    ascending tag order with valid VRs, defined lengths (undefined only for sequences
    and encapsulated Pixel Data, whose ends are found) and no value running past the
    end of the file, with pydicom's default value conversion. Everything else (other
    transfer syntaxes, truncated or malformed files, files without a preamble) returns
    None and is read by pydicom as before. Values are then decoded by
    :class:`HeaderValues` exactly as for a pydicom-read file, and anything it leaves to
    pydicom (non-ASCII text, unusual values) makes pydicom read the file on first need.

    Parameters
    ----------
    path : str

    Returns
    -------
    HeaderValues or None
    """
    if not _pydicom_defaults():
        return None
    try:
        with open(path, "rb") as fh:
            if os.fstat(fh.fileno()).st_size > LIGHT_MAX_BYTES:
                return None
            buf = fh.read()
    except OSError:
        return None
    try:
        parsed = _parse_file(buf)
    except (struct.error, UnicodeDecodeError):
        return None
    if parsed is None:
        return None
    return HeaderValues._file(parsed[0], parsed[1], path)
