"""The SIOPEN reading widget in a real napari viewer (pytest-qt, Xvfb)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from qtpy.QtCore import Qt

from napari_mibgkit._qt import KEYS, SiopenReadingWidget
from napari_mibgkit._qt._widget import HOTSPOT_LAYER
from napari_mibgkit._reader import study_layers
from napari_mibgkit._session import STATE_COLOURS

QT_KEYS = {"K": Qt.Key.Key_K, "J": Qt.Key.Key_J, "N": Qt.Key.Key_N, "H": Qt.Key.Key_H, "U": Qt.Key.Key_U}


@pytest.fixture
def reading_widget(make_napari_viewer, small_study, small_reading):
    """A viewer showing the small study, with the widget docked and the reading set."""
    viewer = make_napari_viewer()
    study, maps = small_study
    for data, kwargs, _kind in study_layers(study):
        viewer.add_image(data, **kwargs)
    widget = SiopenReadingWidget(viewer)
    viewer.window.add_dock_widget(widget, name="SIOPEN reading")
    assert widget.study is study  # picked up from the layers' metadata
    widget.set_reading(small_reading, maps)
    return viewer, widget


def press(qtbot, viewer, key: str, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    """A key press on the napari canvas, as the reader would do it."""
    qtbot.keyClick(viewer.window._qt_viewer.canvas.native, QT_KEYS[key], modifier)


def test_layers_and_colours_after_set_reading(reading_widget):
    viewer, widget = reading_widget
    names = [layer.name for layer in viewer.layers]
    assert names == ["ANT", "POST", "segments ANT", "segments POST", HOTSPOT_LAYER]
    points = viewer.layers[HOTSPOT_LAYER]
    assert len(points.data) == 8
    assert set(points.features.columns) >= {"segment", "pattern", "confidence", "status", "source"}
    np.testing.assert_allclose(points.face_color, np.tile(STATE_COLOURS["proposed"], (8, 1)))
    assert viewer.layers["segments ANT"].scale.tolist() == [4.0, 4.0]
    assert widget.session.current == "h1"
    assert tuple(viewer.camera.center[-2:]) == pytest.approx(widget.session.focus("h1"))


def test_keys_accept_reject_add_and_scores(reading_widget, qtbot):
    viewer, widget = reading_widget
    press(qtbot, viewer, "K")  # h1 skull confirmed -> h2
    press(qtbot, viewer, "K")  # h2 spine confirmed -> h3
    press(qtbot, viewer, "K")  # h3 femur confirmed -> h4 (bladder, least confident)
    assert widget.session.current == "h4"
    press(qtbot, viewer, "J")  # h4 rejected
    status = {h.id: h.status for h in widget.reading.hotspots}
    assert status == {"h1": "confirmed", "h2": "confirmed", "h3": "confirmed", "h4": "rejected"}
    assert widget.reading.siopen_total == 3
    assert "SIOPEN 3 / 72" in widget.totals_label.text()
    assert "≤ 3" in widget.threshold_label.text()
    # add a lesion at the cursor on the ANT humerus: segment from the map, shown on POST too
    viewer.cursor.position = widget.layout_.to_world(0, 60.0, 16.0)
    press(qtbot, viewer, "H")
    added = widget.reading.hotspots[-1]
    assert (added.segment, added.source, added.status) == ("right_upper_limb_proximal", "reader", "confirmed")
    assert sorted(loc.view for loc in added.locations) == ["ANT", "POST"]
    assert widget.reading.siopen_total == 4
    assert "> 3" in widget.threshold_label.text()
    assert widget.table.item(4, 1).text() == "1"  # right humerus row, automatic grade
    points = viewer.layers[HOTSPOT_LAYER]
    cyan = points.features["id"] == added.id
    np.testing.assert_allclose(points.face_color[cyan.to_numpy()], np.tile(STATE_COLOURS["added"], (2, 1)))
    press(qtbot, viewer, "U")  # undo the addition
    assert widget.reading.siopen_total == 3
    assert widget.audit_list.count() == len(widget.reading.audit) == 5
    assert widget.audit_list.item(4).text().split()[1] == "undo"


def test_shift_j_rejects_the_rest_and_u_restores(reading_widget, qtbot):
    viewer, widget = reading_widget
    press(qtbot, viewer, "K")
    press(qtbot, viewer, "J", Qt.KeyboardModifier.ShiftModifier)
    assert [h.status for h in widget.reading.hotspots] == ["confirmed"] + ["rejected"] * 3
    assert "SIOPEN 1 / 72" in widget.totals_label.text()
    press(qtbot, viewer, "U")
    assert [h.status for h in widget.reading.hotspots] == ["confirmed"] + ["proposed"] * 3


def test_next_previous_centre_the_view(reading_widget, qtbot):
    viewer, widget = reading_widget
    press(qtbot, viewer, "N")
    assert widget.session.current == "h2"
    assert tuple(viewer.camera.center[-2:]) == pytest.approx(widget.session.focus("h2"))
    press(qtbot, viewer, "N", Qt.KeyboardModifier.ShiftModifier)
    assert widget.session.current == "h1"
    selected = viewer.layers[HOTSPOT_LAYER].features.iloc[sorted(viewer.layers[HOTSPOT_LAYER].selected_data)]
    assert set(selected["id"]) == {"h1"}


def test_delete_on_points_layer_goes_through_the_reading(reading_widget, qtbot):
    viewer, widget = reading_widget
    points = viewer.layers[HOTSPOT_LAYER]
    viewer.layers.selection.active = points
    points.selected_data = {0}
    removed = points.features["id"].iloc[0]
    points.remove_selected()  # what the Delete key does on a Points layer
    assert widget.reading.hotspot(removed).status == "rejected"  # automatic: rejected, kept
    qtbot.waitUntil(lambda: len(points.data) == 8)  # redrawn from the reading
    points.add(np.array(widget.layout_.to_world(1, 20.0, 40.0)))  # add mode on POST skull
    qtbot.waitUntil(lambda: len(points.data) == 10)
    new = widget.reading.hotspots[-1]
    assert new.segment == "skull" and new.source == "reader"


def test_reader_grade_overrides_and_undo(reading_widget, qtbot):
    viewer, widget = reading_widget
    widget.table.spin_boxes["pelvis"].setValue(5)
    assert widget.reading.segments["pelvis"].siopen == 5
    assert widget.reading.segments["pelvis"].source == "reader"
    assert widget.reading.siopen_total == 5 + 3  # h1..h3 proposed count, h4 in pelvis overridden
    press(qtbot, viewer, "U")
    assert widget.reading.segments["pelvis"].source == "auto"
    assert widget.table.spin_boxes["pelvis"].value() == -1


def test_save_and_load_reading(reading_widget, qtbot, tmp_path, make_napari_viewer, small_study):
    viewer, widget = reading_widget
    widget.reader_edit.setText("Dr Test")
    widget.reader_edit.editingFinished.emit()
    widget.timepoint_box.setCurrentText("post-induction")
    press(qtbot, viewer, "K")
    press(qtbot, viewer, "J")
    out = widget.save_reading(tmp_path / "reading.json")
    saved = json.loads(out.read_text())
    assert saved["schema"] == "mibgkit.reading/1"
    assert saved["reader"] == "Dr Test"
    assert saved["study"]["timepoint"] == "post-induction"
    assert [h["status"] for h in saved["hotspots"]] == ["confirmed", "rejected", "proposed", "proposed"]
    assert saved["siopen_total"] == widget.reading.siopen_total
    post = next(loc for loc in saved["hotspots"][0]["locations"] if loc["view"] == "POST")
    assert post["col"] == pytest.approx(96 - 1 - 48)  # stored (mirrored) POST column
    # a second viewer opens the saved file and shows the same state
    viewer2 = make_napari_viewer()
    for data, kwargs, _ in study_layers(small_study[0]):
        viewer2.add_image(data, **kwargs)
    widget2 = SiopenReadingWidget(viewer2)
    viewer2.window.add_dock_widget(widget2)
    widget2.load_reading(out)
    assert widget2.reader_edit.text() == "Dr Test"
    assert widget2.reading.siopen_total == saved["siopen_total"]
    shown = viewer2.layers[HOTSPOT_LAYER].features.groupby("id")["status"].first().to_dict()
    assert shown == {"h1": "confirmed", "h2": "rejected", "h3": "proposed", "h4": "proposed"}


def test_release_unbinds_keys(reading_widget, qtbot):
    viewer, widget = reading_widget
    assert len(viewer.keymap) >= len(KEYS)
    widget.release()
    press(qtbot, viewer, "K")
    assert all(h.status == "proposed" for h in widget.reading.hotspots)


def test_spect_layers_and_matching_finding(make_napari_viewer, spect_study, spect_reading):
    viewer = make_napari_viewer()
    study, maps = spect_study
    for data, kwargs, _ in study_layers(study):
        viewer.add_image(data, **kwargs)
    widget = SiopenReadingWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.set_reading(spect_reading, maps)
    assert viewer.layers["SPECT"].data.ndim == 3
    assert viewer.layers["SPECT"].scale.tolist() == [4.0, 4.0, 4.0]
    assert viewer.layers["segments SPECT"].data.max() > 0
    assert len(viewer.layers["SPECT hot spots"].data) == 1
    # selecting the planar spine hot spot moves the SPECT slider to its slice
    points = viewer.layers[HOTSPOT_LAYER]
    viewer.dims.set_point(0, 0.0)
    points.selected_data = {int(np.flatnonzero(points.features["id"] == "h2")[0])}
    assert widget.session.current == "h2"
    assert viewer.dims.point[0] == pytest.approx(25 * 4.0)
    assert "on SPECT" in widget.current_label.text()


def test_opening_another_study_resets_the_widget(reading_widget):
    from synthetic_study import make_study

    viewer, widget = reading_widget
    other, _ = make_study()
    for data, kwargs, _ in study_layers(other):
        kwargs["name"] = "next " + kwargs["name"]
        viewer.add_image(data, **kwargs)
    assert widget.study is other
    assert widget.reading is None
    assert HOTSPOT_LAYER not in viewer.layers and "segments ANT" not in viewer.layers
    assert not viewer.layers["ANT"].visible and viewer.layers["next ANT"].visible
    assert not widget.action_buttons["accept"].isEnabled()
