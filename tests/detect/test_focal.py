"""Focal detection on one view: noise normalization, smoothing, candidates on a phantom."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from mibgkit.detect.focal import analyse_view, anscombe, find_candidates, smooth
from mibgkit.detect.params import DEFAULT_PARAMS


def test_anscombe_stabilizes_poisson_variance():
    rng = np.random.default_rng(0)
    for lam in (3.0, 20.0, 200.0):
        assert np.std(anscombe(rng.poisson(lam, 200_000))) == pytest.approx(1.0, abs=0.05)


def test_fast_smooth_matches_gaussian():
    rng = np.random.default_rng(1)
    x = rng.poisson(5.0, (512, 128)).astype(np.float32)
    x[200:260, 40:80] += 60.0
    for s in (1.5, 6.0, 12.0):
        ref = ndi.gaussian_filter(x, s)
        assert np.abs(smooth(x, (s, s)) - ref).max() < 0.02 * ref.max()


def test_dog_significance_is_unit_noise_on_flat_poisson():
    """On a uniform Poisson image the DoG response is ~N(0, 1) at every scale."""
    rng = np.random.default_rng(2)
    img = rng.poisson(8.0, (600, 200)).astype(np.float32)
    labels = np.zeros(img.shape, np.uint8)
    va = analyse_view(img, labels, (2.4, 2.4), "ANT", DEFAULT_PARAMS, body=np.ones(img.shape, bool))
    inner = va.z[:, 50:-50, 50:-50]
    assert np.std(inner, axis=(1, 2)) == pytest.approx(np.ones(len(DEFAULT_PARAMS.sigmas_mm)), abs=0.15)
    # and a 5-sigma false candidate is rare: at most a couple on 120 000 pixels
    assert len(find_candidates(va, DEFAULT_PARAMS.with_(z_min=5.0))) <= 2


def test_phantom_lesions_become_candidates(limited_sim, maps_of):
    sim = limited_sim
    strong = [les for les in sim.truth.lesions if les.kind == "focal" and max(les.cnr.values()) > 30]
    assert strong, "phantom seed 601 should have a clearly visible lesion"
    for les in strong:
        view = max(les.cnr, key=les.cnr.get)
        pv = next(v for v in sim.study.views if v.view == view)
        va = analyse_view(pv.image, maps_of(sim)[view].labels, pv.pixel_spacing_mm, view, DEFAULT_PARAMS)
        cands = find_candidates(va, DEFAULT_PARAMS)
        r, c = les.positions[view]
        d = min(np.hypot(k.row - r, k.col - c) for k in cands)
        assert d * pv.pixel_spacing_mm[0] < 12.0 + les.radius_mm
        assert va.body.mean() < 0.8  # air is not body
