"""Only napari_mibgkit._qt may import Qt; the rest is plain Python over mibgkit."""

from __future__ import annotations

import subprocess
import sys


def test_non_qt_modules_import_neither_qt_nor_napari():
    code = (
        "import sys, napari_mibgkit, napari_mibgkit._layout, napari_mibgkit._reader,"
        " napari_mibgkit._session, napari_mibgkit._writer, napari_mibgkit._sample_data;"
        "bad = [m for m in sys.modules if m.split('.')[0] in"
        " ('napari', 'qtpy', 'PyQt5', 'PyQt6', 'PySide2', 'PySide6', 'vispy', 'superqt')];"
        "print(','.join(sorted(bad)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
