"""napari-mibgkit: read NM DICOM, score SIOPEN with a human in the loop, write readings.

The Qt widget lives in :mod:`napari_mibgkit._qt`; everything else (reader, layout,
session, writers, sample data) imports neither Qt nor napari.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
