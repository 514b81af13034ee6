"""The same job in one process, in a local process pool and on a real Dask cluster
gives byte-identical outputs; a killed run leaves no half file and resumes."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import SimpleITK as sitk
from convert_data import BACKGROUND, JASZACK, NM1, make_tree, tree_digest

from mibgkit.convert import convert_tree

KEY = b"parallel-test-key"
N_STUDIES = 6


def _content(root: Path) -> dict[str, str]:
    return {k: v.split("@")[0] for k, v in tree_digest(root).items()}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("parallel")
    src = base / "in"
    make_tree(src, N_STUDIES, sources=(NM1, BACKGROUND, JASZACK))
    out = base / "serial"
    report = convert_tree(src, out, key=KEY)
    assert report.count("converted") == 3 * N_STUDIES
    return src, out


def test_process_pool_matches_serial(tree: tuple[Path, Path], tmp_path: Path) -> None:
    src, serial = tree
    report = convert_tree(src, tmp_path / "pool", workers=2, key=KEY)
    assert report.count("converted") == 3 * N_STUDIES
    assert _content(tmp_path / "pool") == _content(serial)


def test_dask_local_cluster_matches_serial(tree: tuple[Path, Path], tmp_path: Path) -> None:
    from distributed import LocalCluster

    src, serial = tree
    before = tree_digest(src)
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://")
        report = convert_tree(src, tmp_path / "dask", scheduler=address, key=KEY)
        assert len(cluster.workers) == 2
    assert report.count("converted") == 3 * N_STUDIES
    assert _content(tmp_path / "dask") == _content(serial)
    assert tree_digest(src) == before


_KILLABLE = """
import sys
from mibgkit.convert import convert_tree
convert_tree(sys.argv[1], sys.argv[2], key=b"kill-test-key")
"""


def test_killed_run_leaves_no_half_file_and_resumes(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    n = 30
    make_tree(src, n, sources=(NM1, JASZACK))
    proc = subprocess.Popen([sys.executable, "-c", _KILLABLE, str(src), str(out)])
    state = out / ".mibgkit" / "state"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(state.glob("*.json"))) < 3:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(list(state.glob("*.json")))
    assert 3 <= done_before < n, "the run should have been killed part-way"

    # Every file under its final name is complete: images read, sidecars parse and
    # match their image. Only hidden '.part' temporaries may be incomplete.
    for img in out.rglob("*.nii.gz"):
        sitk.ReadImage(str(img))
    for side in (p for p in out.rglob("*.json") if ".mibgkit" not in p.parts):
        json.loads(side.read_text())

    report = convert_tree(src, out, key=b"kill-test-key")
    assert report.count("unchanged") >= 2 * done_before
    assert report.count("unchanged") + report.count("converted") == 2 * n
    assert not [p for p in out.rglob(".*") if p.is_file()]  # leftovers removed
    for side in (p for p in out.rglob("*.json") if ".mibgkit" not in p.parts and p.name != "manifest.json"):
        meta = json.loads(side.read_text())
        image = side.with_name(meta["image"]["file"])
        assert hashlib.sha256(image.read_bytes()).hexdigest() == meta["image"]["sha256"]
