"""npe2 writers for the hot-spot Points layer: reading JSON and hot-spot CSV.

The widget keeps the :class:`~mibgkit.scoring.Reading` it edits in the layer's
metadata (``metadata["mibgkit_reading"]``); the JSON writer saves that reading
(``mibgkit.reading/1``), the CSV writer one row per point from the layer's features.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["READING_KEY", "write_reading_json", "write_hotspots_csv"]

READING_KEY = "mibgkit_reading"


def write_reading_json(path: str, data: Any, meta: dict[str, Any]) -> list[str]:
    """Save the reading attached to a hot-spot layer as ``mibgkit.reading/1`` JSON.

    Parameters
    ----------
    path : str
        Output file (``.json``).
    data : ndarray of shape (n, 2)
        Point positions (unused: the reading holds the stored positions).
    meta : dict
        Layer state; ``meta["metadata"]["mibgkit_reading"]`` is the reading.

    Returns
    -------
    list of str
        The file written.

    Raises
    ------
    ValueError
        When the layer carries no reading (not a mibgkit hot-spot layer).
    """
    reading = (meta.get("metadata") or {}).get(READING_KEY)
    if reading is None:
        raise ValueError(f"{path}: this Points layer has no mibgkit reading to save")
    return [str(reading.save(path))]


def write_hotspots_csv(path: str, data: Any, meta: dict[str, Any]) -> list[str]:
    """Write one CSV row per point: its features and its world position in mm.

    Parameters
    ----------
    path : str
        Output file (``.csv``).
    data : ndarray of shape (n, 2) or (n, 3)
        Point positions in world mm.
    meta : dict
        Layer state; ``meta["features"]`` holds id, segment, status, stored row/col, ...

    Returns
    -------
    list of str
        The file written.
    """
    points = np.asarray(data, dtype=float)
    points = points.reshape(len(points), -1) if points.size else np.empty((0, 2))
    table = pd.DataFrame(meta.get("features", {})).reset_index(drop=True)
    if len(table) != len(points):
        table = pd.DataFrame(index=range(len(points)))
    axes = ("world_z_mm", "world_y_mm", "world_x_mm")[-points.shape[1]:]
    for k, name in enumerate(axes):
        table[name] = np.round(points[:, k], 2)
    out = Path(path)
    table.to_csv(out, index=False)
    return [str(out)]
