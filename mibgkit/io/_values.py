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
import re
import struct
from collections.abc import Iterable
from functools import cache
from typing import Any, Final

import numpy as np
from pydicom import config as _config
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import RawDataElement, empty_value_for_VR
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag

__all__ = ["HeaderValues", "as_values", "floats", "strings"]

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
        vr = dictionary_VR(tag)
    except KeyError:
        return None
    return vr if len(vr) == 2 else None


def _pydicom_defaults() -> bool:
    """True when pydicom converts values the default way (the fast path mirrors only that)."""
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
        return empty_value_for_VR(vr) if vr in _DECODED_VRS else _SLOW
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
        return _one_or_list([BaseTag(words[i] << 16 | words[i + 1]) for i in range(0, 2 * n, 2)])
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
    ``Dataset`` objects; None for layouts left to pydicom (undefined-length elements)."""
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
        if length == _UNDEFINED or start + length > end:
            return None
        elements[tag] = (vr, buf[start : start + length])
        pos = start + length
    return (elements, pos) if stop is not None else None


class HeaderValues:
    """Read-only, cached element values of one dataset, looked up by keyword.

    Values are what pydicom gives (``ds.get(keyword)``), with plain Python types for
    the fast cases: ``int``/``float``/``str``, and a ``list`` where pydicom gives a
    ``MultiValue``. Reading never changes the dataset except through pydicom's own
    conversion of the values it decodes.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        The dataset; its raw elements are decoded on first access.
    """

    __slots__ = ("_ds", "_elements", "_cache", "_items", "_fast", "_origin")

    def __init__(self, ds: Dataset) -> None:
        self._ds: Dataset | None = ds
        self._elements: Elements = ds._dict  # type: ignore[assignment]  # BaseTag keys are ints
        self._cache: dict[str, Any] = {}
        self._items: dict[str, list[HeaderValues]] = {}
        self._fast = _pydicom_defaults()
        self._origin: tuple[HeaderValues, int, int] | None = None

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
        return self

    @property
    def ds(self) -> Dataset:
        """The pydicom dataset (for a sequence item: pydicom's own parse of that item)."""
        if self._ds is None:
            assert self._origin is not None
            parent, tag, index = self._origin
            self._ds = parent.ds[tag].value[index]  # pydicom parses the sequence, with its character set
        return self._ds

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
            elif isinstance(elem, RawDataElement) and elem.is_little_endian:
                value = _decode(tag, elem.VR, elem.value)
            else:
                value = _SLOW
            if value is not _SLOW:
                return value
        return self.ds[tag].value

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
        elif isinstance(elem, RawDataElement) and elem.is_little_endian and elem.value is not None:
            raw = (elem.VR, elem.value, elem.is_implicit_VR)
        if raw is not None and tag is not None and (raw[0] or _dictionary_vr(tag)) == "SQ":
            parsed = _parse_items(raw[1], raw[2])
            if parsed is not None:
                return [HeaderValues._item(e, self, tag, i) for i, e in enumerate(parsed)]
        seq = self.get(keyword)
        return [HeaderValues(item) for item in seq if isinstance(item, Dataset)] if seq else []


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
