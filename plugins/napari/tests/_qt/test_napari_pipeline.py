"""End to end: sample study -> reader -> background analysis -> keys -> saved reading."""

from __future__ import annotations

import json

import pydicom
from qtpy.QtCore import Qt, QTimer

from napari_mibgkit._qt import SiopenReadingWidget
from napari_mibgkit._qt._widget import HOTSPOT_LAYER


def test_sample_study_read_end_to_end(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    widget = SiopenReadingWidget(viewer)
    viewer.window.add_dock_widget(widget)
    viewer.open_sample("napari-mibgkit", "oligo")
    assert widget.study is not None  # picked up from the reader's layers
    assert [layer.name for layer in viewer.layers] == ["ANT", "POST"]

    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(widget.busy))
    timer.start(20)
    qtbot.mouseClick(widget.analyse_button, Qt.MouseButton.LeftButton)
    assert widget.busy and not widget.analyse_button.isEnabled()
    qtbot.waitUntil(lambda: widget.reading is not None and not widget.busy, timeout=180_000)
    timer.stop()
    assert sum(ticks) > 5  # the event loop kept turning while the worker ran
    assert widget.progress.isHidden()

    names = [layer.name for layer in viewer.layers]
    assert {"segments ANT", "segments POST", HOTSPOT_LAYER} <= set(names)
    reading = widget.reading
    waiting = widget.session.proposals()
    assert waiting and widget.session.current == waiting[0]
    canvas = viewer.window._qt_viewer.canvas.native
    qtbot.keyClick(canvas, Qt.Key.Key_K)
    qtbot.keyClick(canvas, Qt.Key.Key_J, Qt.KeyboardModifier.ShiftModifier)
    assert widget.session.proposals() == []
    status = {h.id: h.status for h in reading.hotspots}
    assert status[waiting[0]] == "confirmed"
    assert all(status[h] == "rejected" for h in waiting[1:])

    widget.reader_edit.setText("Pipeline^Test")
    out = widget.save_reading(tmp_path / "reading.json")
    saved = json.loads(out.read_text())
    assert saved["reader"] == "Pipeline^Test"
    assert saved["siopen_total"] == sum(s["siopen"] for s in saved["segments"].values())
    assert saved["siopen_total"] == reading.siopen_total
    assert f"SIOPEN {reading.siopen_total} / 72" in widget.totals_label.text()

    png = widget.export_report(tmp_path / "report.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    sr = pydicom.dcmread(widget.export_sr(tmp_path / "reading_sr.dcm"))
    assert sr.Modality == "SR"


def test_a_study_the_mapper_refuses_is_reported_not_raised(make_napari_viewer, qtbot, small_study):
    viewer = make_napari_viewer()
    study, _ = small_study
    for view in study.views:
        view.image[:] = 0.0  # nothing to map: no body in the field of view
    widget = SiopenReadingWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.set_study(study)
    widget.start_analysis()
    qtbot.waitUntil(lambda: not widget.busy, timeout=60_000)
    assert widget.reading is None
    assert widget.status_label.text().startswith("analysis failed:")
    assert widget.analyse_button.isEnabled()


def test_views_the_mapper_cannot_map_are_named_to_the_reader(make_napari_viewer, qtbot, sample_dicom):
    """sample_dicom/spect without its POST whole-body view: the ANT spots and the SPECT/CT are placed
    through the ANT whole-body view; the POST spots (partial views, nothing to place them on) are named
    to the reader with the reason while the rest of the study is analysed."""
    import dataclasses

    import mibgkit

    full = mibgkit.load(sample_dicom / "spect")[0]
    keep = [v for v in full.views if not (v.kind == "whole_body" and v.view == "POST")]
    study = dataclasses.replace(full, views=keep)
    viewer = make_napari_viewer()
    widget = SiopenReadingWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.set_study(study)
    widget.start_analysis()
    qtbot.waitUntil(lambda: not widget.busy, timeout=180_000)
    assert widget.reading is not None, widget.status_label.text()
    maps = widget.session.maps
    post_spots = {i for i, v in enumerate(study.views) if v.view == "POST"}
    assert set(maps.unmapped) == post_spots and len(post_spots) == 2
    assert len(maps.views) == len(study.views) - 2 and len(maps.volumes) == len(study.volumes)
    text = widget.status_label.text()
    assert text.count("POST (no_landmark)") == 2 and "not mapped:" in text
