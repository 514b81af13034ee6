"""Scripted reader session in napari: actions and compute wait from open to saved reading.

The study is the bundled phantom ``sample_dicom/oligo`` (5-year-old boy, three focal bone
lesions, one of them in the pelvis next to the hot bladder, plus a soft-tissue primary;
ground truth in its ``truth.json``). A scripted reader does what a physician would do
with the ``napari-mibgkit`` widget,
counting every action: each key press and each click (moving the mouse is not counted,
so "point at it and press H" is one action):

1. open the DICOM folder (File > Open, or ``napari -w napari-mibgkit FOLDER``),
2. click *Analyse*,
3. walk the proposals (most confident first; the widget moves on by itself): ``K`` for
   one within 20 mm of a true lesion, ``J`` for one that is not; once no true lesion is
   left among the waiting proposals, ``Shift-J`` rejects the rest in one action,
4. for each true lesion no proposal found: point at it and press ``H``,
5. save the reading.

The compute wait is the time the reader waits for the computer: the DICOM load and the
analysis worker. Run under a display (``xvfb-run -a``)::

    xvfb-run -a .venv/bin/python benchmarks/bench_reader_session.py \
        --markdown docs/benchmarks/napari.md --figure docs/figures/napari_window.png
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

GOAL_ACTIONS = 10
GOAL_WAIT_S = 3.0
MATCH_MM = 20.0


@dataclass
class Session:
    """What the scripted reader did."""

    strategy: str
    actions: list[str] = field(default_factory=list)
    load_s: float = 0.0
    analyse_s: float = 0.0
    decisions: dict[str, str] = field(default_factory=dict)
    n_waiting: int = 0
    reading: dict[str, Any] = field(default_factory=dict)

    @property
    def wait_s(self) -> float:
        """Load + analysis wall time."""
        return self.load_s + self.analyse_s


def load_truth(folder: Path) -> list[dict[str, Any]]:
    """True lesions of a phantom study (``truth.json``): segment, normalized ANT position."""
    truth = json.loads((folder / "truth.json").read_text())
    return [
        {"segment": les["segment"], "ant": tuple(les["positions"]["ANT"]), "visible": bool(les["visible"])}
        for les in truth["lesions"]
    ]


def headless_pipeline_s(folder: Path) -> float:
    """Wall time of load + map + detect + score without any GUI (reference)."""
    import mibgkit
    from mibgkit.pipeline import map_study, score_study

    t0 = time.perf_counter()
    study = mibgkit.load(folder)[0]
    score_study(study, map_study(study))
    return time.perf_counter() - t0


def run_session(
    folder: Path, truth: list[dict[str, Any]], strategy: str, reading_path: Path, figure: Path | None
) -> Session:
    """Drive napari and the widget like a reader; returns the counted session.

    ``strategy="walk"``: decide every proposal in the widget's order (K / J), then
    ``Shift-J`` once only false ones are left. ``strategy="targeted"``: click each
    proposal that is a true lesion and press K, then ``Shift-J`` for the rest.
    """
    import napari
    from qtpy.QtCore import Qt
    from qtpy.QtTest import QTest

    from napari_mibgkit._qt import SiopenReadingWidget
    from napari_mibgkit._qt._widget import HOTSPOT_LAYER

    s = Session(strategy)
    viewer = napari.Viewer()
    viewer.window._qt_window.resize(1500, 1000)
    widget = SiopenReadingWidget(viewer)
    viewer.window.add_dock_widget(widget, name="SIOPEN reading", area="right")
    canvas = viewer.window._qt_viewer.canvas.native
    QTest.qWait(200)

    t0 = time.perf_counter()
    viewer.open(str(folder), plugin="napari-mibgkit")
    s.load_s = time.perf_counter() - t0
    QTest.qWait(200)  # let napari draw and retire its "open" progress bar (not counted)
    s.actions.append("open folder")

    t0 = time.perf_counter()
    QTest.mouseClick(widget.analyse_button, Qt.MouseButton.LeftButton)
    s.actions.append("click Analyse")
    while widget.busy or widget.reading is None:
        QTest.qWait(10)  # a real event loop turn (also runs deferred deletes, as app.exec would)
    s.analyse_s = time.perf_counter() - t0
    session = widget.session
    assert session is not None
    s.n_waiting = len(session.proposals())

    ant_index = next(i for i, v in enumerate(session.layout.planar) if v.view == "ANT")
    ant = session.layout.planar[ant_index]
    spacing = np.array(ant.pixel_spacing_mm)
    found = [False] * len(truth)

    def near_truth(hid: str) -> int | None:
        for loc in session.reading.hotspot(hid).locations:
            if session.layout.find_view(loc) == ant_index:
                pos = np.array(ant.source.from_stored(loc.row, loc.col))
                for k, t in enumerate(truth):
                    if not found[k] and np.linalg.norm((pos - np.array(t["ant"])) * spacing) <= MATCH_MM:
                        return k
        return None

    def reject_rest() -> None:
        waiting = session.proposals()
        if waiting:
            s.decisions.update(dict.fromkeys(waiting, "reject"))
            QTest.keyClick(canvas, Qt.Key.Key_J, Qt.KeyboardModifier.ShiftModifier)
            s.actions.append(f"Shift-J (reject the {len(waiting)} remaining)")

    if strategy == "walk":
        while session.current is not None and session.current in session.proposals():
            if all(near_truth(h) is None for h in session.proposals()):
                break
            hid = session.current
            k = near_truth(hid)
            if k is not None:
                found[k] = True
            s.decisions[hid] = "accept" if k is not None else "reject"
            QTest.keyClick(canvas, Qt.Key.Key_K if k is not None else Qt.Key.Key_J)
            s.actions.append(f"{'K' if k is not None else 'J'} ({hid})")
    else:
        points = viewer.layers[HOTSPOT_LAYER]
        for hid in session.proposals():
            k = near_truth(hid)
            if k is None:
                continue
            found[k] = True
            points.selected_data = {int(np.flatnonzero(points.features["id"] == hid)[0])}  # a click
            s.actions.append(f"click {hid}")
            QTest.keyClick(canvas, Qt.Key.Key_K)
            s.decisions[hid] = "accept"
            s.actions.append("K")
    reject_rest()
    for k, t in enumerate(truth):
        if not found[k] and t["visible"]:
            row, col = t["ant"]
            viewer.cursor.position = session.layout.to_world(ant_index, row, col)
            QTest.keyClick(canvas, Qt.Key.Key_H)
            s.actions.append(f"point + H (missed {t['segment']})")

    widget.save_reading(reading_path)
    s.actions.append("save reading")
    s.reading = json.loads(reading_path.read_text())
    if figure is not None:
        viewer.reset_view()
        QTest.qWait(300)
        figure.parent.mkdir(parents=True, exist_ok=True)
        import imageio.v3 as iio

        iio.imwrite(figure, viewer.screenshot(canvas_only=False, flash=False))
    viewer.close()
    QTest.qWait(100)
    return s


def _grades(reading: dict[str, Any]) -> str:
    graded = [f"{k} {v['siopen']}" for k, v in reading["segments"].items() if v["siopen"]]
    return ", ".join(graded) or "none"


def markdown(sessions: list[Session], truth: list[dict[str, Any]], folder: Path, headless_s: float) -> str:
    """The results as a markdown section."""

    def met(ok: bool) -> str:
        return "yes" if ok else "**no**"

    lines = [
        "# napari reader session (benchmarks/bench_reader_session.py)",
        "",
        f"Study: `sample_dicom/{folder.name}` — phantom with {len(truth)} focal bone lesions "
        f"({', '.join(str(t['segment']) for t in truth)}; the pelvic one next to the bladder), "
        "NM multi-frame DICOM, ANT + POST whole body. A scripted "
        f"reader accepts a proposal within {MATCH_MM:.0f} mm of a true lesion, rejects the others "
        "(`Shift-J` once only false ones are left), adds missed lesions at the cursor (`H`), and saves. "
        "*walk*: every proposal in the widget's order (most confident first); *targeted*: click the "
        "true ones and press `K`, then `Shift-J`.",
        "",
        "| strategy | actions open → saved | ≤ 10 | compute wait (load + analysis) | ≤ 3 s "
        "| proposals waiting | SIOPEN saved / true |",
        "|---|---|---|---|---|---|---|",
    ]
    n_true = sum(1 for t in truth if t["visible"])
    for s in sessions:
        lines.append(
            f"| {s.strategy} | {len(s.actions)} | {met(len(s.actions) <= GOAL_ACTIONS)} "
            f"| {s.wait_s:.2f} s ({s.load_s:.2f} + {s.analyse_s:.2f}) | {met(s.wait_s <= GOAL_WAIT_S)} "
            f"| {s.n_waiting} | {s.reading['siopen_total']} / {n_true} |"
        )
    lines += [
        "",
        f"Same study without the GUI (load + map + detect + score): {headless_s:.2f} s; "
        f"load average during the run {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores. "
        f"The GUI runs took {min(s.wait_s for s in sessions) - headless_s:.1f} s or more longer (napari "
        "building and drawing the layers with software OpenGL; on this overloaded machine the worker "
        "also competes with the event loop, and repeated runs vary by several seconds). The headless "
        "time is the pipeline itself, so the 3 s goal is the pipeline's to meet first. The action count depends on the detector: each true lesion it finds costs "
        "one key (`K`, or a click + `K`), each one it misses one pointed `H`, and all false "
        "proposals together one `Shift-J`.",
        "",
    ]
    for s in sessions:
        lines += [
            f"*{s.strategy}* — saved grades: {_grades(s.reading)}. Actions: "
            + "; ".join(f"{i}. {a}" for i, a in enumerate(s.actions, 1)) + ".",
            "",
        ]
    lines += [
        "Machine: shared container under Xvfb with software OpenGL (llvmpipe). The compute wait "
        "is wall time: the DICOM load including napari building the layers, and the background "
        "analysis worker (segment mapping + detection + scoring) while the GUI stays live.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    """Run the session and print (and optionally write) the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", type=Path, default=Path(__file__).resolve().parents[1] / "sample_dicom" / "oligo")
    parser.add_argument("--markdown", type=Path, help="write the results here")
    parser.add_argument("--figure", type=Path, help="screenshot of the window at the end")
    args = parser.parse_args()
    folder, truth = args.study, load_truth(args.study)
    with tempfile.TemporaryDirectory(prefix="mibgkit_bench_") as tmp:
        sessions = [
            run_session(folder, truth, "walk", Path(tmp) / "walk.json", None),
            run_session(folder, truth, "targeted", Path(tmp) / "targeted.json", args.figure),
        ]
        headless = headless_pipeline_s(folder)
    text = markdown(sessions, truth, folder, headless)
    print(text)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
