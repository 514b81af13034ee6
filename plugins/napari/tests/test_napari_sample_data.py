"""Sample data: the bundled sample_dicom studies, found without downloading anything."""

from __future__ import annotations

import pytest
from synthetic_study import REPO

from napari_mibgkit._reader import STUDY_KEY
from napari_mibgkit._sample_data import SAMPLE_ENV, oligo, sample_dicom_dir, sample_study


def test_sample_dir_is_the_repository_folder_by_default(monkeypatch):
    monkeypatch.delenv(SAMPLE_ENV, raising=False)
    assert sample_dicom_dir() == REPO / "sample_dicom"


def test_sample_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(SAMPLE_ENV, str(tmp_path))
    assert sample_dicom_dir() == tmp_path
    with pytest.raises(FileNotFoundError, match="no such sample study"):
        sample_study("nothing_here")
    monkeypatch.setenv(SAMPLE_ENV, str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match=SAMPLE_ENV):
        sample_dicom_dir()


def test_oligo_sample_opens_as_ant_and_post():
    layers = oligo()
    names = [kwargs["name"] for _, kwargs, _ in layers]
    assert names[:2] == ["ANT", "POST"]
    study = layers[0][1]["metadata"][STUDY_KEY]
    assert study.pair() is not None
    ant, post = study.pair()
    assert post.source.mirrored != ant.source.mirrored  # POST was mirrored into the anterior frame
    assert layers[1][1]["translate"][1] > layers[0][1]["translate"][1]


@pytest.mark.parametrize("key", ["oligo", "extensive", "clean", "infant_diffuse"])
def test_every_planar_sample_in_the_manifest_opens(key):
    import npe2

    pm = npe2.PluginManager.instance()
    pm.discover()
    contrib = next(s for s in pm.iter_sample_data() if s[0] == "napari-mibgkit")[1]
    sample = next(c for c in contrib if c.key == key)
    layers = sample.open()
    assert [kw["name"] for _, kw, _ in layers][:2] == ["ANT", "POST"]
    assert all(kw["contrast_limits"][1] > 0 for _, kw, _ in layers)


def test_spect_sample_overlays_ct_on_spect():
    layers = {kw["name"]: (data, kw) for data, kw, _ in sample_study("spect")}
    assert {"ANT", "POST", "ANT static", "POST static", "SPECT", "CT"} <= set(layers)
    (spect, spect_kw), (ct, ct_kw) = layers["SPECT"], layers["CT"]
    assert spect.ndim == ct.ndim == 3
    assert ct_kw["translate"] == pytest.approx(spect_kw["translate"], abs=1e-6)
    assert spect_kw["translate"][2] > layers["POST static 2"][1]["translate"][1]  # right of the planar views
    assert list(layers).index("CT") < list(layers).index("SPECT")  # CT drawn underneath
