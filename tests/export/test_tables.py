"""Hot spot and segment tables, CSV and Parquet, read back."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mibgkit.export import hotspots_table, segments_table, write_tables
from mibgkit.scoring.reading import Reading
from mibgkit.segments import SIOPEN_KEYS


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_tables_round_trip(tmp_path: Path, siemens_reading: Reading, fmt: str) -> None:
    empty = Reading(study={"study_instance_uid": "y", "patient_id": "k2"})
    paths = write_tables([siemens_reading, empty], tmp_path, fmt=fmt)
    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    hot = read(paths["hotspots"])
    seg = read(paths["segments"])

    # h1 has two locations, h2, h3 (rejected, kept with its status) and h4 one each, h5 none
    assert len(hot) == 6
    assert list(hot["hotspot_id"]) == ["h1", "h1", "h2", "h3", "h4", "h5"]
    assert list(hot["status"]) == ["confirmed", "confirmed", "proposed", "rejected", "confirmed", "confirmed"]
    assert list(hot["counts_for_score"]) == [True, True, True, False, True, False]
    assert pd.isna(hot.loc[5, "sop_instance_uid"]) and hot.loc[5, "category"] == "soft_tissue"
    assert hot.loc[2, "row"] == pytest.approx(100.5) and hot.loc[2, "col"] == pytest.approx(63.25)
    assert list(hot["frame"][:5]) == [1, 2, 1, 1, 1]

    assert len(seg) == 24
    first = seg[seg["study_instance_uid"] == "x"]
    assert list(first["segment"]) == list(SIOPEN_KEYS)
    assert int(first["siopen"].sum()) == siemens_reading.siopen_total
    assert first.set_index("segment").loc["thoracic_cage", "grade_source"] == "reader"
    assert set(seg[seg["study_instance_uid"] == "y"]["siopen_total"]) == {0}


def test_empty_hotspot_table_keeps_columns() -> None:
    df = hotspots_table([Reading()])
    assert df.empty and "sop_instance_uid" in df.columns
    assert len(segments_table([Reading()])) == 12


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="csv"):
        write_tables([], tmp_path, fmt="xlsx")
