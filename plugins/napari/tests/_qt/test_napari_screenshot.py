"""The rendered canvas shows the counts image and the status-coloured overlay."""

from __future__ import annotations

import numpy as np
from qtpy.QtCore import Qt

from napari_mibgkit._qt import SiopenReadingWidget
from napari_mibgkit._reader import study_layers
from napari_mibgkit._session import STATE_COLOURS


def _count(shot: np.ndarray, rgba: tuple[float, float, float, float], tol: int = 40) -> int:
    target = np.array(rgba[:3]) * 255
    return int((np.abs(shot[..., :3].astype(int) - target).max(axis=-1) < tol).sum())


def _saturated(shot: np.ndarray) -> int:
    rgb = shot[..., :3].astype(int)
    return int((rgb.max(axis=-1) - rgb.min(axis=-1) > 60).sum())


def test_canvas_shows_image_and_every_status_colour(make_napari_viewer, qtbot, small_study, small_reading):
    viewer = make_napari_viewer(show=True)
    study, maps = small_study
    for data, kwargs, _ in study_layers(study):
        viewer.add_image(data, **kwargs)
    widget = SiopenReadingWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.set_reading(small_reading, maps)
    canvas = viewer.window._qt_viewer.canvas.native
    qtbot.keyClick(canvas, Qt.Key.Key_K)  # h1 confirmed
    qtbot.keyClick(canvas, Qt.Key.Key_J)  # h2 rejected
    viewer.cursor.position = widget.layout_.to_world(0, 60.0, 16.0)
    qtbot.keyClick(canvas, Qt.Key.Key_H)  # reader's finding
    widget.show_segments.setChecked(False)
    viewer.reset_view()

    plain = viewer.screenshot(canvas_only=True, flash=False)
    grey = plain[..., :3].astype(int)
    assert grey.std() > 20  # not blank
    assert (np.ptp(grey, axis=-1) < 10).mean() > 0.8  # mostly the grey counts image
    for state, rgba in STATE_COLOURS.items():
        assert _count(plain, rgba) > 80, f"{state} points not visible"

    widget.show_segments.setChecked(True)
    with_map = viewer.screenshot(canvas_only=True, flash=False)
    assert _saturated(with_map) > _saturated(plain) + 2000  # the segment map overlay is drawn
