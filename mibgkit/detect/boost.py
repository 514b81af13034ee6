"""Gradient-boosted trees evaluated with numpy: the candidate confidence model.

The model is fitted offline with scikit-learn (``benchmarks/bench_detect.py --tune``,
tuning seeds < 500 only) and stored as plain arrays in a JSON data file
(``mibgkit/data/detect_confidence.json``), so scikit-learn is not needed at run time.
Each tree is a set of parallel arrays (``feature``, ``threshold``, ``left``, ``right``,
``value``); a leaf has ``feature == -1``. A sample goes left when
``x[feature] <= threshold`` (``input_dtype`` float32: features rounded to float32 first, as
scikit-learn's classic trees do; float64 for its histogram boosting). The
probability is the logistic of ``init + learning_rate * sum(leaf values)``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

__all__ = ["BoostedTrees", "load_model", "MODEL_FILE", "MODEL_SCHEMA"]

MODEL_FILE = "data/detect_confidence.json"
MODEL_SCHEMA = "mibgkit.detect-confidence/1"


@dataclass(frozen=True)
class BoostedTrees:
    """A binary gradient-boosted tree ensemble.

    Parameters
    ----------
    features : tuple of str
        Feature names, in column order of the input.
    init : float
        Initial log-odds.
    learning_rate : float
        Shrinkage applied to every tree's leaf values.
    feature, left, right : ndarray of int32, shape (trees, nodes)
        Split feature (-1 at leaves) and child indices per node (padded trees).
    threshold, value : ndarray of float64, shape (trees, nodes)
        Split thresholds and leaf values.
    depth : int
        Largest tree depth (number of descent steps).
    info : dict
        Provenance (seeds, sizes, scores) stored with the model.
    """

    features: tuple[str, ...]
    init: float
    learning_rate: float
    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    depth: int
    info: dict[str, Any]
    input_float32: bool = True

    def decision(self, x: np.ndarray) -> np.ndarray:
        """Log-odds of each row of ``x`` (n, features)."""
        x = np.asarray(x, dtype=np.float32 if self.input_float32 else np.float64).astype(np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.features):
            raise ValueError(f"expected (n, {len(self.features)}) features, got {x.shape}")
        n, t = x.shape[0], self.feature.shape[0]
        node = np.zeros((t, n), dtype=np.int64)
        trees = np.arange(t)[:, None]
        for _ in range(self.depth):
            f = self.feature[trees, node]
            leaf = f < 0
            xv = x[np.arange(n)[None, :], np.where(leaf, 0, f)]
            go_left = xv <= self.threshold[trees, node]
            nxt = np.where(go_left, self.left[trees, node], self.right[trees, node])
            node = np.where(leaf, node, nxt)
        return self.init + self.learning_rate * self.value[trees, node].sum(axis=0)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Probability of the positive class for each row of ``x``."""
        return 1.0 / (1.0 + np.exp(-np.clip(self.decision(x), -40.0, 40.0)))

    def to_json(self) -> dict[str, Any]:
        """Plain dictionary (the data file's content)."""
        trees = []
        for i in range(self.feature.shape[0]):
            m = self._n_nodes(i)
            trees.append({
                "feature": self.feature[i, :m].tolist(), "threshold": [float(v) for v in self.threshold[i, :m]],
                "left": self.left[i, :m].tolist(), "right": self.right[i, :m].tolist(),
                "value": [float(v) for v in self.value[i, :m]],
            })
        return {"schema": MODEL_SCHEMA, "features": list(self.features), "init": self.init,
                "learning_rate": self.learning_rate, "input_dtype": "float32" if self.input_float32 else "float64",
                "trees": trees, "info": self.info}

    def _n_nodes(self, i: int) -> int:
        used = np.concatenate([[0], self.left[i][self.feature[i] >= 0], self.right[i][self.feature[i] >= 0]])
        return int(used.max()) + 1

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "BoostedTrees":
        """Inverse of :meth:`to_json`."""
        if d.get("schema") != MODEL_SCHEMA:
            raise ValueError(f"not a {MODEL_SCHEMA} model: {d.get('schema')!r}")
        trees = d["trees"]
        m = max(len(t["feature"]) for t in trees)
        t = len(trees)
        feat = np.full((t, m), -1, dtype=np.int64)
        thr = np.zeros((t, m))
        left = np.zeros((t, m), dtype=np.int64)
        right = np.zeros((t, m), dtype=np.int64)
        val = np.zeros((t, m))
        for i, tr in enumerate(trees):
            k = len(tr["feature"])
            feat[i, :k] = tr["feature"]
            thr[i, :k] = tr["threshold"]
            left[i, :k] = tr["left"]
            right[i, :k] = tr["right"]
            val[i, :k] = tr["value"]
        # leaves point to themselves so extra descent steps are no-ops
        idx = np.broadcast_to(np.arange(m), (t, m))
        left = np.where(feat < 0, idx, left)
        right = np.where(feat < 0, idx, right)
        depth = _max_depth(feat, left, right)
        return cls(tuple(d["features"]), float(d["init"]), float(d["learning_rate"]), feat,
                   thr, left, right, val, depth, dict(d.get("info", {})), d.get("input_dtype", "float32") == "float32")


def _max_depth(feat: np.ndarray, left: np.ndarray, right: np.ndarray) -> int:
    depth = 0
    for i in range(feat.shape[0]):
        stack = [(0, 0)]
        while stack:
            node, dd = stack.pop()
            if feat[i, node] < 0:
                depth = max(depth, dd)
            else:
                stack += [(int(left[i, node]), dd + 1), (int(right[i, node]), dd + 1)]
    return depth


@lru_cache(maxsize=4)
def load_model(name: str = MODEL_FILE) -> BoostedTrees:
    """The packaged confidence model (cached).

    Parameters
    ----------
    name : str
        Resource path inside the ``mibgkit`` package.

    Returns
    -------
    BoostedTrees
    """
    text = resources.files("mibgkit").joinpath(name).read_text()
    return BoostedTrees.from_json(json.loads(text))
