"""The 12-segment table: automatic grade, reader grade (editable 0-6), foci, diffuse."""

from __future__ import annotations

from mibgkit.scoring.reading import Reading
from mibgkit.segments import SIOPEN_KEYS
from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import QAbstractItemView, QHeaderView, QSpinBox, QTableWidget, QTableWidgetItem, QWidget

__all__ = ["SegmentTable", "NO_GRADE"]

NO_GRADE = -1  # spin-box value meaning "no reader grade: the automatic one applies"
_COLUMNS = ("segment", "auto", "reader", "foci", "diffuse %")
_ROW_PX = 24
_WIDTHS = {1: 42, 2: 96, 3: 40, 4: 70}  # auto, reader (spin box), foci, diffuse %
# Short row titles that fit a dock; the full key is the tooltip.
SHORT_NAMES = {
    "skull": "skull",
    "thoracic_cage": "thoracic cage",
    "spine": "spine",
    "pelvis": "pelvis",
    "right_upper_limb_proximal": "R humerus",
    "right_upper_limb_distal": "R forearm",
    "left_upper_limb_proximal": "L humerus",
    "left_upper_limb_distal": "L forearm",
    "right_lower_limb_proximal": "R femur",
    "right_lower_limb_distal": "R leg, foot",
    "left_lower_limb_proximal": "L femur",
    "left_lower_limb_distal": "L leg, foot",
}


class SegmentTable(QTableWidget):
    """One row per SIOPEN segment; the reader column edits the reading's grade.

    Signals
    -------
    grade_changed(str, int)
        Segment key and the new reader grade (``NO_GRADE`` to clear it).
    """

    grade_changed = Signal(str, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(len(SIOPEN_KEYS), len(_COLUMNS), parent)
        self.setHorizontalHeaderLabels(list(_COLUMNS))
        rows_header, header = self.verticalHeader(), self.horizontalHeader()
        assert rows_header is not None and header is not None
        rows_header.setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col, width in _WIDTHS.items():
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Fixed)
            self.setColumnWidth(col, width)
        rows_header.setDefaultSectionSize(_ROW_PX)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMinimumHeight(_ROW_PX * len(SIOPEN_KEYS) + header.sizeHint().height() + 4)
        self.setMinimumWidth(110 + sum(_WIDTHS.values()))
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.spin_boxes: dict[str, QSpinBox] = {}
        for row, key in enumerate(SIOPEN_KEYS):
            title = QTableWidgetItem(SHORT_NAMES.get(key, key.replace("_", " ")))
            title.setToolTip(key)
            self.setItem(row, 0, title)
            spin = QSpinBox()
            spin.setRange(NO_GRADE, 6)
            spin.setSpecialValueText("–")
            spin.setToolTip("reader grade 0-6; '–' keeps the automatic grade")
            spin.valueChanged.connect(lambda value, k=key: self.grade_changed.emit(k, int(value)))
            self.spin_boxes[key] = spin
            self.setCellWidget(row, 2, spin)
            for col in (1, 3, 4):
                self.setItem(row, col, QTableWidgetItem(""))

    def show_reading(self, reading: Reading) -> None:
        """Fill every row from the reading's segment scores (without emitting edits)."""
        for row, key in enumerate(SIOPEN_KEYS):
            s = reading.segments[key]
            self._cell(row, 1).setText(str(s.auto_siopen))
            self._cell(row, 3).setText(str(s.n_foci))
            self._cell(row, 4).setText(f"{100 * s.diffuse_fraction:.0f}")
            spin = self.spin_boxes[key]
            spin.blockSignals(True)
            spin.setValue(int(s.siopen) if s.source == "reader" else NO_GRADE)
            spin.blockSignals(False)

    def auto_grades(self) -> dict[str, int]:
        """The automatic grade shown in each row (for tests and screenshots)."""
        return {key: int(self._cell(row, 1).text() or 0) for row, key in enumerate(SIOPEN_KEYS)}

    def _cell(self, row: int, col: int) -> QTableWidgetItem:
        item = self.item(row, col)
        assert item is not None  # every cell is filled in __init__
        return item
