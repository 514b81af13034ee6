"""Qt parts of the plugin: the "SIOPEN reading" dock widget."""

from napari_mibgkit._qt._segment_table import SegmentTable
from napari_mibgkit._qt._widget import KEYS, SiopenReadingWidget

__all__ = ["KEYS", "SegmentTable", "SiopenReadingWidget"]
