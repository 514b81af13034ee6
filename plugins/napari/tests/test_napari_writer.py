"""npe2 writers: reading JSON and hot-spot CSV from a Points layer's state."""

from __future__ import annotations

import pandas as pd
import pytest
from mibgkit.scoring.reading import Reading
from napari.layers import Points

from napari_mibgkit._session import ReadingSession
from napari_mibgkit._writer import READING_KEY, write_hotspots_csv, write_reading_json


@pytest.fixture
def hotspot_layer(small_study, small_reading) -> Points:
    study, maps = small_study
    session = ReadingSession(study, small_reading, maps)
    session.step(+1)
    session.reject("h1")
    table = session.planar_points()
    return Points(table.data, features=table.features, metadata={READING_KEY: small_reading})


def test_reading_json_round_trip(tmp_path, hotspot_layer):
    data, meta, _ = hotspot_layer.as_layer_data_tuple()
    [out] = write_reading_json(str(tmp_path / "r.json"), data, meta)
    back = Reading.load(out)
    assert back.hotspot("h1").status == "rejected"
    assert back.siopen_total == meta["metadata"][READING_KEY].siopen_total


def test_reading_json_refuses_a_plain_points_layer(tmp_path):
    data, meta, _ = Points([[1.0, 2.0]]).as_layer_data_tuple()
    with pytest.raises(ValueError, match="no mibgkit reading"):
        write_reading_json(str(tmp_path / "r.json"), data, meta)


def test_hotspot_csv_has_features_and_positions(tmp_path, hotspot_layer):
    data, meta, _ = hotspot_layer.as_layer_data_tuple()
    [out] = write_hotspots_csv(str(tmp_path / "h.csv"), data, meta)
    table = pd.read_csv(out)
    assert len(table) == 8
    assert {"id", "segment", "status", "stored_row", "stored_col", "world_y_mm", "world_x_mm"} <= set(table.columns)
    assert set(table.loc[table["id"] == "h1", "status"]) == {"rejected"}
    post = table[(table["id"] == "h2") & (table["view"] == "POST")].iloc[0]
    assert post["stored_col"] == 96 - 1 - 49
    empty = Points(ndim=2)
    [out2] = write_hotspots_csv(str(tmp_path / "e.csv"), *empty.as_layer_data_tuple()[:2])
    assert (tmp_path / "e.csv").read_text().strip() != ""
    assert out2.endswith("e.csv")
