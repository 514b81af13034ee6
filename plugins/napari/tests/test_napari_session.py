"""ReadingSession: navigation, colours and edits through the Reading (no GUI)."""

from __future__ import annotations

import pytest
from synthetic_study import COLS

from napari_mibgkit._session import STATE_COLOURS, ReadingSession


@pytest.fixture
def session(small_study, small_reading):
    study, maps = small_study
    return ReadingSession(study, small_reading, maps)


def test_points_one_per_view_location_with_features_and_colours(session):
    table = session.planar_points()
    assert table.data.shape == (8, 2)
    assert set(table.features["view"]) == {"ANT", "POST"}
    assert set(table.features["state"]) == {"proposed"}
    assert (table.colours == STATE_COLOURS["proposed"]).all()
    # the same hot spot sits at the same row on both views, one view-width apart
    h1 = table.data[table.features["id"] == "h1"]
    assert h1[0, 0] == pytest.approx(h1[1, 0])
    assert h1[1, 1] - h1[0, 1] == pytest.approx(session.layout.placements[1].translate[1])


def test_proposals_walk_most_confident_first_and_wrap(session):
    assert session.proposals() == ["h1", "h2", "h3", "h4"]  # h4 (bladder) has confidence 0.5
    assert [session.step(+1) for _ in range(5)] == ["h1", "h2", "h3", "h4", "h1"]
    assert session.step(-1) == "h4"


def test_accept_and_reject_score_and_advance(session):
    session.step(+1)
    assert session.accept() == "h2"
    assert session.accept() == "h3"
    assert session.accept() == "h4"
    assert session.reject() is None  # nothing left to decide
    r = session.reading
    assert {h.id: h.status for h in r.hotspots} == {
        "h1": "confirmed", "h2": "confirmed", "h3": "confirmed", "h4": "rejected",
    }
    assert r.siopen_total == 3
    assert r.segments["pelvis"].siopen == 0
    colours = session.planar_points()
    rejected = colours.colours[colours.features["id"] == "h4"]
    assert (rejected == STATE_COLOURS["rejected"]).all()


def test_add_at_assigns_segment_and_mirrors_on_post(session):
    y, x = session.layout.to_world(0, 60.0, 16.0)  # right humerus on ANT
    h = session.add_at(y, x)
    assert h is not None and h.segment == "right_upper_limb_proximal"
    assert h.source == "reader" and h.status == "confirmed"
    ant, post = sorted(h.locations, key=lambda loc: loc.view)
    assert (ant.row, ant.col) == (60.0, 16.0)
    assert (post.row, post.col) == (60.0, float(COLS - 1 - 16))  # stored POST is mirrored
    assert session.reading.segments["right_upper_limb_proximal"].siopen == 1
    states = session.planar_points().features.set_index(["id", "view"])["state"]
    assert states[(h.id, "POST")] == "added"
    assert session.add_at(-100.0, 0.0) is None


def test_delete_undo_and_move(session):
    y, x = session.layout.to_world(1, 60.0, 16.0)  # added on POST this time
    h = session.add_at(y, x)
    assert h is not None
    total = session.reading.siopen_total
    session.delete(h.id)
    assert session.reading.siopen_total == total - 1
    assert session.current is None
    assert session.undo()
    assert session.reading.hotspot(h.id).segment == "right_upper_limb_proximal"
    session.delete("h1")  # automatic proposal: rejected, not removed
    assert session.reading.hotspot("h1").status == "rejected"
    y, x = session.layout.to_world(0, 20.0, 40.0)
    assert session.move_to("h2", y, x)
    moved = session.reading.hotspot("h2")
    assert moved.segment == "skull"
    assert [loc.view for loc in moved.locations] == ["ANT", "POST"]
    assert (moved.locations[0].row, moved.locations[0].col) == (20.0, 40.0)
    assert moved.locations[1].row == 100.0  # POST keeps its own position
    assert [a["action"] for a in session.reading.audit] == ["add", "undo", "set_status", "move"]


def test_spect_points_and_match(spect_study, spect_reading):
    study, maps = spect_study
    s = ReadingSession(study, spect_reading, maps)
    table = s.spect_points(0)
    assert table.data.shape == (1, 3)
    assert list(table.features["id"]) == ["h2"]
    z, y, x = table.data[0]
    assert (z, y) == (25 * 4.0, 16 * 4.0)
    assert x == 17 * 4.0 + s.layout.volume_placements[0].translate[2]
    match = s.spect_match("h2")
    assert match is not None and match[0] == 0 and match[1] == tuple(table.data[0])
    assert s.spect_match("h1") is None
    assert s.planar_points().data.shape == (8, 2)  # the SPECT location is not drawn on planar views


def test_explained_physiology_is_shown_but_not_walked(session):
    from mibgkit.detect.model import Hotspot

    liver = session.reading.hotspot("h1").locations
    session.reading.hotspots.append(Hotspot("h9", None, category="liver", locations=list(liver)))
    session.reading.recompute()
    assert "h9" not in session.proposals()
    table = session.planar_points()
    assert set(table.symbols[table.features["id"] == "h9"]) == {"ring"}
    assert set(table.symbols[table.features["id"] == "h1"]) == {"disc"}


def test_reject_remaining_is_one_undoable_action(session):
    session.step(+1)
    session.accept()  # h1
    assert session.reject_remaining() == 3
    assert {h.id: h.status for h in session.reading.hotspots} == {
        "h1": "confirmed", "h2": "rejected", "h3": "rejected", "h4": "rejected",
    }
    assert session.reading.siopen_total == 1
    assert session.undo()  # the three rejections at once
    assert [h.status for h in session.reading.hotspots] == ["confirmed", "proposed", "proposed", "proposed"]
    assert session.undo()  # then the confirmation
    assert all(h.status == "proposed" for h in session.reading.hotspots)
    assert session.reject_remaining() == 4 and session.reject_remaining() == 0
