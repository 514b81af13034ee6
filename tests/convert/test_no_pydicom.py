"""The converter without pydicom in the process: same dictionary answers, same values,
same output bytes; pydicom imported only by a file that needs it.

The checks that run a conversion start a fresh interpreter (this test process has pydicom
imported, which switches :mod:`mibgkit.io._dicomdict` to pydicom's own functions).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pydicom.datadict as pdd
import pytest
from pydicom.dataelem import empty_value_for_VR

from mibgkit.convert import convert_tree
from mibgkit.io import _dicomdict
from mibgkit.io._values import _DECODED_VRS, _empty_value
from mibgkit.phantom import make_patient, simulate
from tests.convert.convert_data import BACKGROUND, JASZACK, NM, NM1, write_every_layout

KEY = b"no-pydicom-test-key"
REPO = Path(__file__).resolve().parents[2]
HEAVY = ("pydicom", "SimpleITK", "highdicom", "requests", "tqdm", "PIL", "gdcm")


def _run(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env,
                          cwd=REPO).stdout


def test_standalone_dictionary_equals_pydicom() -> None:
    """Keyword -> tag, tag -> VR and tag -> keyword from pydicom's dictionary file read on its
    own: pydicom's answers for every dictionary tag, every repeating-group mask with random
    fill, private and random tags, and every keyword."""
    d = _dicomdict._standalone()
    assert d is not None
    rng = random.Random(7)
    tags = list(pdd.DicomDictionary)
    tags += [int(m.replace("x", "0"), 16) | rng.getrandbits(8) << 8 * rng.randrange(4)
             for m in pdd.RepeatersDictionary for _ in range(20)]
    tags += [rng.getrandbits(32) for _ in range(20000)] + [0x00091010, 0x00290010, 0x60000010, 0x60013000]
    for tag in tags:
        try:
            vr = pdd.dictionary_VR(tag)
        except KeyError:
            vr = None
        entry = d.entry(tag)
        assert (entry[0] if entry else None) == vr, hex(tag)
        assert (entry[4] if entry else "") == pdd.keyword_for_tag(tag), hex(tag)
    assert d.keywords == pdd.keyword_dict
    assert d.keywords["FrameIncrementPointer"] == 0x00280009 and "NotAKeyword" not in d.keywords


def test_empty_values_equal_pydicom() -> None:
    for vr in sorted(_DECODED_VRS):
        assert _empty_value(vr) == empty_value_for_VR(vr), vr
        assert type(_empty_value(vr)) is type(empty_value_for_VR(vr)), vr  # pydicom imported: its types


def test_loader_and_converter_import_without_pydicom_and_numpy_ma() -> None:
    out = _run("import sys, mibgkit.cli, mibgkit.convert.engine, mibgkit.io.loader, mibgkit.convert.nifti, "
               "mibgkit.convert.deid, mibgkit.convert.scan; "
               f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r} or m == 'numpy.ma' or m.startswith('numpy.ma.')))")
    assert out.strip() == "[]"


def test_import_pydicom_hides_requests_and_requests_still_imports() -> None:
    out = _run("import sys; from mibgkit.io._dicomdict import import_pydicom; import_pydicom(); "
               "a = 'requests' in sys.modules; import pydicom.data.download, requests; "
               "print(a, 'pydicom' in sys.modules, requests.__name__)")
    assert out.split() == ["False", "True", "requests"]


def _tree(root: Path, files: list[Path]) -> Path:
    root.mkdir()
    for i, f in enumerate(files):
        shutil.copy(f, root / f"{i:02d}_{f.name}")
    return root


def _outputs(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


_CONVERT = (
    "import sys, json; from mibgkit.convert import convert_tree; "
    "r = convert_tree(sys.argv[1], sys.argv[2], key=b'" + KEY.decode() + "', workers=int(sys.argv[3])); "
    f"print(json.dumps([r.count('converted'), r.count('failed'), "
    f"sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})]))"
)


def _convert_fresh(src: Path, out: Path, workers: int) -> tuple[int, int, list[str]]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", _CONVERT, str(src), str(out), str(workers)], capture_output=True,
                          text=True, check=True, env=env, cwd=REPO)
    converted, failed, heavy = json.loads(proc.stdout.strip().splitlines()[-1])
    return converted, failed, heavy


@pytest.fixture(scope="module")
def phantom_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """One study in every phantom layout (planar pairs, SPECT), RLE and explicit VR."""
    sim = simulate(make_patient(age_years=6.0, sex="M", seed=8, pattern="diffuse", arms="sides"), seed=9,
                   spect=True)
    return [p for p in write_every_layout(sim, tmp_path_factory) if "CT" not in p.parent.name]  # NM objects only


@pytest.mark.parametrize("workers", [1, 2])
def test_plain_files_convert_without_pydicom_same_bytes(tmp_path: Path, workers: int,
                                                        phantom_files: list[Path]) -> None:
    """Plain files (every phantom layout; real RLE and native, planar, multi-frame, SPECT files):
    converted in a fresh process that never imports pydicom (workers forked from it
    included), byte for byte what the pydicom path (``fast_paths=False``, pydicom imported)
    writes."""
    plain = [NM1, BACKGROUND, JASZACK, NM / "nmqc" / "FourBar.dcm", *phantom_files]
    src = _tree(tmp_path / "in", plain)
    converted, failed, heavy = _convert_fresh(src, tmp_path / "fresh", workers)
    # the layouts share one study: some objects repeat a view and fail the same way in both runs
    assert heavy == [] and converted >= 12 and converted + failed == len(plain)
    convert_tree(src, tmp_path / "ref", key=KEY, fast_paths=False)
    fresh, ref = _outputs(tmp_path / "fresh"), _outputs(tmp_path / "ref")
    assert fresh.keys() == ref.keys() and len(fresh) >= 15
    assert [k for k in fresh if fresh[k] != ref[k]] == []


def test_every_test_file_and_broken_ones_same_bytes_and_reasons(tmp_path: Path) -> None:
    """Every test file (JPEG family ones need pydicom, imported then, on demand), a truncated,
    a non-DICOM and a corrupted file: the fresh process writes what the pydicom path writes,
    manifest (status and reason per file) included."""
    files = sorted(p for p in NM.rglob("*") if p.is_file() and p.suffix.lower() not in (".md", ".txt")
                   and p.name != "LICENSE")
    src = _tree(tmp_path / "in", files)
    (src / "zz_truncated").write_bytes(NM1.read_bytes()[:3000])
    (src / "zz_text").write_text("not dicom")
    broken = bytearray(BACKGROUND.read_bytes())
    broken[700:702] = b"\xff\xff"  # a broken tag/length in the header
    (src / "zz_broken").write_bytes(bytes(broken))
    converted, failed, heavy = _convert_fresh(src, tmp_path / "fresh", 1)
    assert "pydicom" in heavy  # the JPEG family files needed it
    assert converted >= len(files) - 2 and failed >= 1
    convert_tree(src, tmp_path / "ref", key=KEY, fast_paths=False)
    fresh, ref = _outputs(tmp_path / "fresh"), _outputs(tmp_path / "ref")
    assert fresh.keys() == ref.keys()
    assert [k for k in fresh if fresh[k] != ref[k]] == []
    manifest = json.loads(fresh["manifest.json"])
    assert all(f["reason"] for f in manifest["files"] if f["status"] in ("failed", "skipped"))


def test_walk_equals_resolving_every_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The scan's walk (real paths from the root's) lists what resolving each folder listed:
    output folder inside the input skipped, symbolic links not entered, root given relatively."""
    from mibgkit.convert.scan import _walk

    def reference(root: Path, exclude: Path | None) -> list[str]:
        found = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            if exclude is not None:
                dirnames[:] = [d for d in dirnames if (Path(dirpath) / d).resolve() != exclude]
            found += [str(Path(dirpath) / name) for name in sorted(filenames)]
        return found

    src = tmp_path / "in"
    for sub in ("a/b", "a/out/x", "c", "out2"):
        (src / sub).mkdir(parents=True)
        (src / sub / "f.dcm").write_bytes(b"x")
    (src / "top").write_bytes(b"x")
    (src / "link_to_c").symlink_to(src / "c")
    (src / "a" / "link_to_out").symlink_to(src / "a" / "out")
    monkeypatch.chdir(tmp_path / "in" / "c")
    for root in (src, Path("../../in"), Path("..") / ".." / "in" / "a"):
        for exclude in (None, (src / "a" / "out").resolve(), (src / "out2").resolve(), tmp_path / "elsewhere"):
            assert _walk(root, exclude) == reference(root, exclude), (root, exclude)
    assert str(src / "a" / "out" / "x" / "f.dcm") not in _walk(src, (src / "a" / "out").resolve())


def test_values_read_without_pydicom_equal_pydicoms(tmp_path: Path, phantom_files: list[Path]) -> None:
    """Every top-level value of the plain test files and phantom objects, read in a fresh
    process by the light parser before pydicom is imported (AT as int, empty PN as ''),
    equals pydicom's value."""
    import pickle

    from mibgkit.io._values import HeaderValues
    from mibgkit.io.headers import read_header

    files = [p for p in (*NM.rglob("*"), *phantom_files) if p.is_file() and p.suffix.lower() not in (".md", ".txt")
             and p.name not in ("LICENSE",)]
    code = (
        "import sys, pickle; from mibgkit.io._values import read_light, _decode, _SLOW\n"
        "from mibgkit.io._dicomdict import keyword_for_tag\n"
        "out = {}\n"
        "for f in sys.argv[2:]:\n"
        "    v = read_light(f)\n"
        "    if v is None: continue\n"
        "    out[f] = {}\n"
        "    for tag in v.tags():\n"
        "        kw, elem = keyword_for_tag(tag), v.raw_element(tag)\n"
        "        if kw and type(elem) is tuple and _decode(tag, *elem) is not _SLOW:  # decoded here\n"
        "            out[f][kw] = v.get(kw)\n"
        "assert 'pydicom' not in sys.modules\n"
        "pickle.dump(out, open(sys.argv[1], 'wb'))\n"
    )
    dump = tmp_path / "values.pkl"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-c", code, str(dump), *map(str, files)], check=True, env=env, cwd=REPO)
    light = pickle.loads(dump.read_bytes())
    assert len(light) >= 10
    n_at = n_pn = 0
    for f, values in light.items():
        ref = HeaderValues(read_header(f))
        for kw, value in values.items():
            assert value == ref.get(kw), (f, kw, value, ref.get(kw))
            n_at += kw == "FrameIncrementPointer"
            n_pn += value == "" and type(ref.get(kw)).__name__ == "PersonName"
    assert n_at >= 3 and n_pn >= 1
