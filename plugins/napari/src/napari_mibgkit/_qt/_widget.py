"""The "SIOPEN reading" dock widget: a thin view and editor over a mibgkit Reading.

The widget shows the study opened by the reader, runs segment mapping and detection in
a background ``thread_worker``, and then lets the reader confirm, reject, add and delete
hot spots with keys or buttons. Every edit goes through :class:`ReadingSession` to the
:class:`~mibgkit.scoring.Reading` methods; the table, totals and audit trail are always
redrawn from the reading, never computed here.

Keys (on the canvas): ``K`` accept, ``J`` reject, ``Shift-J`` reject all remaining
proposals, ``N`` / ``Shift-N`` next / previous proposal, ``H`` add a lesion at the
cursor, ``Delete`` delete the current finding, ``U`` undo.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from mibgkit.anatomy.model import StudySegmentMaps
from mibgkit.errors import MibgkitError
from mibgkit.io.model import Study
from mibgkit.scoring.reading import Reading
from qtpy.QtCore import Qt, QTimer
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from napari_mibgkit._layout import EMISSION, StudyLayout
from napari_mibgkit._qt._segment_table import NO_GRADE, SegmentTable
from napari_mibgkit._reader import STUDY_KEY
from napari_mibgkit._session import STATE_COLOURS, PointTable, ReadingSession, display_state
from napari_mibgkit._writer import READING_KEY

if TYPE_CHECKING:  # pragma: no cover
    import napari
    from napari.layers import Points

__all__ = ["SiopenReadingWidget", "KEYS", "HOTSPOT_LAYER", "TIMEPOINTS"]

HOTSPOT_LAYER = "hot spots"
SPECT_HOTSPOT_LAYER = "SPECT hot spots"
SEGMENT_PREFIX = "segments "
POINT_SIZE_MM = 22.0
CURRENT_SIZE_MM = 36.0
TIMEPOINTS = ("diagnosis", "post-induction", "pre-MAT", "post-MAT", "end of treatment", "relapse")

# action -> key on the napari canvas; chosen to clash with no built-in layer shortcut
KEYS: dict[str, str] = {
    "accept": "K",
    "reject": "J",
    "reject_rest": "Shift-J",
    "next": "N",
    "previous": "Shift-N",
    "add": "H",
    "delete": "Delete",
    "undo": "U",
}


_STEPS = ("mapping segments…", "detecting hot spots and scoring…")


def _analyse(study: Study) -> Generator[str, None, tuple[StudySegmentMaps, Reading] | str]:
    """Worker body: map the segments, then detect and score with those maps.

    The message of a :class:`~mibgkit.errors.MibgkitError` (e.g. a view the mapper
    cannot map) is returned, not raised, so the widget can say in one line what went
    wrong (a returned exception object would be re-raised by the worker).
    """
    from mibgkit.pipeline import map_study, score_study

    try:
        yield _STEPS[0]
        maps = map_study(study)  # mibgkit.map_segments, normalized to StudySegmentMaps
        yield _STEPS[1]
        return maps, score_study(study, maps)
    except MibgkitError as exc:
        return str(exc)


def _unmapped_text(study: Study | None, maps: StudySegmentMaps) -> str:
    """'not mapped: POST spot (no_match), SPECT (no_landmark)' for the reader, or ''."""
    items = []
    for i, u in sorted(maps.unmapped.items()):
        name = study.views[i].view if study is not None and i < len(study.views) else f"view {i}"
        items.append(f"{name} ({u.reason})")
    for i, u in sorted(maps.unmapped_volumes.items()):
        kind = study.volumes[i].modality if study is not None and i < len(study.volumes) else "?"
        items.append(f"{kind} volume {i} ({u.reason})")
    return "not mapped: " + ", ".join(items) if items else ""


class SiopenReadingWidget(QWidget):
    """Dock widget for reading one study with the SIOPEN method.

    Parameters
    ----------
    napari_viewer : napari.Viewer
        The viewer the study is shown in.
    """

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.study: Study | None = None
        self.layout_: StudyLayout | None = None
        self.session: ReadingSession | None = None
        self.worker: Any = None
        self._analysing: Study | None = None
        self._updating = False
        self._pending_removal: list[str] = []
        self._pending_moves: dict[str, tuple[float, float]] = {}
        self._move_timer = QTimer(self)
        self._move_timer.setSingleShot(True)
        self._move_timer.setInterval(250)
        self._move_timer.timeout.connect(self._apply_moves)
        self._build_ui()
        self._bind_keys()
        self.viewer.layers.events.inserted.connect(self._on_layer_inserted)
        self.pick_up_study()

    # ================================================================== UI
    def _build_ui(self) -> None:
        self.study_label = QLabel("no study: open a DICOM file or folder")
        self.study_label.setWordWrap(True)
        self.open_button = QPushButton("Open DICOM…")
        self.open_button.clicked.connect(self._open_dialog)
        self.analyse_button = QPushButton("Analyse (map + detect)")
        self.analyse_button.clicked.connect(self.start_analysis)
        self.analyse_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, len(_STEPS))
        self.progress.setVisible(False)
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)

        self.reader_edit = QLineEdit()
        self.reader_edit.setPlaceholderText("reader, e.g. Family^Given")
        self.reader_edit.editingFinished.connect(self._on_reader_changed)
        self.timepoint_box = QComboBox()
        self.timepoint_box.setEditable(True)
        self.timepoint_box.addItems(TIMEPOINTS)
        self.timepoint_box.currentTextChanged.connect(self._on_timepoint_changed)

        self.current_label = QLabel("no finding selected")
        self.current_label.setWordWrap(True)
        buttons = QGridLayout()
        self.action_buttons: dict[str, QPushButton] = {}
        titles = {
            "accept": "Accept", "reject": "Reject", "previous": "◀ Previous", "next": "Next ▶",
            "add": "Add at cursor", "delete": "Delete", "reject_rest": "Reject the rest", "undo": "Undo",
        }
        for n, (action, title) in enumerate(titles.items()):
            b = QPushButton(f"{title} [{KEYS[action]}]")
            b.clicked.connect(self._action(action))
            buttons.addWidget(b, n // 2, n % 2)
            self.action_buttons[action] = b

        self.show_segments = QCheckBox("segment map")
        self.show_segments.setChecked(True)
        self.show_segments.toggled.connect(self._on_segment_display)
        self.segment_opacity = QSlider(Qt.Orientation.Horizontal)
        self.segment_opacity.setRange(0, 100)
        self.segment_opacity.setValue(30)
        self.segment_opacity.valueChanged.connect(self._on_segment_display)
        seg_row = QHBoxLayout()
        seg_row.addWidget(self.show_segments)
        seg_row.addWidget(QLabel("opacity"))
        seg_row.addWidget(self.segment_opacity)

        self.table = SegmentTable()
        self.table.grade_changed.connect(self._on_grade_changed)
        self.totals_label = QLabel("SIOPEN – / 72    Curie – / 30")
        self.totals_label.setStyleSheet("font-size: 15px; font-weight: bold;")
        self.threshold_label = QLabel("")
        self.threshold_label.setWordWrap(True)
        self.audit_list = QListWidget()
        self.audit_list.setMaximumHeight(90)

        files = QGridLayout()
        self.file_buttons: dict[str, QPushButton] = {}
        for n, (name, title, slot) in enumerate(
            [
                ("save", "Save reading…", self._save_dialog),
                ("load", "Load reading…", self._load_dialog),
                ("report", "Export report…", self._report_dialog),
                ("sr", "Export DICOM SR…", self._sr_dialog),
            ]
        ):
            b = QPushButton(title)
            b.clicked.connect(slot)
            files.addWidget(b, n // 2, n % 2)
            self.file_buttons[name] = b

        study_box = QGroupBox("Study")
        sl = QVBoxLayout(study_box)
        sl.addWidget(self.study_label)
        row = QHBoxLayout()
        row.addWidget(self.open_button)
        row.addWidget(self.analyse_button)
        sl.addLayout(row)
        sl.addWidget(self.progress)
        sl.addWidget(self.status_label)
        form = QFormLayout()
        form.addRow("reader", self.reader_edit)
        form.addRow("time point", self.timepoint_box)
        sl.addLayout(form)

        find_box = QGroupBox("Findings")
        fl = QVBoxLayout(find_box)
        fl.addWidget(self.current_label)
        fl.addLayout(buttons)
        fl.addLayout(seg_row)

        score_box = QGroupBox("SIOPEN score")
        scl = QVBoxLayout(score_box)
        scl.addWidget(self.table)
        scl.addWidget(self.totals_label)
        scl.addWidget(self.threshold_label)
        scl.addWidget(QLabel("audit trail"))
        scl.addWidget(self.audit_list)
        scl.addLayout(files)

        inner = QWidget()
        column = QVBoxLayout(inner)
        column.addWidget(study_box)
        column.addWidget(find_box)
        column.addWidget(score_box)
        column.addStretch(1)
        scroll = QScrollArea()  # a short screen scrolls the panel instead of squashing the table
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(inner)
        lines = self.fontMetrics().lineSpacing()
        for label in (self.status_label, self.current_label):
            label.setMinimumHeight(3 * lines + 4)  # wrapped text: keep room for three lines
        inner.setMinimumHeight(inner.sizeHint().height())  # scroll rather than squash
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.setMinimumWidth(380)
        self._enable_reading_controls(False)

    def _enable_reading_controls(self, on: bool) -> None:
        for b in self.action_buttons.values():
            b.setEnabled(on)
        self.table.setEnabled(on)
        self.file_buttons["save"].setEnabled(on)
        self.file_buttons["report"].setEnabled(on)
        self.file_buttons["sr"].setEnabled(on)
        self.file_buttons["load"].setEnabled(self.study is not None)

    def _action(self, action: str) -> Callable[[], None]:
        handlers = {
            "accept": self.accept, "reject": self.reject, "reject_rest": self.reject_remaining,
            "next": self.next_proposal,
            "previous": self.previous_proposal, "add": self.add_at_cursor,
            "delete": self.delete_current, "undo": self.undo,
        }
        return lambda *_: handlers[action]()

    def _bind_keys(self) -> None:
        self._previous_keys: dict[str, Any] = {}
        for action, key in KEYS.items():
            handler = self._action(action)
            self._previous_keys[key] = self.viewer.bind_key(key, lambda _viewer, h=handler: h(), overwrite=True)

    def closeEvent(self, event: Any) -> None:
        """Unbind the keys and stop a running worker when the widget closes."""
        self.release()
        super().closeEvent(event)

    def release(self) -> None:
        """Disconnect from the viewer: unbind keys, stop the worker."""
        for key, previous in self._previous_keys.items():
            self.viewer.bind_key(key, previous, overwrite=True)  # None unbinds
        self._previous_keys = {}
        if self.worker is not None:
            self.worker.quit()
        try:
            self.viewer.layers.events.inserted.disconnect(self._on_layer_inserted)
        except (TypeError, ValueError, RuntimeError):
            pass

    # ================================================================ study
    def _on_layer_inserted(self, event: Any) -> None:
        study = event.value.metadata.get(STUDY_KEY)
        if study is not None and study is not self.study:
            self.set_study(study)

    def pick_up_study(self) -> None:
        """Use the study of the first mibgkit image layer already in the viewer."""
        for layer in self.viewer.layers:
            study = layer.metadata.get(STUDY_KEY)
            if study is not None:
                self.set_study(study)
                return

    def set_study(self, study: Study) -> None:
        """Show a study (layers added by the reader) and forget any previous reading."""
        self.study = study
        self.layout_ = StudyLayout(study)
        self.session = None
        self._remove_overlays()
        for layer in self.viewer.layers:  # another study's images would sit at the same place
            other = layer.metadata.get(STUDY_KEY)
            if other is not None and other is not study:
                layer.visible = False
        info = study.info
        views = ", ".join(v.view for v in self.layout_.planar) or "no planar view"
        extra = "".join(f", {v.modality}" for v in study.volumes)
        age = f", {info.patient_age_years:.1f} y" if info.patient_age_years is not None else ""
        self.study_label.setText(f"{info.study_instance_uid[-24:]}{age} — {views}{extra}")
        self.analyse_button.setEnabled(True)
        self.status_label.setText("press Analyse to map segments and propose hot spots")
        self._enable_reading_controls(False)
        self._show_scores()

    def _open_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open DICOM folder")
        if path:
            self.viewer.open(path, plugin="napari-mibgkit")

    # ============================================================= analysis
    def start_analysis(self) -> None:
        """Run segment mapping and detection in a background thread."""
        from napari.qt.threading import thread_worker

        if self.study is None or self.worker is not None:
            return
        self.analyse_button.setEnabled(False)
        self.progress.setValue(0)
        self.progress.setVisible(True)  # step-wise, not an animated busy bar (no repaint storm)
        self.status_label.setText("starting…")
        self._t0 = _dt.datetime.now()
        self._analysing = self.study
        worker = thread_worker(_analyse, start_thread=False)(self.study)
        worker.yielded.connect(self._on_step)
        worker.returned.connect(self._on_analysed)
        worker.errored.connect(self._on_analysis_error)
        worker.finished.connect(self._on_worker_finished)
        self.worker = worker
        worker.start()

    def _on_step(self, message: str) -> None:
        self.status_label.setText(message)
        self.progress.setValue(_STEPS.index(message) if message in _STEPS else 0)

    def _on_analysed(self, result: tuple[StudySegmentMaps, Reading] | str) -> None:
        if isinstance(result, str):
            self.status_label.setText(f"analysis failed: {result}")
            return
        if self._analysing is not self.study:
            self.status_label.setText("analysis discarded: another study was opened meanwhile")
            return
        maps, reading = result
        seconds = (_dt.datetime.now() - self._t0).total_seconds()
        self.set_reading(reading, maps)
        text = f"analysed in {seconds:.1f} s: {len(reading.hotspots)} findings proposed"
        missing = _unmapped_text(self.study, maps)
        self.status_label.setText(f"{text}; {missing}" if missing else text)

    def _on_analysis_error(self, exc: BaseException) -> None:
        self.status_label.setText(f"analysis failed: {exc}")

    def _on_worker_finished(self) -> None:
        self.worker = None
        self.progress.setVisible(False)
        self.analyse_button.setEnabled(self.study is not None)

    @property
    def busy(self) -> bool:
        """True while the analysis worker runs."""
        return self.worker is not None

    # ============================================================== reading
    def set_reading(self, reading: Reading, maps: StudySegmentMaps | None = None) -> None:
        """Edit ``reading`` (of the current study): draw its segments and hot spots.

        Parameters
        ----------
        reading : Reading
            The reading to edit (from the pipeline or a file).
        maps : StudySegmentMaps, optional
            Segment maps of the study; keep the ones shown when None.
        """
        if self.study is None or self.layout_ is None:
            raise RuntimeError("open a study before setting a reading")
        if maps is None and self.session is not None:
            maps = self.session.maps
        self.session = ReadingSession(self.study, reading, maps, self.layout_)
        if self.reader_edit.text().strip():
            reading.reader = self.reader_edit.text().strip()
        elif reading.reader:
            self.reader_edit.setText(reading.reader)
        tp = reading.study.get("timepoint")
        if tp:
            self.timepoint_box.setCurrentText(str(tp))
        else:
            reading.study["timepoint"] = self.timepoint_box.currentText()
        self._draw_segments()
        self._enable_reading_controls(True)
        self.session.step(+1)
        self.refresh()
        self._focus_current()
        self.status_label.setText(
            "keys on the image: K accept · J reject · Shift-J reject the rest · "
            "N / Shift-N next / previous · H add at cursor · Delete · U undo"
        )

    @property
    def reading(self) -> Reading | None:
        """The reading being edited, if any."""
        return self.session.reading if self.session else None

    def _on_reader_changed(self) -> None:
        if self.reading is not None:
            self.reading.reader = self.reader_edit.text().strip() or None

    def _on_timepoint_changed(self, text: str) -> None:
        if self.reading is not None:
            self.reading.study["timepoint"] = text

    def _on_grade_changed(self, key: str, value: int) -> None:
        if self.reading is None:
            return
        assert self.session is not None
        self.session.set_grade(key, None if value == NO_GRADE else value)
        self.refresh()

    # ================================================================ layers
    def _remove_overlays(self) -> None:
        for layer in list(self.viewer.layers):
            if layer.name in (HOTSPOT_LAYER, SPECT_HOTSPOT_LAYER) or layer.name.startswith(SEGMENT_PREFIX):
                self.viewer.layers.remove(layer)

    def _draw_segments(self) -> None:
        assert self.session is not None and self.layout_ is not None
        for layer in [x for x in self.viewer.layers if x.name.startswith(SEGMENT_PREFIX)]:
            self.viewer.layers.remove(layer)
        opacity = self.segment_opacity.value() / 100
        visible = self.show_segments.isChecked()
        for i, (view, place) in enumerate(zip(self.layout_.planar, self.layout_.placements)):
            smap = self.session.segment_map(i)
            if smap is None:
                continue
            self.viewer.add_labels(
                smap.labels, name=f"{SEGMENT_PREFIX}{view.view}" + (f" {i}" if i > 1 else ""),
                scale=place.scale, translate=place.translate, opacity=opacity, visible=visible,
            )
        for n, (vi, vmap) in enumerate(sorted(self.session.maps.volumes.items())):
            place = self.layout_.volume_placements[vi]
            self.viewer.add_labels(
                vmap.labels, name=f"{SEGMENT_PREFIX}SPECT" + (f" {n + 1}" if n else ""),
                scale=place.scale, translate=place.translate, opacity=opacity, visible=visible,
            )

    def _on_segment_display(self, *_: Any) -> None:
        for layer in self.viewer.layers:
            if layer.name.startswith(SEGMENT_PREFIX):
                layer.visible = self.show_segments.isChecked()
                layer.opacity = self.segment_opacity.value() / 100

    def _points_layer(self, name: str, ndim: int) -> Points:
        if name in self.viewer.layers:
            return self.viewer.layers[name]
        layer = self.viewer.add_points(
            np.empty((0, ndim)), ndim=ndim, name=name, size=POINT_SIZE_MM, symbol="disc",
            border_color="black", border_width=0.08, face_color="transparent",
        )
        if name == HOTSPOT_LAYER:
            layer.events.data.connect(self._on_points_edited)
            layer.selected_data.events.items_changed.connect(self._on_points_selected)
        return layer

    def _fill(self, layer: Points, table: PointTable) -> None:
        current = self.session.current if self.session else None
        layer.data = table.data
        layer.features = table.features
        layer.face_color = table.colours if len(table.data) else "transparent"
        if len(table.data):
            layer.symbol = table.symbols
        sizes = np.where(table.features["id"] == current, CURRENT_SIZE_MM, POINT_SIZE_MM)
        layer.size = sizes if len(sizes) else POINT_SIZE_MM
        layer.selected_data = set(np.flatnonzero(table.features["id"].to_numpy() == current).tolist())

    def refresh(self) -> None:
        """Redraw points, table, totals, audit trail and current finding from the reading."""
        if self.session is None:
            self._show_scores()
            return
        self._updating = True
        try:
            layer = self._points_layer(HOTSPOT_LAYER, 2)
            self._fill(layer, self.session.planar_points())
            layer.metadata[READING_KEY] = self.session.reading
            emission = [i for i, v in enumerate(self.session.study.volumes) if v.modality in EMISSION]
            for n, vi in enumerate(emission):
                name = SPECT_HOTSPOT_LAYER + (f" {n + 1}" if n else "")
                self._fill(self._points_layer(name, 3), self.session.spect_points(vi))
        finally:
            self._updating = False
        self._show_scores()
        self._show_current()

    def _show_scores(self) -> None:
        reading = self.reading
        if reading is None:
            self.totals_label.setText("SIOPEN – / 72    Curie – / 30")
            self.threshold_label.setText("")
            self.audit_list.clear()
            return
        self.table.show_reading(reading)
        self.totals_label.setText(f"SIOPEN {reading.siopen_total} / 72    Curie {reading.curie_total} / 30")
        limit = reading.rules.siopen_good_threshold
        if reading.good_prognosis:
            text, colour = f"SIOPEN ≤ {limit}: good-prognosis group after induction", "#2e7d32"
        else:
            text, colour = f"SIOPEN > {limit}: above the ≤ {limit} threshold", "#c62828"
        self.threshold_label.setText(text)
        self.threshold_label.setStyleSheet(f"color: white; background: {colour}; padding: 3px;")
        self.audit_list.clear()
        for entry in reading.audit:
            self.audit_list.addItem(_audit_text(entry))
        self.audit_list.scrollToBottom()

    def _show_current(self) -> None:
        assert self.session is not None
        left = len(self.session.proposals())
        hid = self.session.current
        if hid is None:
            self.current_label.setText(f"no finding selected — {left} proposals left")
            return
        h = self.session.reading.hotspot(hid)
        match = self.session.spect_match(hid)
        spect = " · on SPECT" if match else ""
        where = h.segment or h.category
        self.current_label.setText(
            f"<b>{h.id}</b> {where} · {h.pattern} · confidence {h.confidence:.2f} · "
            f"<span style='color: rgb{_rgb(h)}'>{h.status}</span> ({h.source}){spect}"
            f" — {left} proposals left"
        )

    def _focus_current(self) -> None:
        """Centre the view on the current finding, and its SPECT match on the slider."""
        if self.session is None or self.session.current is None:
            return
        pos = self.session.focus(self.session.current)
        if pos is not None:
            center = list(self.viewer.camera.center)
            center[-2:] = pos
            self.viewer.camera.center = tuple(center)
        match = self.session.spect_match(self.session.current)
        if match is not None and self.viewer.dims.ndim >= 3:
            _vi, (z, _y, _x) = match
            self.viewer.dims.set_point(self.viewer.dims.ndim - 3, z)

    # ========================================================= point events
    def _ids_at(self, indices: Any) -> list[str]:
        layer = self.viewer.layers[HOTSPOT_LAYER]
        ids = layer.features["id"].to_numpy()
        return [str(ids[i]) for i in indices if -len(ids) <= i < len(ids)]

    def _on_points_edited(self, event: Any) -> None:
        """Turn edits made directly on the points layer into reading edits."""
        if self._updating or self.session is None:
            return
        action = str(getattr(event, "action", ""))
        layer = self.viewer.layers[HOTSPOT_LAYER]
        if action.endswith("REMOVING") or action == "removing":
            self._pending_removal = self._ids_at(event.data_indices)
        elif action.endswith("REMOVED") or action == "removed":
            for hid in dict.fromkeys(self._pending_removal):
                self.session.delete(hid)
            self._pending_removal = []
            QTimer.singleShot(0, self.refresh)
        elif action.endswith("ADDED") or action == "added":
            for i in event.data_indices:
                y, x = layer.data[i][-2:]
                self.session.add_at(float(y), float(x))
            QTimer.singleShot(0, self.refresh)
        elif action.endswith("CHANGED") or action == "changed":
            ids = self._ids_at(event.data_indices)
            for i, hid in zip(event.data_indices, ids):
                y, x = layer.data[i][-2:]
                self._pending_moves[hid] = (float(y), float(x))
            self._move_timer.start()

    def _apply_moves(self) -> None:
        if self.session is None:
            return
        for hid, (y, x) in self._pending_moves.items():
            self.session.move_to(hid, y, x)
        self._pending_moves = {}
        self.refresh()

    def _on_points_selected(self, *_: Any) -> None:
        if self._updating or self.session is None:
            return
        layer = self.viewer.layers[HOTSPOT_LAYER]
        ids = self._ids_at(sorted(layer.selected_data))
        if ids and ids[0] != self.session.current:
            self.session.current = ids[0]
            self._show_current()
            self._focus_spect_only()

    def _focus_spect_only(self) -> None:
        assert self.session is not None and self.session.current is not None
        match = self.session.spect_match(self.session.current)
        if match is not None and self.viewer.dims.ndim >= 3:
            self.viewer.dims.set_point(self.viewer.dims.ndim - 3, match[1][0])

    # ================================================================ actions
    def _edit(self, fn: Callable[[ReadingSession], Any], focus: bool = True) -> None:
        if self.session is None:
            return
        try:
            fn(self.session)
        except LookupError as exc:
            self.status_label.setText(str(exc).strip("'\""))
            return
        self.refresh()
        if focus:
            self._focus_current()

    def accept(self) -> None:
        """Confirm the current finding and go to the next proposal."""
        self._edit(lambda s: s.accept())

    def reject(self) -> None:
        """Reject the current finding and go to the next proposal."""
        self._edit(lambda s: s.reject())

    def reject_remaining(self) -> None:
        """Reject every proposal still waiting (after accepting what is real)."""

        def reject_all(s: ReadingSession) -> None:
            n = s.reject_remaining()
            self.status_label.setText(f"rejected the {n} remaining proposals (U undoes)")

        self._edit(reject_all, focus=False)

    def next_proposal(self) -> None:
        """Centre on the next proposal waiting for a decision."""
        self._edit(lambda s: s.step(+1))

    def previous_proposal(self) -> None:
        """Centre on the previous proposal waiting for a decision."""
        self._edit(lambda s: s.step(-1))

    def add_at_cursor(self) -> None:
        """Add a reader's lesion where the mouse cursor is (segment from the map)."""
        pos = tuple(self.viewer.cursor.position)[-2:]

        def add(s: ReadingSession) -> None:
            h = s.add_at(float(pos[0]), float(pos[1]))
            if h is None:
                raise LookupError("the cursor is not on a planar view")
            if h.segment is None:
                self.status_label.setText(f"{h.id}: outside the segment map — set its segment or delete it")

        self._edit(add, focus=False)

    def delete_current(self) -> None:
        """Delete the current reader's finding (an automatic proposal is rejected)."""
        self._edit(lambda s: s.delete())

    def undo(self) -> None:
        """Undo the last edit of the reading."""
        self._edit(lambda s: s.undo(), focus=False)

    # ================================================================== files
    def save_reading(self, path: str | Path) -> Path:
        """Write the reading as ``mibgkit.reading/1`` JSON."""
        if self.reading is None:
            raise RuntimeError("there is no reading to save")
        self._on_reader_changed()
        out = self.reading.save(path)
        self.status_label.setText(f"saved {out}")
        return out

    def load_reading(self, path: str | Path) -> None:
        """Load a reading file of the current study and edit it."""
        reading = Reading.load(path)
        uid = reading.study.get("study_instance_uid")
        if self.study is not None and uid and uid != self.study.info.study_instance_uid:
            self.status_label.setText(f"warning: {Path(path).name} is for study {uid}")
        self.set_reading(reading)

    def export_report(self, path: str | Path) -> Path:
        """Write the report figure with :func:`mibgkit.report.render_report` (PNG or PDF)."""
        from mibgkit.report import render_report

        if self.session is None:
            raise RuntimeError("there is no reading to report")
        out = render_report(self.session.reading, self.session.study, self.session.maps, path)
        self.status_label.setText(f"report written to {out}")
        return out

    def export_sr(self, path: str | Path) -> Path:
        """Write the reading as a DICOM Comprehensive SR (:func:`mibgkit.export.write_sr`).

        Hot-spot positions are SCOORD points on the source frames, so the study's
        DICOM files must still be where they were read from.
        """
        from mibgkit.export import study_sources, write_sr

        if self.session is None:
            raise RuntimeError("there is no reading to export")
        self._on_reader_changed()
        out = write_sr(self.session.reading, study_sources(self.session.study), path)
        self.status_label.setText(f"DICOM SR written to {out}")
        return out

    def _save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save reading", "reading.json", "reading (*.json)")
        if path:
            self.save_reading(path)

    def _load_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load reading", "", "reading (*.json)")
        if path:
            self.load_reading(path)

    def _report_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export report", "report.png", "figure (*.png *.pdf)")
        if path:
            self.export_report(path)

    def _sr_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export DICOM SR", "reading_sr.dcm", "DICOM (*.dcm)")
        if path:
            self.export_sr(path)


def _rgb(h: Any) -> tuple[int, int, int]:
    r, g, b, _a = STATE_COLOURS[display_state(h)]
    return int(r * 255), int(g * 255), int(b * 255)


def _audit_text(entry: dict[str, Any]) -> str:
    """One line of the audit trail: time, action, what changed."""
    time = str(entry.get("time", ""))[11:19]
    what = " ".join(str(entry[k]) for k in ("hotspot", "segment") if entry.get(k))
    change = f"{entry['old']} → {entry['new']}" if "old" in entry or "new" in entry else ""
    who = f" ({entry['reader']})" if entry.get("reader") else ""
    return " ".join(x for x in (time, str(entry.get("action", "")), what, change) if x) + who


